"""The metrics' charts as inline SVG, drawn by pygal on the server: the page fetches nothing for them."""

from __future__ import annotations

import re
from datetime import date

import pygal
from pygal.style import Style

#: pygal adds a script tag that loads its tooltips from the internet unless told to load none.
_NO_SCRIPTS: list[str] = []
#: pygal still writes its config as an inline script, which the page's CSP refuses (and nothing reads).
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
#: Bar color of the trend chart.
TREND_COLOR = "#3B82F6"
#: Slice color of a state without ``metadata.color``.
DEFAULT_COLOR = "#9CA3AF"


def _style(colors: tuple[str, ...]) -> Style:
    return Style(
        background="transparent", plot_background="transparent", colors=colors, font_family="system-ui, sans-serif"
    )


def trend_chart(per_day: list[tuple[date, int]], title: str) -> str:
    """Objects created per day, as a bar chart."""
    chart = pygal.Bar(
        js=_NO_SCRIPTS,
        style=_style((TREND_COLOR,)),
        height=260,
        show_legend=False,
        x_label_rotation=45,
        show_minor_x_labels=False,
        title=title,
    )
    chart.x_labels = [day.strftime("%m-%d") for day, _ in per_day]
    chart.x_labels_major = [label for n, label in enumerate(chart.x_labels) if n % 5 == 0]
    chart.add("objects", [count for _, count in per_day])
    return _without_scripts(chart.render(is_unicode=True))


def partition_chart(by_status: dict[str, int], colors: dict[str, str | None], title: str) -> str:
    """Objects by status, as a pie with the states' colors."""
    shown = [(state, count) for state, count in by_status.items() if count]
    chart = pygal.Pie(
        js=_NO_SCRIPTS,
        height=260,
        title=title,
        inner_radius=0.45,
        style=_style(tuple(colors.get(state) or DEFAULT_COLOR for state, _ in shown) or (DEFAULT_COLOR,)),
    )
    for state, count in shown:
        chart.add(state, count)
    return _without_scripts(chart.render(is_unicode=True))


def _without_scripts(svg: str) -> str:
    return _INLINE_SCRIPT.sub("", svg)
