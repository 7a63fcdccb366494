"""The benchmark task: a small write on the object, as real handlers make."""

from __future__ import annotations

from typing import Any


def work(item: Any) -> None:
    """Mark the item as worked on."""
    item.result = "worked"
