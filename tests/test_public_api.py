"""The public API is exactly what ``engine.__all__`` names."""

import engine


def test_all_names_exactly_the_public_api() -> None:
    public = {name for name in dir(engine) if not name.startswith("_")} - {"errors", "spec", "diagrams", "cli"}
    assert set(engine.__all__) == public


def test_every_exported_name_resolves() -> None:
    for name in engine.__all__:
        assert getattr(engine, name) is not None


def test_importing_the_package_loads_no_database_or_broker_library() -> None:
    """Linting must stay fast and dependency-light: the package import pulls in neither."""
    import subprocess
    import sys

    code = "import engine, sys; print(sorted(m for m in ('sqlalchemy', 'dramatiq', 'transitions') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
