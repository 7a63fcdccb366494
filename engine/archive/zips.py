"""The archive format: a ZIP with one entry per history row and a manifest of their SHA-256 sums.

``manifest.json`` lists every entry: its name (``<row id>.json``), the row id, its size and SHA-256.
Reading trusts nothing in the file: an entry is read only by the exact name the database recorded,
only if the manifest lists it with the same checksum, never larger than the configured cap, and its
bytes must hash to the recorded sum. Nothing is ever extracted to the file system.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ArchiveCorrupt

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
#: The only entry names an archive may hold besides the manifest.
ENTRY_NAME = re.compile(r"\A[0-9]{1,20}\.json\Z")
#: The compression methods Statewright writes (deflate) or could meet in an archive it wrote (stored).
COMPRESSION_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: What ``zipfile`` raises on damaged bytes: bad headers, bad CRC, a broken deflate stream, a short file.
#: (RuntimeError and NotImplementedError are its answers to encrypted members and unknown methods.)
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    OverflowError,
)


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
        manifest = {
            "format": FORMAT_VERSION,
            "entries": [{"name": e.name, "row_id": e.row_id, "sha256": e.sha256, "size": e.size} for e in entries],
        }
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
        with _damage_reported(f"{label}: not a readable ZIP archive"):
            self.zip = zipfile.ZipFile(path)
        try:
            # A ZIP may hold several members of one name; which one a reader gets is up to the reader.
            self.name_counts = Counter(info.filename for info in self.zip.infolist())
            self.manifest = self._manifest()
        except ArchiveCorrupt:
            self.zip.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def _manifest(self) -> dict[str, dict[str, Any]]:
        content = self._read(MANIFEST)
        try:
            raw = json.loads(content)
            listed = {entry["name"]: entry for entry in raw["entries"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ArchiveCorrupt(
                f"{self.label}: unreadable manifest, not a JSON object with a list of "
                f"entries ({type(exc).__name__}: {exc})"
            ) from exc
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
        if self.name_counts[name] == 0:
            raise ArchiveCorrupt(f"{self.label}: has no entry {name}")
        if self.name_counts[name] != 1:
            raise ArchiveCorrupt(f"{self.label}: {self.name_counts[name]} entries are named {name}, not one")
        info = self.zip.getinfo(name)
        self._check_member(info)
        # The header's size could lie: read at most one byte past the cap, and refuse if it is there.
        with _damage_reported(f"{self.label}: {name} is damaged"), self.zip.open(info) as stream:
            content = stream.read(self.max_entry_bytes + 1)
        if len(content) > self.max_entry_bytes:
            raise ArchiveCorrupt(f"{self.label}: {name} inflates past the {self.max_entry_bytes}-byte limit")
        return content

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        """Refuse what Statewright never writes before ``zipfile`` meets it: encryption, odd methods, huge sizes."""
        if info.flag_bits & 0x1:
            raise ArchiveCorrupt(f"{self.label}: {info.filename} is encrypted; Statewright never encrypts entries")
        if info.compress_type not in COMPRESSION_METHODS:
            raise ArchiveCorrupt(
                f"{self.label}: {info.filename} uses compression method {info.compress_type}; "
                f"Statewright writes only {', '.join(COMPRESSION_METHODS.values())}"
            )
        if info.file_size > self.max_entry_bytes:
            raise ArchiveCorrupt(
                f"{self.label}: {info.filename} is {info.file_size} bytes, over the {self.max_entry_bytes}-byte limit"
            )


@contextmanager
def _damage_reported(what: str) -> Iterator[None]:
    """Turn whatever ``zipfile`` raises on damaged bytes into ``ArchiveCorrupt`` saying ``what``."""
    try:
        yield
    except _DAMAGE as exc:
        raise ArchiveCorrupt(f"{what} ({type(exc).__name__}: {exc})") from exc


def decode_entry(label: str, name: str, content: bytes) -> tuple[Any, str | None]:
    """An entry's ``(payload, exception_traceback)``; ``ArchiveCorrupt`` if it is not the JSON Statewright writes.

    Args:
        label: How errors name the archive (its URI).
        name: The entry's name.
        content: The entry's bytes, already checked against their SHA-256.
    """
    try:
        decoded = json.loads(content)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise ArchiveCorrupt(f"{label}: {name} is not JSON ({exc})") from exc
    if (
        not isinstance(decoded, dict)
        or set(decoded) != {"payload", "exception_traceback"}
        or not isinstance(decoded["exception_traceback"], str | None)
    ):
        raise ArchiveCorrupt(
            f"{label}: {name} is JSON but not a payload entry (expected an object with "
            f"exactly 'payload' and 'exception_traceback')"
        )
    return decoded["payload"], decoded["exception_traceback"]
