"""One row per comparison, and the table ``python -m tests.benchmarks`` prints (Markdown, for the README)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """Statewright against one baseline, measured in the same run.

    ``ratio`` is always "how many times better Statewright is": baseline time / our time for
    durations, our rate / baseline rate for rates. ``bar`` is the issue's threshold for that ratio.
    """

    benchmark: str
    baseline: str
    ours: float
    theirs: float
    unit: str
    higher_is_better: bool
    bar: float | None = None
    #: How the bar reads in the issue, when "ratio ≥ bar" says it less plainly.
    bar_label: str | None = None

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs if self.higher_is_better else self.theirs / self.ours

    @property
    def verdict(self) -> str:
        if self.bar is None:
            return ""
        label = self.bar_label or f"ratio ≥ {self.bar:g}"
        return f"{'met' if self.ratio >= self.bar else 'NOT MET'} ({label})"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def render(results: Iterable[Result]) -> str:
    """The Markdown table."""
    lines = [
        "| benchmark | Statewright | baseline | baseline value | Statewright is | bar |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.benchmark} | {_number(r.ours)} {r.unit} | {r.baseline} | {_number(r.theirs)} {r.unit} | "
            f"{r.ratio:.2f}× as good | {r.verdict} |"
        )
    return "\n".join(lines)
