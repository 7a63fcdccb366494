"""Rows a claim writes alongside its history row: in the claim's transaction, and only if the claim was made.

A worker's lease and a callback's delivery record are such rows. Each names the claim's history row, so on
PostgreSQL it is one more part of the claim's single statement, and elsewhere one more statement after it.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, Insert


class Alongside(Protocol):
    """A row written with a claim (see ``Flow.claim``)."""

    @property
    def kind(self) -> str:
        """Names the statement built with it: built once per kind (and thread), bound anew for every claim."""

    def insert(self, dialect: str, change_id: ColumnElement[Any]) -> Insert:
        """The row's INSERT in ``dialect``, its history row's id taken from ``change_id``."""

    def params(self) -> dict[str, Any]:
        """The bound values of ``insert``'s statement."""
