"""Durations as machine files write them: ``500ms``, ``30s``, ``10m``, ``1h30m``, ``2d``, ``1w``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d|w))+")
_SECONDS_BY_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse a duration.

    Args:
        text: Numbers each followed by a unit (ms, s, m, h, d, w).

    Returns:
        The duration.

    Raises:
        ValueError: The text is not a duration.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration; write a number and a unit: 500ms, 30s, 10m, 2h, 1d, 1w")
    seconds = sum(int(number) * _SECONDS_BY_UNIT[unit] for number, unit in _PART.findall(text))
    return timedelta(seconds=seconds)


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
