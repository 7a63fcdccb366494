"""What a handler changed in its session is recorded and made again in a fresh session, or refused with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import ForeignKey, String, create_engine, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from engine.work.replay import ChangeRecorder


class Base(DeclarativeBase):
    """Tables of this test."""


class Box(Base):
    """A box with a label and items."""

    __tablename__ = "boxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="new")
    label: Mapped[str | None] = mapped_column(String(20), default=None)
    items: Mapped[list[Item]] = relationship(back_populates="box")


class Item(Base):
    """An item in a box."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), default="thing")
    box_id: Mapped[int | None] = mapped_column(ForeignKey("boxes.id"), default=None)
    box: Mapped[Box | None] = relationship(back_populates="items")


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a SQLite file holding boxes 1 and 2 and item 1 in box 1."""
    engine = create_engine(f"sqlite:///{tmp_path / 'boxes.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Box(id=1), Box(id=2), Item(id=1, box_id=1)])
        session.commit()
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def test_changed_columns_new_objects_and_deletions_are_made_again_in_a_fresh_session(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        box, spare = session.get_one(Box, 1), session.get_one(Box, 2)
        with ChangeRecorder(session, skip=frozenset({"status"})) as recorder:
            box.label = "fragile"
            box.status = "moved by the settle, not replayed"
            session.scalars(select(Item)).all()  # a read is fine
            session.add(Item(name="new one"))
            session.delete(spare)
        session.rollback()  # the commit after the handler failed
    changes = recorder.changes
    assert changes.unreplayable is None
    with sessions() as fresh:
        changes.apply(fresh)
        fresh.commit()
    with sessions() as check:
        assert (check.get_one(Box, 1).label, check.get_one(Box, 1).status) == ("fragile", "new")
        assert check.get(Box, 2) is None
        assert sorted(check.scalars(select(Item.name)).all()) == ["new one", "thing"]


def test_a_change_flushed_before_the_handler_returned_is_still_replayed(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        box = session.get_one(Box, 1)
        with ChangeRecorder(session) as recorder:
            box.label = "flushed"
            session.flush()
        session.rollback()
    assert recorder.changes.unreplayable is None
    assert recorder.changes.updates == {(Box, (1,)): {"label": "flushed"}}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda session: session.execute(update(Box).values(label="all")), "executed a statement itself (UPDATE)"),
        (lambda session: session.execute(text("DELETE FROM items")), "executed a statement itself (DELETE)"),
        (lambda session: session.get_one(Box, 1).items.clear(), "changed the relationship"),
        (lambda session: setattr(session.get_one(Item, 1), "box", session.get_one(Box, 2)), "changed the relationship"),
        (lambda session: (box := session.get_one(Box, 2), box.items.append(Item(name="late"))), "the relationship"),
        (lambda session: (session.add(Item(name="early")), session.flush()), "flushed a new Item"),
    ],
)
def test_changes_that_cannot_be_replayed_say_why(sessions: sessionmaker[Session], change: object, reason: str) -> None:
    with sessions() as session:
        box = session.get_one(Box, 1)
        assert len(box.items) == 1  # loaded before the recorder starts
        with ChangeRecorder(session) as recorder:
            kept = change(session)  # type: ignore[operator]  # noqa: F841 - objects changed stay alive
        session.rollback()
    assert recorder.changes.unreplayable is not None
    assert reason in recorder.changes.unreplayable
