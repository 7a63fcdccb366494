"""The ``Settings`` a command runs with: read once, on first use, the defaults of its options.

An option that has a ``STATEWRIGHT_*`` variable takes ``default=setting("field")``: given on the command line,
the option wins; otherwise the value comes from ``Settings.from_env()``, which reports a bad value as one
``ConfigurationError`` naming the variable (exit 2) instead of click's usage text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from engine.settings import VARIABLE_BY_FIELD, Settings


def current_settings() -> Settings:
    """The settings of the running command: read from the environment on first use, then kept on the root context.

    Raises:
        ConfigurationError: A ``STATEWRIGHT_*`` variable's value cannot be used.
    """
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is not None and isinstance(root.obj, Settings):
        return root.obj
    settings = Settings.from_env()
    if root is not None and root.obj is None:
        root.obj = settings  # every option default and the command itself then see one reading
    return settings


def setting(field: str) -> Callable[[], Any]:
    """A click ``default=`` that takes the ``Settings`` field (so the option beats the environment)."""
    VARIABLE_BY_FIELD[field]  # a typo fails at import, not when the option is left out

    def default() -> Any:
        return getattr(current_settings(), field)

    return default


def shown(field: str) -> str:
    """What ``--help`` shows as the option's default: the default and the variable that overrides it."""
    variable = VARIABLE_BY_FIELD[field]
    return f"${variable.name} or {variable.default.strip('()')}"
