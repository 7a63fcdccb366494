"""Payload archiving: move large history payloads into verified ZIP archives, restore them, purge them."""

from engine.archive.archiver import DEFAULT_BATCH, DEFAULT_OLDER_THAN, Archiver, CompressResult, RestoreResult
from engine.archive.settings import ArchiveSettings

__all__ = ["DEFAULT_BATCH", "DEFAULT_OLDER_THAN", "ArchiveSettings", "Archiver", "CompressResult", "RestoreResult"]
