"""Damage real archives the way disks, networks and people do: byte edits on the ZIP, rebuilt members.

Every function takes the archive's bytes and returns the damaged bytes; ``rewrite`` applies one to an
archive where it is stored (a local folder or S3).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from engine.archive import ArchiveSettings
from engine.archive.storage import Storage

#: Bytes → damaged bytes.
Damage = Callable[[bytes], bytes]

_CENTRAL = b"PK\x01\x02"
#: Offsets inside a central directory record and a local file header (APPNOTE 4.3.7 and 4.3.12).
_CD_FLAGS, _CD_CRC, _CD_SIZE = 8, 16, 24
_LH_FLAGS, _LH_CRC, _LH_SIZE = 6, 14, 22


def rewrite(settings: ArchiveSettings, uri: str, damage: Damage) -> None:
    """Fetch the archive at ``uri``, damage it, and store it again under the same name."""
    storage = Storage(settings)
    settings.temp_path.mkdir(parents=True, exist_ok=True)
    local = settings.temp_path / "tampering.zip"
    storage.fetch(uri, local)
    local.write_bytes(damage(local.read_bytes()))
    storage.put(local, uri.rsplit("/", 1)[1])
    local.unlink()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _build(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _offsets(data: bytes, name: str) -> tuple[int, int, int]:
    """(central directory record, local header, compressed data) offsets of member ``name``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
        record = data.index(_CENTRAL, archive.start_dir)
        while data[record + 46 : record + 46 + len(info.orig_filename.encode())] != info.orig_filename.encode():
            record = data.index(_CENTRAL, record + 4)
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    return record, info.header_offset, info.header_offset + 30 + name_length + extra_length


def flip_byte_in(name: str) -> Damage:
    """One byte of member ``name``'s compressed data inverted (a bad sector, a bit flip in transit)."""

    def damage(data: bytes) -> bytes:
        _, _, start = _offsets(data, name)
        edited = bytearray(data)
        edited[start + 2] ^= 0xFF
        return bytes(edited)

    return damage


def _patch(data: bytes, name: str, central_field: int, local_field: int, fmt: str, value: int) -> bytes:
    record, header, _ = _offsets(data, name)
    edited = bytearray(data)
    struct.pack_into(fmt, edited, record + central_field, value)
    struct.pack_into(fmt, edited, header + local_field, value)
    return bytes(edited)


def bad_crc_of(name: str) -> Damage:
    """Member ``name``'s recorded CRC-32 changed in both headers; its data untouched."""

    def damage(data: bytes) -> bytes:
        record, _, _ = _offsets(data, name)
        (crc,) = struct.unpack_from("<I", data, record + _CD_CRC)
        return _patch(data, name, _CD_CRC, _LH_CRC, "<I", crc ^ 0xFFFF)

    return damage


def encrypted(name: str) -> Damage:
    """Member ``name`` flagged as encrypted (ZIP's traditional encryption bit)."""

    def damage(data: bytes) -> bytes:
        record, _, _ = _offsets(data, name)
        (flags,) = struct.unpack_from("<H", data, record + _CD_FLAGS)
        return _patch(data, name, _CD_FLAGS, _LH_FLAGS, "<H", flags | 0x1)

    return damage


def size_understated(name: str, size: int = 10) -> Damage:
    """Member ``name``'s headers claim ``size`` bytes; it inflates to more."""

    def damage(data: bytes) -> bytes:
        return _patch(data, name, _CD_SIZE, _LH_SIZE, "<I", size)

    return damage


def truncated(data: bytes) -> bytes:
    """The first half of the file (an interrupted copy)."""
    return data[: len(data) // 2]


def not_a_zip(data: bytes) -> bytes:
    """Something else entirely under the archive's name."""
    return b"<html><body>503 Service Unavailable</body></html>\n" * 20


def without_manifest(data: bytes) -> bytes:
    members = _members(data)
    del members["manifest.json"]
    return _build(members)


def manifest(content: bytes) -> Damage:
    """The manifest replaced by ``content``; everything else as it was."""

    def damage(data: bytes) -> bytes:
        return _build({**_members(data), "manifest.json": content})

    return damage


def entry_replaced(name: str, content: bytes) -> tuple[Damage, str]:
    """Member ``name`` replaced by ``content`` and listed in the manifest with its checksum, consistently.

    Returns:
        The damage, and the new checksum (for the database row, to make the archive fully consistent).
    """
    import hashlib

    sha = hashlib.sha256(content).hexdigest()

    def damage(data: bytes) -> bytes:
        members = _members(data)
        listing = json.loads(members["manifest.json"])
        for entry in listing["entries"]:
            if entry["name"] == name:
                entry.update(sha256=sha, size=len(content))
        return _build({**members, name: content, "manifest.json": json.dumps(listing).encode()})

    return damage, sha


def local_path(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))
