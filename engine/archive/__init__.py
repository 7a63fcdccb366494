"""Payload archiving: move large history payloads into verified ZIP archives, restore them, purge them.

Names load on first use, so the CLI can read the settings' defaults without importing SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.archive.archiver import (
        DEFAULT_BATCH,
        DEFAULT_OLDER_THAN,
        Archiver,
        CompressResult,
        PurgeResult,
        RestoreResult,
    )
    from engine.archive.orphans import DEFAULT_ORPHAN_GRACE
    from engine.archive.settings import ArchiveSettings

_LAZY = {
    "DEFAULT_BATCH": "engine.archive.archiver",
    "DEFAULT_OLDER_THAN": "engine.archive.archiver",
    "Archiver": "engine.archive.archiver",
    "CompressResult": "engine.archive.archiver",
    "RestoreResult": "engine.archive.archiver",
    "ArchiveSettings": "engine.archive.settings",
    "PurgeResult": "engine.archive.archiver",
    "DEFAULT_ORPHAN_GRACE": "engine.archive.orphans",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine.archive' has no attribute {name!r}")


__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_OLDER_THAN",
    "DEFAULT_ORPHAN_GRACE",
    "ArchiveSettings",
    "Archiver",
    "CompressResult",
    "PurgeResult",
    "RestoreResult",
]
