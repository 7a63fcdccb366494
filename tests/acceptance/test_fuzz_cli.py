"""Random arguments and random files never make a command print a traceback, hang, or exit oddly.

Every command is driven in-process (click's runner) with options drawn from what it accepts, wrong
values, junk words and files of random bytes; a few examples run the installed script in a real
process. The runs are bounded for CI; ``HYPOTHESIS_PROFILE=deep`` runs many more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from engine.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE, main
from tests.conftest import CASES, MACHINES, ROOT, free_port

#: The exit codes a command may end with (70, a bug, is not among them).
ALLOWED_EXITS = {EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_UNAVAILABLE}
#: Seconds one in-process command may take (generous: the machine is shared).
IN_PROCESS_SECONDS = 30
#: Seconds one command in its own process may take.
PROCESS_SECONDS = 60
#: Examples per run: a fifth of the profile's (60 by default, 1000 with HYPOTHESIS_PROFILE=deep).
EXAMPLES = max(10, settings.default.max_examples // 5)

#: Database URLs that cannot work; `ready` (a database with every table) is added per run.
BAD_URLS = [
    "notaurl",
    "mysql://app@127.0.0.1/app",
    "nosuchdb://x",
    "sqlite:////nonexistent/dir/x.db",
    "sqlite:///missing.db",
    f"postgresql+psycopg://app:pw@127.0.0.1:{free_port()}/app",
    "",
    "sqlite://",
]
BROKERS = ["memory://", "redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1/", "kafka://x", "", "redis://"]
JUNK = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
NUMBERS = st.sampled_from(["0", "1", "-1", "3", "65536", "99999999999999999999", "1.5", "nan", "x"])
DURATIONS = st.sampled_from(["2d", "0m", "12h", "-1d", "99999999999999999999w", "soon", ""])


class Files:
    """The paths an example may name: machines, broken files, random bytes, folders, missing paths."""

    def __init__(self, folder: Path, ready_url: str) -> None:
        self.folder = folder
        self.ready_url = ready_url
        self.random = folder / "random.yaml"
        self.paths = [
            str(MACHINES),
            str(MACHINES / "document.yaml"),
            str(CASES / "invalid"),
            str(CASES / "invalid" / "references.yaml"),
            str(self.random),
            str(folder),
            str(folder / "missing.yaml"),
            "/dev/null",
            "/proc/nope/x.yaml",
            "",
        ]


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    """A folder for random files, and a SQLite database with Statewright's tables and the example tables."""
    from examples.base import Base

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ready = f"sqlite:///{folder / 'ready.db'}"
        assert CliRunner().invoke(main, ["db", "upgrade", "--database-url", ready]).exit_code == EXIT_OK
        for module in ("documents", "orders", "devices", "inventory"):
            __import__(f"examples.{module}.models")
        engine = create_engine(ready)
        Base.metadata.create_all(engine)
        engine.dispose()
        yield Files(folder, ready)


def _options(draw: st.DrawFn, pairs: dict[str, st.SearchStrategy[str]]) -> list[str]:
    if not pairs:
        return []
    chosen = draw(st.lists(st.sampled_from(sorted(pairs)), max_size=len(pairs), unique=True))
    args: list[str] = []
    for option in chosen:
        args += [option, draw(pairs[option])] if option.startswith("-") and pairs[option] is not FLAG else [option]
    return args


FLAG: st.SearchStrategy[str] = st.just("")


def _vocabulary(files: Files, serving: bool) -> dict[str, dict[str, st.SearchStrategy[str]]]:
    """Each command's options and the values to try; commands that serve get only databases that fail."""
    path = st.sampled_from(files.paths) | JUNK
    urls = st.sampled_from(BAD_URLS if serving else [*BAD_URLS, files.ready_url]) | JUNK
    app = {"--machines": path, "--database-url": urls, "--broker-url": st.sampled_from(BROKERS) | JUNK, "--path": path}
    archive = {
        "--database-url": urls,
        "--archive-uri": st.sampled_from(["file://./a", "s3://", "ftp://x", ""]) | JUNK,
        "--temp-dir": path,
        "--s3-endpoint-url": JUNK,
        "--s3-path-style": FLAG,
    }
    return {
        "lint": {
            "--format": st.sampled_from(["text", "json", "github", "sarif", "xml"]),
            "--resolve": FLAG,
            "--path": path,
            "--jobs": NUMBERS,
        },
        "rules": {},
        "diagram": {
            "-o": st.sampled_from(["d.svg", "d.pdf", "d.txt", "d", "/proc/nope/d.dot", "d.mmd"]) | JUNK,
            "-f": st.sampled_from(["dot", "svg", "png", "pdf", "mermaid", "jpeg"]),
        },
        "show": {},
        "db upgrade": {"--database-url": urls},
        "db downgrade": {"--database-url": urls},
        "sweep": {**app, "--timeouts": FLAG, "--no-outbox": FLAG},
        "defibrillate": {
            **app,
            "--where": st.sampled_from(["status=error", "status=nope", "x"]) | JUNK,
            "--dry-run": FLAG,
        },
        "worker": {
            **app,
            "--http-base-url": st.sampled_from(["http://127.0.0.1:1", "nourl"]) | JUNK,
            "--resend-after": DURATIONS,
            "--processes": NUMBERS,
            "--threads": NUMBERS,
            "--queue": JUNK,
            "--sweep-every": NUMBERS,
        },
        "admin": {
            **app,
            "--host": st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "nohost"]),
            "--port": NUMBERS,
            "--token": JUNK,
        },
        "failures": {**app, "--retry": NUMBERS, "--retry-all": FLAG, "--all": FLAG},
        "compress": {**archive, "--older-than": DURATIONS, "--batch": NUMBERS},
        "restore": {**archive, "--object": st.sampled_from(["document:1", "document", ":"]) | JUNK},
        "purge": {**archive, "--older-than": DURATIONS},
        "demo": {
            "--documents": NUMBERS,
            "--out": st.sampled_from(["/proc/nope", "out"]) | JUNK,
            "--machine": st.sampled_from([str(files.random), str(CASES / "invalid" / "values.yaml"), "x.yaml"]),
            "--threads": NUMBERS,
            "--fresh": FLAG,
        },
        "init": {"--package": st.sampled_from(["app", "my-app", "Class", ""]) | JUNK},
        "new": {
            "--model": st.sampled_from(["app.models:Order", "app.models.Order", ""]) | JUNK,
            "--states": st.sampled_from(["a,b,c", "a", "a,A", "a,a", ""]) | JUNK,
            "--folder": st.sampled_from(["machines", "/proc/nope", *files.paths]) | JUNK,
        },
        "scaffold": {"--root": st.sampled_from([".", "/proc/nope", *files.paths]) | JUNK},
    }


#: Commands that would keep running if they succeeded: they only ever get databases that fail.
SERVING = {"worker", "admin"}
#: Positional arguments each command takes.
POSITIONALS = {
    "lint": "paths",
    "diagram": "path",
    "show": "path",
    "db upgrade": "revision",
    "db downgrade": "revision",
    "defibrillate": "machine",
    "restore": "ids",
    "init": "folder",
    "new": "name",
    "scaffold": "path",
}


@st.composite
def command_lines(draw: st.DrawFn, files: Files) -> list[str]:
    """A command, some of its options with values right or wrong, positionals, and now and then junk."""
    command = draw(st.sampled_from(sorted(_vocabulary(files, False))))
    if command == "demo":
        # A demo with a valid machine really runs; only machines that fail are tried.
        pairs = _vocabulary(files, True)[command]
        args = _options(draw, pairs) + ["--machine", draw(pairs["--machine"])]
    else:
        args = _options(draw, _vocabulary(files, command in SERVING)[command])
    kind = POSITIONALS.get(command)
    if kind in ("paths", "path"):
        args += draw(st.lists(st.sampled_from(files.paths) | JUNK, min_size=1, max_size=1 if kind == "path" else 3))
    elif kind == "revision":
        args.append(draw(st.sampled_from(["head", "base", "0001", "0999", "-1"]) | JUNK))
    elif kind == "machine":
        args.append(draw(st.sampled_from(["document", "order", "nope"]) | JUNK))
    elif kind == "ids":
        args += draw(st.lists(NUMBERS, max_size=3))
    elif kind == "folder":
        args.append(draw(st.sampled_from(["project", "/proc/nope", *files.paths]) | JUNK))
    elif kind == "name":
        args.append(draw(st.sampled_from(["order", "Order", "x-y", ""]) | JUNK))
    if draw(st.integers(0, 9)) == 0:
        args.insert(draw(st.integers(0, len(args))), draw(JUNK))
    if draw(st.integers(0, 19)) == 0:
        args.append(draw(st.sampled_from(["--help", "-h", "--version"])))
    return [*command.split(), *args]


def assert_calm(exit_code: int | None, output: str, seconds: float, limit: float) -> None:
    assert exit_code in ALLOWED_EXITS, f"exit {exit_code}:\n{output}"
    assert "Traceback (most recent call last)" not in output, output
    assert 'File "' not in output, output
    assert seconds < limit, f"took {seconds:.1f} s"


def _random_bytes_into(files: Files, content: bytes) -> None:
    files.random.write_bytes(content)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_command_lines_end_calmly_in_process(
    files: Files, data: st.DataObject, content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _random_bytes_into(files, content)
    args = data.draw(command_lines(files))
    cwd = tmp_path_factory.mktemp("cwd")
    here = os.getcwd()
    os.chdir(cwd)  # relative paths (statewright.db, archives, demo output) land in a fresh folder
    try:
        started = time.monotonic()
        result = CliRunner().invoke(main, args, catch_exceptions=True)
        seconds = time.monotonic() - started
    finally:
        os.chdir(here)
    event(f"{args[0]} exit {result.exit_code}")  # shown by --hypothesis-show-statistics
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{args!r} raised {result.exception!r}"
    assert_calm(result.exit_code, result.output, seconds, IN_PROCESS_SECONDS)


@pytest.mark.parametrize(
    "command",
    [
        "demo",
        "lint",
        "rules",
        "diagram",
        "show",
        "db",
        "sweep",
        "defibrillate",
        "failures",
        "worker",
        "compress",
        "restore",
        "purge",
        "admin",
    ],
)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == EXIT_OK
    assert "Usage: statewright" in result.output


@settings(
    max_examples=max(4, EXAMPLES // 10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), content=st.binary(max_size=300))
def test_random_command_lines_end_calmly_in_a_real_process(
    files: Files, data: st.DataObject, content: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _random_bytes_into(files, content)
    args = data.draw(command_lines(files))
    script = shutil.which("statewright", path=str(Path(sys.executable).parent))
    assert script is not None
    started = time.monotonic()
    done = subprocess.run(
        [script, *args],
        cwd=tmp_path_factory.mktemp("cwd"),
        capture_output=True,
        text=True,
        check=False,
        timeout=PROCESS_SECONDS,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert_calm(done.returncode, done.stdout + done.stderr, time.monotonic() - started, PROCESS_SECONDS)
