"""Durations as machine files write them: ``500ms``, ``30s``, ``10m``, ``1h30m``, ``2d``, ``1w``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d|w))+")
_SECONDS_BY_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNIT_ORDER = ("w", "d", "h", "m", "s", "ms")
_MILLISECONDS_BY_UNIT = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

#: Longest duration a machine file may give (100 years): ``now - timeout`` and ``now + timeout`` stay
#: far inside what ``datetime`` can hold, and milliseconds fit the brokers' 64-bit integers.
MAX_DURATION = timedelta(days=36500)
_MAX_MILLISECONDS = MAX_DURATION // timedelta(milliseconds=1)
# A number with more digits than this is past the limit in any unit; checked before int() sees it.
_MAX_DIGITS = len(str(_MAX_MILLISECONDS))


class DurationOutOfRange(ValueError):
    """A duration is well-formed but longer than ``MAX_DURATION``."""


def parse_duration(text: str) -> timedelta:
    """Parse a duration.

    Args:
        text: Numbers each followed by a unit (ms, s, m, h, d, w).

    Returns:
        The duration.

    Raises:
        ValueError: The text is not a duration.
        DurationOutOfRange: The duration is longer than ``MAX_DURATION`` (a ``ValueError`` too).

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration; write a number and a unit: 500ms, 30s, 10m, 2h, 1d, 1w")
    parts = _PART.findall(text)
    units = [unit for _, unit in parts]
    if units != sorted(set(units), key=_UNIT_ORDER.index):
        raise ValueError(
            f"{text!r} is not a duration: each unit at most once, largest first (1h30m, not 30m1h or 1h1h)"
        )
    milliseconds = 0
    for number, unit in parts:
        digits = number.lstrip("0")
        if len(digits) > _MAX_DIGITS:
            milliseconds = _MAX_MILLISECONDS + 1
            break
        milliseconds += int(digits or "0") * _MILLISECONDS_BY_UNIT[unit]
    if milliseconds > _MAX_MILLISECONDS:
        shown = text if len(text) <= 30 else f"{text[:27]}..."
        raise DurationOutOfRange(
            f"the duration {shown} is longer than the longest allowed, {MAX_DURATION.days}d (100 years)"
        )
    return timedelta(milliseconds=milliseconds)


def format_duration(value: timedelta) -> str:
    """Write a duration back in the file format, largest units first.

    >>> format_duration(timedelta(seconds=5400))
    '1h30m'
    """
    milliseconds = round(value.total_seconds() * 1000)
    if milliseconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = round(_SECONDS_BY_UNIT[unit] * 1000)
        count, milliseconds = divmod(milliseconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
