"""Machine definitions: YAML text to a validated, immutable ``MachineSpec``, with located diagnostics.

Pure: nothing here touches a database or a broker, so ``statewright lint`` needs neither.
"""

from engine.spec.diagnostics import RULES_BY_CODE, Diagnostic, Rule, Severity
from engine.spec.loader import CheckedFile, check_file, check_text, find_machine_files, load_spec, load_specs
from engine.spec.locations import Location
from engine.spec.model import MachineSpec

__all__ = [
    "RULES_BY_CODE",
    "CheckedFile",
    "Diagnostic",
    "Location",
    "MachineSpec",
    "Rule",
    "Severity",
    "check_file",
    "check_text",
    "find_machine_files",
    "load_spec",
    "load_specs",
]
