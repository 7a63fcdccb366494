"""Spelling suggestions and name lists for messages, bounded so a file with thousands of problems stays fast.

``difflib`` compares a name with every candidate, so suggesting for every unknown name in a file that
repeats the mistake thousands of times (or declares thousands of states) would make lint quadratic.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

#: Most "Did you mean ...?" suggestions one ``Suggester`` works out (one per check of one file).
MAX_SUGGESTIONS = 100
#: Most candidates a suggestion is looked for among; longer lists get no suggestion.
MAX_CANDIDATES = 1000
#: Most names one message lists; the rest are counted ("a, b and 40 more").
MAX_LISTED = 20


class Suggester:
    """Suggests the closest known name, at most ``budget`` times.

    Args:
        budget: How many suggestions to work out; later calls return no suggestion.
    """

    def __init__(self, budget: int = MAX_SUGGESTIONS) -> None:
        self.remaining = budget

    def did_you_mean(self, name: str, known: Sequence[str]) -> str:
        """`` Did you mean 'x'?`` (with its leading space) or an empty string.

        >>> Suggester().did_you_mean("shiped", ["new", "shipped"])
        " Did you mean 'shipped'?"
        """
        if self.remaining <= 0 or len(known) > MAX_CANDIDATES:
            return ""
        self.remaining -= 1
        hint = difflib.get_close_matches(name, known, n=1)
        return f" Did you mean {hint[0]!r}?" if hint else ""


def listing(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    """Names joined with commas, the ones past ``limit`` counted.

    >>> listing(["a", "b", "c"], limit=2)
    'a, b and 1 more'
    """
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return f"{shown} and {more} more" if more > 0 else shown
