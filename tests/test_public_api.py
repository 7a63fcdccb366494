"""The public API is exactly what ``engine.__all__`` names."""

import subprocess
import sys

import engine


def test_dir_of_the_package_is_exactly_the_public_api() -> None:
    assert sorted(dir(engine)) == sorted(engine.__all__)


def test_every_exported_name_resolves() -> None:
    for name in engine.__all__:
        assert getattr(engine, name) is not None


def test_importing_the_package_loads_no_database_or_broker_library() -> None:
    """Linting must stay fast and dependency-light: the package import pulls in neither."""
    code = "import engine, sys; print(sorted(m for m in ('sqlalchemy', 'dramatiq', 'transitions') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_lint_loads_no_database_or_broker_library() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from engine.cli import main; "
        "CliRunner().invoke(main, ['lint', 'machines/']); "
        "print(sorted(m for m in ('sqlalchemy', 'dramatiq', 'transitions') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
