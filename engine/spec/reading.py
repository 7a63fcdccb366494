"""Read a machine file's text from disk: regular files only, and never more than ``MAX_FILE_BYTES`` of it.

A path may name a FIFO (``open`` would wait for a writer), a device such as ``/dev/zero`` (endless), a
directory or a file of gigabytes; each is reported as a located diagnostic instead of being read whole.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.spec.diagnostics import Diagnostic
from engine.spec.locations import Location

#: Largest machine file read, in bytes (also the most characters ``check_text`` takes). Real machines are
#: a few kilobytes; the limit keeps a mistaken path from filling memory.
MAX_FILE_BYTES = 10 * 1024 * 1024

_KIND_BY_MODE = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


@dataclass(frozen=True)
class ReadFile:
    """A file's text, or the problem that stopped it from being read.

    Args:
        text: The decoded text, when it could be read.
        problem: Why it could not be, located.
    """

    text: str | None
    problem: Diagnostic | None = None


def read_machine_file(path: str | Path) -> ReadFile:
    """Read a machine file as UTF-8 (a BOM is dropped), refusing anything but a regular file of limited size.

    Args:
        path: The file.

    Returns:
        The text, or an SW001 (unreadable, not a regular file, not UTF-8) or SW005 (too large) diagnostic.
    """
    shown = str(path)
    try:
        data = _read_prefix(path)
    except _NotRegular as refused:
        return ReadFile(
            None,
            Diagnostic(
                "SW001",
                f"Cannot read the file: it is {refused.kind}, not a regular file. Name a machine file (*.yaml).",
                Location(shown),
            ),
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return ReadFile(None, Diagnostic("SW001", f"Cannot read the file: {reason}.", Location(shown)))
    return decode_machine_bytes(data, shown)


def decode_machine_bytes(data: bytes, shown: str) -> ReadFile:
    """Machine-file bytes (from a file or standard input) as text: UTF-8, a BOM dropped, at most ``MAX_FILE_BYTES``.

    Args:
        data: The bytes read, at most ``MAX_FILE_BYTES + 1`` of them.
        shown: The name to locate problems at.

    Returns:
        The text, or an SW001 (not UTF-8) or SW005 (too large) diagnostic.
    """
    if len(data) > MAX_FILE_BYTES:
        return ReadFile(None, too_large(data[:MAX_FILE_BYTES], shown))
    try:
        return ReadFile(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return ReadFile(
            None, Diagnostic("SW001", "The file is not UTF-8 text.", _byte_location(data, exc.start, shown))
        )


class _NotRegular(OSError):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _read_prefix(path: str | Path) -> bytes:
    """At most ``MAX_FILE_BYTES + 1`` bytes; non-blocking open, so a FIFO is refused instead of waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _NotRegular(_KIND_BY_MODE.get(stat.S_IFMT(mode), "not a regular file"))
        chunks: list[bytes] = []
        remaining = MAX_FILE_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def too_large(head: bytes | str, file: str) -> Diagnostic:
    """The SW005 for input past ``MAX_FILE_BYTES``, located where the limit is crossed.

    Args:
        head: The input up to the limit.
        file: The path to show.
    """
    if isinstance(head, bytes):
        last = head.rfind(b"\n") + 1
        line, tail = head.count(b"\n") + 1, head[last:].decode("utf-8", "replace")
    else:
        last = head.rfind("\n") + 1
        line, tail = head.count("\n") + 1, head[last:]
    col = len(tail) + 1
    return Diagnostic(
        "SW005",
        f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; reading stopped "
        "here. A machine file is a few kilobytes: check that the path names the right file.",
        Location(file, line, col),
    )


def _byte_location(data: bytes, index: int, file: str) -> Location:
    before = data[:index]
    return Location(file, before.count(b"\n") + 1, index - (before.rfind(b"\n") + 1) + 1)
