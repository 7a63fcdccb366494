"""The README's fenced code blocks, found with their line numbers, and how each one is run by the README test.

The blocks of one ``##`` section run in order in the same folder, as a reader following that section would
run them. A block opts out of being run only by saying so on its first line, where the reader sees it too:
``# Not run by the README test: <reason>``. A shell block whose first line is ``# Runs until stopped``
is started, must still be running after a few seconds, and must stop cleanly on SIGTERM. A Python block
whose first line is ``# path/to/file.py`` shows that file of this repository and must equal it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: The first line of a block the test does not run; a reason must follow.
NOT_RUN = "# Not run by the README test:"
#: The README's test command: it runs this very test, so running it here would never end.
TEST_COMMAND = "bash .ci/test"
#: The first line of a shell block that serves until stopped (a worker, the admin page).
RUNS_UNTIL_STOPPED = "# Runs until stopped"
#: Seconds a block may take; a README example should be quick.
BLOCK_TIMEOUT = 240
#: Seconds a long-running command must survive before it is stopped.
SURVIVES = 4.0

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
_SECTION = re.compile(r"^## (?P<title>.+)$", re.M)
_SHOWN_FILE = re.compile(r"^# (?P<path>[\w./-]+\.py)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of the README, and the ``##`` section it stands in."""

    lang: str
    body: str
    line: int
    section: str

    @property
    def first_line(self) -> str:
        """The block's first line, stripped."""
        return self.body.split("\n", 1)[0].strip()

    @property
    def skip_reason(self) -> str | None:
        """Why the block is not run, when its first line says it is not."""
        if self.first_line.startswith(NOT_RUN):
            return self.first_line[len(NOT_RUN) :].strip()
        if self.body.strip() == TEST_COMMAND:
            return "the README's test command runs this test"
        return None

    @property
    def shown_file(self) -> str | None:
        """The repository file a Python block shows, when its first line names one."""
        match = _SHOWN_FILE.match(self.first_line)
        return match["path"] if match and self.lang == "python" else None

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang} block)"


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block, in order, with the README line its body starts on and its section's title."""
    headings = [(match.start(), match["title"]) for match in _SECTION.finditer(text)]
    blocks = []
    for match in _FENCE.finditer(text):
        section = next((title for start, title in reversed(headings) if start < match.start()), "")
        blocks.append(Block(match["lang"], match["body"], text.count("\n", 0, match.start("body")) + 1, section))
    return blocks


def checkout_copy(root: Path, into: Path) -> Path:
    """A copy of the repository's files (tracked, and new ones not ignored), as a user's fresh checkout."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def block_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment blocks run in: this interpreter's scripts first on PATH, no ``STATEWRIGHT_*`` setting."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("STATEWRIGHT_")}
    scripts = str(Path(sys.executable).parent)
    environment["PATH"] = f"{scripts}{os.pathsep}{environment.get('PATH', '')}"
    environment["NO_COLOR"] = "1"
    environment.update(extra)
    return environment


@dataclass(frozen=True)
class Outcome:
    """How a block's run ended."""

    returncode: int
    output: str

    def describe(self, block: Block) -> str:
        """The failure message: where the block is, how it ended, what it printed."""
        return f"{block} exited {self.returncode}:\n{block.body}\n--- output ---\n{self.output[-4000:]}"


def run_block(block: Block, folder: Path, environment: dict[str, str]) -> Outcome:
    """Run a Python or shell block to its end in ``folder``."""
    if block.lang == "python":
        script = folder / f"readme_block_{block.line}.py"
        script.write_text(block.body)
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.body]
    done = subprocess.run(
        command, cwd=folder, env=environment, capture_output=True, text=True, timeout=BLOCK_TIMEOUT, check=False
    )
    return Outcome(done.returncode, done.stdout + done.stderr)


def run_until_stopped(block: Block, folder: Path, environment: dict[str, str]) -> Outcome:
    """Start a serving block, check it is still up after a while, then stop it with SIGTERM."""
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", block.body],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    time.sleep(SURVIVES)
    alive = process.poll() is None
    if alive:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return Outcome(-9, output + "\n(did not stop within 60 s of SIGTERM)")
    if not alive:
        return Outcome(
            process.returncode if process.returncode != 0 else -1, output + f"\n(stopped by itself within {SURVIVES} s)"
        )
    return Outcome(
        0 if process.returncode in (0, -signal.SIGTERM, 128 + signal.SIGTERM) else process.returncode, output
    )
