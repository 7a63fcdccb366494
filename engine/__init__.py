"""Statewright: statuses of business objects, described in YAML.

Stages, left to right: ``engine.spec`` reads and checks machine files; ``engine.compiler`` turns them
into ``transitions`` machines; ``engine.orm`` holds the tables; ``engine.runtime`` binds machines to
SQLAlchemy models and records every status change; ``engine.diagrams`` draws them; ``engine.cli`` is the
``statewright`` command.

The runtime names load on first use, so reading and linting machine files never imports SQLAlchemy,
transitions or Dramatiq.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.errors import (
    ArchiveCorrupt,
    ArchiveError,
    ArchiveUnavailable,
    BrokerUnavailable,
    ConcurrencyError,
    ConfigurationError,
    DatabaseUnavailable,
    DefinitionError,
    DotUnavailableError,
    EmitOutsideMove,
    EndpointError,
    EndpointFailed,
    ExpressionError,
    GuardRejected,
    GuardUndecidable,
    HandlerTimedOut,
    MissingDependency,
    NoDefibrillation,
    NotBoundError,
    NotTouchable,
    ObjectKeyError,
    PlaceholderRefused,
    ResponseTooLarge,
    RetryRefused,
    StaleStatus,
    StatewrightError,
    StatusAssignmentError,
    StatusColumnError,
    TransitionError,
    TransitionNotAllowed,
    UndeclaredEventError,
    UnknownStatusError,
    UnknownWork,
    WorkError,
    WriteConflict,
)
from engine.spec import (
    CheckedFile,
    Diagnostic,
    Location,
    MachineSpec,
    Severity,
    check_file,
    check_text,
    load_spec,
    load_specs,
)

if TYPE_CHECKING:
    from engine.archive.settings import ArchiveSettings
    from engine.db import make_async_engine
    from engine.orm import StatusType, metadata
    from engine.redaction import Redactor
    from engine.runtime.binding import Stateful
    from engine.runtime.changes import StatusChange
    from engine.runtime.emitting import emit
    from engine.runtime.hooks import Hook, SkipReason, Veto, WorkRun
    from engine.settings import Settings
    from engine.statewright import Statewright
    from engine.statuses import StatusEnum, UnknownStatus

_LAZY = {
    "Statewright": "engine.statewright",
    "Stateful": "engine.runtime.binding",
    "StatusType": "engine.orm",
    "metadata": "engine.orm",
    "StatusChange": "engine.runtime.changes",
    "StatusEnum": "engine.statuses",
    "UnknownStatus": "engine.statuses",
    "Hook": "engine.runtime.hooks",
    "SkipReason": "engine.runtime.hooks",
    "Veto": "engine.runtime.hooks",
    "WorkRun": "engine.runtime.hooks",
    "emit": "engine.runtime.emitting",
    "ArchiveSettings": "engine.archive.settings",
    "Redactor": "engine.redaction",
    "Settings": "engine.settings",
    "make_async_engine": "engine.db",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    # The app object and bound models
    "Hook",
    "SkipReason",
    "StatusChange",
    "StatusEnum",
    "StatusType",
    "Stateful",
    "Statewright",
    "UnknownStatus",
    "Veto",
    "WorkRun",
    "emit",
    "metadata",
    # Apps on AsyncSession
    "make_async_engine",
    # Configuration
    "Settings",
    # Loading machines
    "CheckedFile",
    "MachineSpec",
    "check_file",
    "check_text",
    "load_spec",
    "load_specs",
    # Diagnostics
    "Diagnostic",
    "Location",
    "Severity",
    # Archiving
    "ArchiveSettings",
    # Masking secrets
    "Redactor",
    # Errors
    "ArchiveCorrupt",
    "ArchiveError",
    "ArchiveUnavailable",
    "BrokerUnavailable",
    "ConcurrencyError",
    "ConfigurationError",
    "DatabaseUnavailable",
    "DefinitionError",
    "DotUnavailableError",
    "EmitOutsideMove",
    "EndpointError",
    "EndpointFailed",
    "ExpressionError",
    "GuardRejected",
    "GuardUndecidable",
    "HandlerTimedOut",
    "MissingDependency",
    "NoDefibrillation",
    "NotBoundError",
    "NotTouchable",
    "ObjectKeyError",
    "PlaceholderRefused",
    "ResponseTooLarge",
    "RetryRefused",
    "StaleStatus",
    "StatewrightError",
    "StatusAssignmentError",
    "StatusColumnError",
    "TransitionError",
    "TransitionNotAllowed",
    "UndeclaredEventError",
    "UnknownStatusError",
    "UnknownWork",
    "WorkError",
    "WriteConflict",
]
