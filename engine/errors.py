"""Every exception Statewright raises for a user's mistake or an unavailable resource.

The tree::

    StatewrightError                 catch-all for the engine's own errors
    └── DefinitionError              a machine file is wrong (carries every located diagnostic)

Misuse of the Python API (wrong argument types, calling in the wrong order) raises the builtin
``TypeError``/``ValueError``/``RuntimeError`` instead, so ``except StatewrightError`` never hides a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.spec.diagnostics import Diagnostic


class StatewrightError(Exception):
    """Root of every error Statewright raises on purpose."""


class DefinitionError(StatewrightError):
    """A machine definition has problems; ``diagnostics`` lists all of them, located.

    Args:
        diagnostics: The problems found, at least one.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        if not diagnostics:
            raise ValueError("DefinitionError needs at least one diagnostic")
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0]
        more = len(self.diagnostics) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{first.render()}{suffix}")
