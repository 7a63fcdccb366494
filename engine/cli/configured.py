"""The ``Settings`` a command runs with: read once, on first use, the defaults of its options.

An option that has a ``STATEWRIGHT_*`` variable takes ``default=setting("field")``: given on the command line,
the option wins; otherwise the value comes from ``Settings.from_env()``, which reports a bad value as one
``ConfigurationError`` naming the variable (exit 2) instead of click's usage text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from engine.settings import VARIABLE_BY_FIELD, Settings

F = TypeVar("F", bound=Callable[..., Any])


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


def setting_option(name: str, field: str, help: str, **attrs: Any) -> Callable[[F], F]:
    """An option whose default is the ``Settings`` field, and whose ``--help`` names the variable."""
    return click.option(name, default=setting(field), show_default=shown(field), help=help, **attrs)


def stacked(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying ``decorators`` so that ``--help`` lists their options in the order given."""

    def decorate(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return decorate


def database_url_option(function: F) -> F:
    """Add ``--database-url`` to a command: every command that opens the database, with or without the machines."""
    return setting_option("--database-url", "database_url", "SQLAlchemy URL.")(function)
