"""Statewright: statuses of business objects, described in YAML.

Stages, left to right: ``engine.spec`` reads and checks machine files; ``engine.diagrams`` draws
them; ``engine.cli`` is the ``statewright`` command.
"""

from engine.errors import DefinitionError, StatewrightError
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

__all__ = [
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
    # Errors
    "DefinitionError",
    "StatewrightError",
]
