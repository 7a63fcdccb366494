"""Running ``statewright`` in-process as a user would, and checking that a failure is one line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import create_engine

from engine.cli import EXIT_OK, main


def invoke(*args: str) -> Result:
    """Run the command in-process, as a user would from the repository root."""
    result = CliRunner().invoke(main, list(args))
    print(result.output)
    return result


def assert_one_line(result: Result, exit_code: int, *fragments: str) -> None:
    """The command failed with ``exit_code`` and one line on standard error holding every fragment."""
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def ready_database(folder: Path) -> str:
    """A SQLite database in ``folder`` with Statewright's tables and the documents table; its URL."""
    from examples.base import Base
    from examples.documents.models import Document

    url = f"sqlite:///{folder / 'app.db'}"
    assert invoke("db", "upgrade", "--database-url", url).exit_code == EXIT_OK
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Document.__table__])
    engine.dispose()
    return url
