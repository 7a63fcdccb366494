"""``engine.testing`` on the shipped machines (the plugin's ``statewright`` fixture loads ``machines/``)."""

from __future__ import annotations

import pytest

from engine.testing import DrainLimitExceeded, FlowTest
from examples.documents.models import Document
from examples.orders.models import Order

THROUGH_PUBLISHING = ["queued", "processing", "generated", "publishing", "awaiting_confirmation"]


def test_drain_runs_the_task_and_the_stubbed_endpoint(statewright: FlowTest) -> None:
    calls = statewright.stub_endpoint("publish", json={"receipt": "R-1"})
    doc = statewright.add(Document(title="Report"))
    assert statewright.drain() > 0
    statewright.assert_path(doc, THROUGH_PUBLISHING)
    assert statewright.refresh(doc).receipt == "R-1"
    assert [request.method for request in calls] == ["POST"]
    statewright.assert_emitted("document.queued", times=1)


def test_a_wrong_path_says_where_it_went(statewright: FlowTest) -> None:
    doc = statewright.add(Document(title="Report"))
    with pytest.raises(AssertionError) as wrong:
        statewright.assert_path(doc, ["queued", "complete"])
    assert str(wrong.value) == (
        f"Document {doc.id} went queued\n  expected queued -> complete\n  first difference at step 2"
    )


def test_an_event_never_emitted_lists_the_ones_that_were(statewright: FlowTest) -> None:
    statewright.add(Document(title="Report"))
    with pytest.raises(AssertionError, match=r"'document.completed' was emitted 0 times, .*emitted: document.queued"):
        statewright.assert_emitted("document.completed")


def test_an_endpoint_call_without_a_stub_fails_the_drain_naming_it(statewright: FlowTest) -> None:
    statewright.add(Document(title="Report"))
    with pytest.raises(AssertionError, match=r"no stub_endpoint\(\) answers: POST http://statewright.test/documents/"):
        statewright.drain()


def test_the_step_limit_names_what_was_still_due(statewright: FlowTest) -> None:
    statewright.stub_endpoint("publish", json={"receipt": "R-1"})
    statewright.add(Document(title="Report"))
    with pytest.raises(
        DrainLimitExceeded, match=r"drain\(max_steps=1\) ran 1 messages and work is still due: statewright_"
    ):
        statewright.drain(max_steps=1)


def test_the_fake_clock_decides_when_a_timeout_is_due(statewright: FlowTest) -> None:
    """An unpaid order is cancelled after two days (machines/order.yaml), by the test's clock."""
    order = statewright.add(Order(total_amount=10))
    assert statewright.sweep() == 0
    statewright.clock.advance("47h")
    assert statewright.sweep() == 0
    statewright.clock.advance("2h")
    assert statewright.sweep() == 1
    statewright.assert_path(order, ["pending", "cancelled"])
    statewright.assert_emitted("order.cancelled")


def test_stubbing_an_endpoint_no_machine_declares_is_a_key_error(statewright: FlowTest) -> None:
    with pytest.raises(KeyError, match="no endpoint 'pubish'; the machines declare"):
        statewright.stub_endpoint("pubish")
