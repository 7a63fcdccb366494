"""Colour goes through rich, so ``FORCE_COLOR`` and ``NO_COLOR`` work as rich documents them.

Rich's precedence: output to a pipe has no escapes; ``FORCE_COLOR`` (non-empty) forces them; ``NO_COLOR``
(non-empty) then strips every colour, even when ``FORCE_COLOR`` is set (styles such as bold stay, as
no-color.org allows).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import CASES, MACHINES

#: An SGR sequence that sets a foreground or background colour (30-49, 90-107, or 38/48 extended).
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
#: Variables of the parent's environment that would decide for the test.
DECIDING = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "TERM")


def run(*args: str, **env: str) -> str:
    """The command's standard output, run with only ``env`` among the variables that decide colour."""
    environ = {key: value for key, value in os.environ.items() if key not in DECIDING} | env
    done = subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=environ, check=False
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


BROKEN = str(CASES / "invalid" / "duplicate_key.yaml")


def test_lint_to_a_pipe_has_no_escapes() -> None:
    assert "\x1b" not in run("lint", BROKEN)


def test_force_color_colours_lint_through_a_pipe() -> None:
    output = run("lint", BROKEN, FORCE_COLOR="1")
    assert "\x1b[31m" in output  # the problem, red
    assert "\x1b[1mFound 1 problem" in output  # the summary, bold


def test_no_color_beats_force_color() -> None:
    output = run("lint", BROKEN, FORCE_COLOR="1", NO_COLOR="1")
    assert not COLOUR.search(output), repr(output)
    assert "SW003" in output


def test_lint_formats_for_machines_are_never_styled() -> None:
    for fmt in ("json", "sarif", "github"):
        assert "\x1b" not in run("lint", "--format", fmt, BROKEN, FORCE_COLOR="1")


def test_show_follows_the_same_variables() -> None:
    machine = str(MACHINES / "order.yaml")
    assert "\x1b" not in run("show", machine)
    assert "\x1b[" in run("show", machine, FORCE_COLOR="1")
    assert not COLOUR.search(run("show", machine, FORCE_COLOR="1", NO_COLOR="1"))
