"""The parcel machine's actions, task, listener and reaction selector, with counters for the tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select

from engine import emit
from tests.work.touching.models import Parcel

#: Messages the listeners received.
HEARD: list[Mapping[str, Any]] = []
#: Label runs per parcel id.
LABELS: Counter[int] = Counter()


def weigh(parcel: Parcel, context: Mapping[str, Any]) -> None:
    """Action of ``weigh``: store the weight and emit ``parcel.weighed`` with it."""
    parcel.grams = int(context["grams"])
    emit("parcel.weighed", {"grams": parcel.grams, "token": "secret-token-value"})
    if context.get("explode"):
        raise RuntimeError("the scale broke")


def emit_anywhere(parcel: Parcel, context: Mapping[str, Any]) -> None:
    """Action of ``ship``: emit whatever the parcel names (tests of undeclared events)."""
    if parcel.emits is not None:
        emit(parcel.emits)


def announce_label(parcel: Parcel, context: Mapping[str, Any]) -> None:
    """Action of ``label`` (the label task's ``complete`` step): emit ``parcel.label_made`` from the worker's move."""
    emit("parcel.label_made", {"labels": LABELS[parcel.id]})


def make_label(parcel: Parcel) -> None:
    """The label task."""
    LABELS[parcel.id] += 1


def hear(message: Mapping[str, Any]) -> None:
    """Listener of ``parcel.packing`` and ``parcel.weighed``."""
    HEARD.append(message)


def heavy_parcel(message: Mapping[str, Any]) -> Select[Any]:
    """Reaction selector: the parcel that was weighed, if it weighs a kilogram or more."""
    if message["payload"]["grams"] < 1000:
        return select(Parcel).where(False)
    return select(Parcel).where(Parcel.id == int(message["model_id"]))
