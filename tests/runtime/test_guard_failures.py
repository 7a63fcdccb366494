"""Guards that cannot answer: an expression that cannot be evaluated refuses; a code guard that raises propagates.

The rule: a guard *expression* is the machine file's, so anything it cannot evaluate (a context key not
passed, a missing attribute, ``None`` compared with a number, division by zero, ``-None``, Decimal with
float) means "the guard cannot say yes": ``can_fire`` is False, ``why_not`` says why, ``fire`` raises
``GuardUndecidable``. A *code* guard is your function: its exception propagates from all three.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from engine import GuardRejected, GuardUndecidable, Statewright, check_text, load_spec
from engine.compiler import compile_machine
from engine.machine import CompiledMachine
from engine.orm.tables import outbox
from examples.base import Base
from examples.inventory.models import InventoryItem
from examples.orders.models import Order
from tests.conftest import MACHINES, fresh_tables
from tests.runtime.ticketing.hooks import Explosion
from tests.runtime.ticketing.models import Ticket


@pytest.fixture
def orders(database_url: str) -> Iterator[Statewright]:
    """The shipped order machine over fresh tables."""
    app = Statewright.from_path(MACHINES / "order.yaml", database_url=database_url)
    fresh_tables(app.engine, Base.metadata)
    yield app
    Base.metadata.drop_all(app.engine)
    app.close()


def test_the_order_machine_answers_can_fire_and_why_not_without_the_context_its_guard_reads(
    orders: Statewright,
) -> None:
    with orders.sessionmaker() as session:
        order = Order(total_amount=Decimal("20.00"))
        session.add(order)
        session.commit()
        assert order.can_fire("confirm_payment") is False
        reason = order.why_not("confirm_payment")
        assert reason is not None
        assert "guard 'payment_confirmed' cannot be evaluated" in reason
        assert "the context has no key 'payment_status'" in reason
        with pytest.raises(GuardUndecidable) as refused:
            order.fire("confirm_payment")
        assert isinstance(refused.value, GuardRejected)
        assert (refused.value.guard, refused.value.missing) == ("payment_confirmed", "payment_status")
        assert "fire('confirm_payment', payment_status=...)" in str(refused.value)
        assert order.status.state == "pending"
        assert order.can_fire("confirm_payment", payment_status="succeeded", amount=Decimal("25"))
        assert order.fire("confirm_payment", payment_status="succeeded", amount=Decimal("25")).to_state == "confirmed"


def test_an_undecidable_candidate_lets_the_next_candidate_decide(app: Statewright) -> None:
    """``escalate`` tries ``urgent and staff`` first (``model.priority >= 3``), then ``staff``."""
    with app.sessionmaker() as session:
        ticket = Ticket(title="no priority")
        session.add(ticket)
        session.commit()
        ticket.priority = None  # type: ignore[assignment]  # as a nullable column would hold it
        assert ticket.can_fire("escalate", staff=True, assignee="ada")
        with pytest.raises(GuardUndecidable) as refused:
            ticket.fire("escalate", staff=False)
        assert refused.value.guard == "urgent", "the guard that could not be evaluated, not the last one tried"
        assert "cannot compare None with 3" in str(refused.value)
        decision = app.flows["ticket"].compiled.decide("new", "escalate", ticket, {"staff": True})
        assert decision.target == "assigned"


def test_a_code_guard_that_raises_propagates_from_fire_can_fire_and_why_not(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="t")
        session.add(ticket)
        session.commit()
        for ask in (ticket.fire, ticket.can_fire, ticket.why_not):
            with pytest.raises(Explosion):
                ask("assign", guard_explodes=True)


def test_a_code_guard_refusing_in_its_own_words_is_a_refusal_that_says_them(app: Statewright) -> None:
    with app.sessionmaker() as session:
        ticket = Ticket(title="t")
        session.add(ticket)
        session.commit()
        with pytest.raises(GuardRejected) as refused:
            ticket.fire("assign", refuse_with="only the on-call engineer may assign", assignee="x")
        assert refused.value.guard == "staff"
        assert refused.value.reason == "only the on-call engineer may assign"
        assert str(refused.value).endswith(
            "transition 'assign' from 'new' was refused by guard 'staff': only the on-call engineer may assign"
        )
        assert ticket.why_not("assign", refuse_with="not today") == (
            f"ticket {ticket.id}: transition 'assign' from 'new' was refused by guard 'staff': not today"
        )
        assert ticket.can_fire("assign", refuse_with="not today") is False
        plain = ticket.why_not("assign", staff=False)
        assert plain is not None
        assert plain.endswith("was refused by guard 'staff'.")  # no words given: none shown
        assert [change.transition for change in ticket.history()] == ["create"]


SIBLINGS = """\
version: 1
name: sums
model: examples.orders.models:Order
initial: a
states:
  a: {}
  b: {final: true}
transitions:
  - {name: per_item, from: a, to: b, guard: "context.total / context.items > 2"}
  - {name: negative, from: a, to: b, guard: "-model.paid_amount < 0"}
  - {name: mixed, from: a, to: b, guard: "model.total_amount + context.tip > 10"}
  - {name: nested, from: a, to: b, guard: {not: "context.flag"}}
  - {name: subscript, from: a, to: b, guard: "context.lines[0] == 'x'"}
  - {name: money, from: a, to: b, guard: "model.total_amount + context.fee >= 10"}
"""


@pytest.fixture(scope="module")
def sums(tmp_path_factory: pytest.TempPathFactory) -> CompiledMachine:
    path: Path = tmp_path_factory.mktemp("sums") / "sums.yaml"
    path.write_text(SIBLINGS)
    return compile_machine(load_spec(path))


@pytest.mark.parametrize(
    ("event", "model", "context", "reason"),
    [
        ("per_item", {}, {"total": 10, "items": 0}, "division by zero"),
        ("negative", {"paid_amount": None}, {}, "cannot apply USub to NoneType"),
        ("mixed", {"total_amount": Decimal("5")}, {"tip": 1.5}, "unsupported operand"),
        ("nested", {}, {}, "the context has no key 'flag'"),
        ("subscript", {}, {"lines": []}, "list value has no 0"),
    ],
)
def test_an_expression_that_cannot_be_evaluated_refuses_instead_of_raising(
    sums: CompiledMachine, event: str, model: dict[str, Any], context: dict[str, Any], reason: str
) -> None:
    """``not`` over an undecidable expression refuses too: "cannot say" never turns into yes."""
    with pytest.raises(GuardUndecidable, match=reason):
        sums.decide("a", event, SimpleNamespace(**model), context, "1")
    answer = sums.why_not("a", event, SimpleNamespace(**model), context)
    assert answer is not None
    assert reason in answer


def test_money_columns_read_as_decimal_take_part_in_arithmetic(sums: CompiledMachine) -> None:
    order = SimpleNamespace(total_amount=Decimal("9.50"))
    assert sums.why_not("a", "money", order, {"fee": 1}) is None
    assert sums.why_not("a", "money", order, {"fee": Decimal("0.25")}) is not None


def test_a_reaction_whose_guard_cannot_be_evaluated_skips_the_object_with_a_log_line(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A reaction fires ``reserve_stock`` with only the event as context; a guard that reads
    ``context.quantity`` cannot decide, so each selected item is skipped (and logged) instead of failing the
    reaction. (The shipped inventory machine once had exactly this guard.)"""
    shipped = (MACHINES / "inventory.yaml").read_text()
    assert 'in_stock: "model.quantity > 0"' in shipped
    inventory = check_text(
        shipped.replace('"model.quantity > 0"', '"model.quantity >= context.quantity"'), "inventory.yaml"
    ).spec
    assert inventory is not None
    app = Statewright([load_spec(MACHINES / "order.yaml"), inventory], database_url=database_url)
    fresh_tables(app.engine, Base.metadata)
    try:
        with app.sessionmaker() as session:
            order = Order(total_amount=Decimal("10"))
            session.add(order)
            session.commit()
            session.add_all([InventoryItem(product_id=1, quantity=3, order_id=order.id) for _ in range(2)])
            order.fire("confirm_payment", payment_status="succeeded", amount=Decimal("10"))
        with app.engine.connect() as connection:
            reaction = connection.scalar(
                select(outbox.c.id).where(outbox.c.kind == "reaction", outbox.c.name.like("order.confirmed#%"))
            )
        with caplog.at_level(logging.INFO, logger="engine.work"):
            app.work.run_reaction(reaction)
        assert caplog.text.count("the context has no key 'quantity'") == 2
        with app.sessionmaker() as session:
            assert {item.status.state for item in session.scalars(select(InventoryItem))} == {"available"}
    finally:
        Base.metadata.drop_all(app.engine)
        app.close()
