"""`statewright failures` through the real entry point: list, retry one, retry all, refuse what cannot be retried."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine import Statewright
from engine.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from engine.work.failures import FAILED, RETRIED, list_failures
from tests.work.app.handlers import GRUMBLES, HEARD, LISTENER_FAILS
from tests.work.conftest import FAILING, failed_listener_and_reaction
from tests.work.processes import PROCESS_BROKER_URL


@pytest.fixture
def errands_broker_url() -> str:
    """The command sends retries to the broker the test's worker consumes: Redis."""
    return PROCESS_BROKER_URL


def _failures(app: Statewright, tmp_path: Path, *args: str, broker_url: str = PROCESS_BROKER_URL) -> Result:
    url = app.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        main,
        [
            "failures",
            *args,
            "--machines",
            str(FAILING),
            "--database-url",
            url,
            "--broker-url",
            broker_url,
            "--path",
            str(tmp_path),
        ],
    )
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


def test_failures_lists_one_line_per_open_failure_and_exits_1(
    errands: Statewright, drain: Callable[[], None], tmp_path: Path
) -> None:
    listener_id, reaction_id = failed_listener_and_reaction(errands, drain)
    result = _failures(errands, tmp_path)
    assert result.exit_code == EXIT_PROBLEMS, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    # One line per record, in id order; the listener and the reaction fail in whichever order the worker ran them.
    by_id = {line.split(" ", 1)[0]: line for line in lines[:2]}
    assert list(by_id) == sorted(by_id, key=lambda tag: int(tag[1:]))
    assert (
        "failed errand listener errand.done#0 after 2 attempts: tests.work.app.handlers.Grumble:"
        in (by_id[f"#{listener_id}"])
    )
    assert "failed errand reaction errand.done#0 after 3 attempts" in by_id[f"#{reaction_id}"]
    assert lines[2] == "2 open failures, 0 resends (retry with --retry ID or --retry-all)"


def test_retry_sends_the_work_again_and_marks_the_record_retried(
    errands: Statewright, drain: Callable[[], None], tmp_path: Path
) -> None:
    listener_id, reaction_id = failed_listener_and_reaction(errands, drain)
    LISTENER_FAILS[0] = False  # the listener's problem was fixed
    result = _failures(errands, tmp_path, "--retry", str(listener_id))
    assert result.exit_code == EXIT_OK, result.output
    assert result.output == f"#{listener_id} retried: errand listener errand.done#0 sent again\n"
    drain()
    assert len(HEARD) == 1, "the listener ran again, and succeeded"
    statuses = {record.id: record.status for record in list_failures(errands.engine, statuses=(FAILED, RETRIED))}
    assert statuses == {listener_id: RETRIED, reaction_id: FAILED}
    again = _failures(errands, tmp_path, "--retry", str(listener_id))
    assert again.exit_code == EXIT_USAGE
    assert again.output == (
        f"statewright failures: Cannot retry failure #{listener_id}: it is retried, not failed; "
        "only open failures are retried.\n"
    )


def test_retry_all_retries_every_open_failure(errands: Statewright, drain: Callable[[], None], tmp_path: Path) -> None:
    failed_listener_and_reaction(errands, drain)
    before = GRUMBLES.copy()
    result = _failures(errands, tmp_path, "--retry-all")
    assert result.exit_code == EXIT_OK, result.output
    assert len(result.output.splitlines()) == 2
    drain()
    assert GRUMBLES["listener"] == before["listener"] + 2
    assert GRUMBLES["reaction"] == before["reaction"] + 3
    listing = _failures(errands, tmp_path, "--all")
    assert listing.output.splitlines()[-1].startswith("2 open failures"), "both failed again: two new records"
    assert sum(" retried errand " in line for line in listing.output.splitlines()) == 2


def test_an_unknown_record_and_the_in_process_broker_are_refused_with_one_line(
    errands: Statewright, tmp_path: Path
) -> None:
    unknown = _failures(errands, tmp_path, "--retry", "424242")
    assert unknown.exit_code == EXIT_USAGE
    assert unknown.output == (
        "statewright failures: Cannot retry failure #424242: there is no such record; "
        "`statewright failures` lists the open ones.\n"
    )
    memory = _failures(errands, tmp_path, "--retry-all", broker_url="memory://")
    assert memory.exit_code == EXIT_USAGE
    assert len(memory.output.splitlines()) == 1
    assert "memory:// lives inside this process" in memory.output
    empty = _failures(errands, tmp_path)
    assert (empty.exit_code, empty.output) == (EXIT_OK, "0 open failures, 0 resends\n")
