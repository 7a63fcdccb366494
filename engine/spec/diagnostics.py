"""Diagnostics: one located problem each, with a stable code documented in ``RULES``."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.spec.locations import Location


class Severity(enum.Enum):
    """How bad a problem is. Both make ``statewright lint`` exit with 1."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """A kind of problem: its stable code, a short slug and the one-line documentation.

    Args:
        code: Stable identifier such as ``SW201``.
        slug: Short kebab-case name.
        summary: One line saying what the rule catches and how to fix it.
        severity: Default severity.
    """

    code: str
    slug: str
    summary: str
    severity: Severity = Severity.ERROR


_RULE_LIST = [
    # The file itself.
    Rule("SW001", "unreadable-file", "The file could not be read (missing, unreadable or not UTF-8)."),
    Rule("SW002", "yaml-syntax", "The file is not valid YAML."),
    Rule("SW003", "duplicate-key", "A mapping repeats a key; YAML would silently keep the last one."),
    Rule(
        "SW004",
        "unsupported-yaml",
        "A YAML feature the format does not use: tags, merge keys, several documents, non-string keys.",
    ),
    Rule("SW005", "too-large", "The document nests too deeply or expands (through aliases) past the size limit."),
    Rule("SW006", "empty-file", "The file holds no machine."),
    # The shape, checked by schemas/machine.schema.json.
    Rule("SW101", "unknown-key", "A key the format does not define; check the spelling."),
    Rule("SW102", "missing-key", "A required key is missing."),
    Rule("SW103", "wrong-type", "A value has the wrong type (string, number, list, mapping...)."),
    Rule("SW104", "invalid-value", "A value is not one of the allowed values or is out of range."),
    Rule("SW105", "invalid-name", "A name is not lower-case letters, digits and underscores starting with a letter."),
    Rule("SW106", "invalid-path", "A dotted path is not of the form `package.module:attribute`."),
    Rule(
        "SW107",
        "invalid-duration",
        "A duration does not parse; write a number and a unit: 500ms, 30s, 10m, 2h, 1d, 1w (combinable: 1h30m).",
    ),
    Rule("SW108", "invalid-event", "An event name is not dotted lower-case words such as `document.queued`."),
    Rule("SW109", "invalid-color", "A color is not written `#RRGGBB`."),
    # References between parts of one machine.
    Rule("SW201", "unknown-state", "A state is named that `states` does not declare."),
    Rule("SW202", "unknown-guard", "A guard is named that `guards` does not declare."),
    Rule("SW203", "unknown-transition", "A reaction fires a transition the machine does not declare."),
    Rule("SW204", "duplicate-machine", "Two files declare the same machine name; names must be unique."),
    Rule(
        "SW205",
        "duplicate-binding",
        "Two machines drive the same model's status column (same `model` and "
        "`field`); a column can follow one machine only.",
    ),
    Rule(
        "SW207",
        "unknown-event",
        "A listener or reaction waits for an event of its own machine (`<machine>.…`) that no state emits and "
        "`emits:` does not list.",
        Severity.WARNING,
    ),
    # The graph.
    Rule("SW301", "duplicate-value", "Two states store the same value in the status column."),
    Rule("SW302", "mixed-values", "Some state values are integers and some strings; the column needs one type."),
    Rule("SW303", "duplicate-transition", "The same transition (name, source, target and guard) is declared twice."),
    Rule(
        "SW304",
        "ambiguous-transition",
        "Two unguarded transitions with one name leave the same state; add a guard or rename one.",
    ),
    Rule(
        "SW305",
        "shadowed-transition",
        "An unguarded transition comes before a guarded one with the same name "
        "from the same state, so the guarded one can never fire.",
        Severity.WARNING,
    ),
    Rule("SW306", "unreachable-state", "No transition, timeout or defibrillation leads from `initial` to the state."),
    Rule(
        "SW307",
        "dead-end-state",
        "A non-final state from which no final state can be reached "
        "(or, in a machine without final states, with no way out at all).",
    ),
    Rule(
        "SW308",
        "stuck-error-state",
        "A task's or endpoint's error state has no way out; add `defibrillate:` "
        "or a transition, or mark it `final: true`.",
    ),
    Rule("SW309", "illegal-step", "A task, endpoint or callback moves an object along a step no transition allows."),
    Rule(
        "SW310",
        "final-state-exit",
        "A final state has an outgoing transition, timeout or defibrillation.",
        Severity.WARNING,
    ),
    # Guard expressions and templates.
    Rule("SW401", "guard-syntax", "A guard expression is not valid expression syntax."),
    Rule(
        "SW402",
        "unsafe-guard",
        "A guard expression uses something the safe language forbids: calls, "
        "names other than model/context, attributes starting with `_`, comprehensions, lambdas.",
    ),
    Rule(
        "SW403", "url-template", "An endpoint URL template is malformed, or puts a placeholder in the scheme or host."
    ),
    # --resolve: importing what the file names.
    Rule("SW501", "import-failed", "A dotted path names a module that cannot be imported."),
    Rule("SW502", "missing-attribute", "A dotted path names an attribute its module does not have."),
    Rule(
        "SW503",
        "not-callable",
        "A guard, action, task, endpoint hook, listener, selector or callback hook is not callable.",
    ),
    Rule(
        "SW504",
        "bad-model",
        "The model is not a SQLAlchemy mapped class, has no such status column, or the "
        "column is not Integer or String.",
    ),
    # Callbacks (inbound webhooks).
    Rule("SW601", "bad-secret-name", "A callback's `secret_env` is not an environment variable name."),
    Rule("SW602", "duplicate-route", "Two callbacks of one machine answer on the same route."),
]

#: Every rule, by code.
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in _RULE_LIST}


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place.

    Args:
        code: A code from ``RULES_BY_CODE``.
        message: What was attempted, what was found, and the valid choices or the fix.
        location: Where the problem is.
        severity: Defaults to the rule's severity.
    """

    code: str
    message: str
    location: Location
    severity: Severity | None = None

    def __post_init__(self) -> None:
        if self.code not in RULES_BY_CODE:
            raise ValueError(f"unknown diagnostic code {self.code!r}")
        if self.severity is None:
            object.__setattr__(self, "severity", RULES_BY_CODE[self.code].severity)

    @property
    def rule(self) -> Rule:
        """The rule this diagnostic reports."""
        return RULES_BY_CODE[self.code]

    def render(self) -> str:
        """One line: ``PATH:LINE:COL: CODE message``."""
        return f"{self.location}: {self.code} {self.message}"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order by file, line, column, then code."""
        loc = self.location
        return (loc.file, loc.line, loc.col, self.code, self.message)
