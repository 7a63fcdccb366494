"""Click parameter types the commands share: a duration as machine files write it, a SQL-sized count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

#: A positive number a database's 64-bit integer column can hold (a row id, a row count); larger ones are
#: a usage error instead of an OverflowError from the driver.
SQL_COUNT = click.IntRange(1, 2**63 - 1)


class _Duration(click.ParamType[timedelta]):
    """A duration as machine files write them: ``2d``, ``12h``, ``90m``."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from engine.spec.durations import parse_duration

        try:
            return parse_duration(str(value))
        except (ValueError, OverflowError) as exc:  # OverflowError: more days than timedelta holds
            self.fail(f"{value!r} is not a duration like 30m, 12h or 2d ({exc})", param, ctx)


DURATION = _Duration()
