"""Any damage to an archive's bytes gives back the exact entry or ``ArchiveCorrupt``, never anything else."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from engine.archive.zips import ArchiveReader, decode_entry, write_archive
from engine.errors import ArchiveCorrupt


def _original() -> tuple[bytes, dict[str, bytes]]:
    contents = {
        row_id: f'{{"payload":{{"n":{row_id},"text":"{"abc" * row_id * 40}"}},"exception_traceback":null}}'.encode()
        for row_id in (1, 2, 3)
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.zip"
        write_archive(path, contents.items())
        return path.read_bytes(), {f"{row_id}.json": content for row_id, content in contents.items()}


ARCHIVE, ENTRIES = _original()

edits = st.lists(st.tuples(st.integers(0, len(ARCHIVE) - 1), st.integers(1, 255)), min_size=1, max_size=4)


@given(edits=edits, cut=st.one_of(st.none(), st.integers(0, len(ARCHIVE))))
def test_a_damaged_archive_yields_exact_entries_or_archive_corrupt(
    edits: list[tuple[int, int]], cut: int | None
) -> None:
    damaged = bytearray(ARCHIVE)
    for position, flip in edits:
        damaged[position] ^= flip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.zip"
        path.write_bytes(bytes(damaged[:cut]))
        try:
            reader = ArchiveReader(path, "damaged.zip", max_entry_bytes=4096)
        except ArchiveCorrupt:
            return
        with reader:
            for name, content in ENTRIES.items():
                try:
                    read = reader.read(name, hashlib.sha256(content).hexdigest())
                except ArchiveCorrupt:
                    continue
                assert read == content, "an entry that reads back is the entry that was written"
                assert decode_entry("damaged.zip", name, read)[1] is None
