"""The admin web page: objects, their history, repair actions, metrics and live diagrams.

Needs the ``admin`` extra (Jinja2, pygal, …): ``pip install statewright[admin]``.
"""

from __future__ import annotations

from engine.dependencies import missing_dependency

try:
    from engine.admin.app import build_admin
except ImportError as missing:  # pragma: no cover - exercised only without the extra
    raise missing_dependency(missing, "The admin page") from missing

__all__ = ["build_admin"]
