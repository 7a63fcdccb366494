"""The archive format: a ZIP with one entry per history row and a manifest of their SHA-256 sums.

``manifest.json`` lists every entry: its name (``<row id>.json``), the row id, its size and SHA-256.
Reading trusts nothing in the file: an entry is read only by the exact name the database recorded,
only if the manifest lists it with the same checksum, never larger than the configured cap, and its
bytes must hash to the recorded sum. Nothing is ever extracted to the file system.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ArchiveCorrupt

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
#: The only entry names an archive may hold besides the manifest.
ENTRY_NAME = re.compile(r"\A[0-9]{1,20}\.json\Z")


def entry_name(row_id: int) -> str:
    """The entry that holds history row ``row_id``'s payload."""
    return f"{row_id}.json"


@dataclass(frozen=True)
class WrittenEntry:
    """One entry of a written archive, as the database records it."""

    row_id: int
    name: str
    sha256: str
    size: int


def write_archive(path: Path, rows: Iterable[tuple[int, bytes]]) -> list[WrittenEntry]:
    """Write ``(row id, content)`` pairs and the manifest into a new ZIP at ``path``."""
    entries: list[WrittenEntry] = []
    with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED) as archive:
        for row_id, content in rows:
            name = entry_name(row_id)
            archive.writestr(name, content)
            entries.append(WrittenEntry(row_id, name, hashlib.sha256(content).hexdigest(), len(content)))
        manifest = {"format": FORMAT_VERSION,
                    "entries": [{"name": e.name, "row_id": e.row_id, "sha256": e.sha256, "size": e.size}
                                for e in entries]}
        archive.writestr(MANIFEST, json.dumps(manifest))
    return entries


class ArchiveReader:
    """Reads entries of one local archive file, checking each against the manifest and the database.

    Args:
        path: The archive, fetched to a local file.
        label: How errors name it (its URI).
        max_entry_bytes: Larger entries are refused unread.
    """

    def __init__(self, path: Path, label: str, max_entry_bytes: int) -> None:
        self.label = label
        self.max_entry_bytes = max_entry_bytes
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise ArchiveCorrupt(f"{label}: not a ZIP archive ({exc})") from exc
        # A ZIP may hold several members of one name; which one a reader gets is up to the reader.
        self.name_counts = Counter(info.filename for info in self.zip.infolist())
        self.manifest = self._manifest()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def _manifest(self) -> dict[str, dict[str, Any]]:
        try:
            raw = json.loads(self._read(MANIFEST))
            listed = {entry["name"]: entry for entry in raw["entries"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveCorrupt(f"{self.label}: unreadable manifest ({exc})") from exc
        return listed

    def read(self, name: str, sha256: str) -> bytes:
        """The entry ``name``, after checking its name, the manifest's checksum, its size and its bytes."""
        if not ENTRY_NAME.match(name):
            raise ArchiveCorrupt(f"{self.label}: refusing entry name {name!r}")
        listed = self.manifest.get(name)
        if listed is None or listed.get("sha256") != sha256:
            raise ArchiveCorrupt(f"{self.label}: the manifest does not list {name} with checksum {sha256}")
        content = self._read(name)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ArchiveCorrupt(f"{self.label}: {name} does not match its checksum {sha256}")
        return content

    def _read(self, name: str) -> bytes:
        if self.name_counts[name] != 1:
            raise ArchiveCorrupt(f"{self.label}: {self.name_counts[name]} entries are named {name}, not one")
        info = self.zip.getinfo(name)
        if info.file_size > self.max_entry_bytes:
            raise ArchiveCorrupt(f"{self.label}: {name} is {info.file_size} bytes, over the "
                                 f"{self.max_entry_bytes}-byte limit")
        # The header's size could lie: read at most one byte past the cap, and refuse if it is there.
        with self.zip.open(info) as stream:
            content = stream.read(self.max_entry_bytes + 1)
        if len(content) > self.max_entry_bytes:
            raise ArchiveCorrupt(f"{self.label}: {name} inflates past the {self.max_entry_bytes}-byte limit")
        return content
