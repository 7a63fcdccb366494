"""Output formatters for ``statewright lint``: text, json, github and sarif (``REPORTER_BY_NAME``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from engine.cli.results import LintResult
from engine.spec import RULES_BY_CODE, Diagnostic, Severity

Reporter = Callable[[Sequence[LintResult]], str]


def _all(results: Sequence[LintResult]) -> list[Diagnostic]:
    return [diagnostic for result in results for diagnostic in result.diagnostics]


def _summary(results: Sequence[LintResult]) -> str:
    problems = _all(results)
    files = len(results)
    noun = "file" if files == 1 else "files"
    if not problems:
        return f"All {files} machine {noun} are clean." if files != 1 else "1 machine file is clean."
    dirty = sum(1 for result in results if result.diagnostics)
    return f"Found {len(problems)} problem{'s' if len(problems) != 1 else ''} in {dirty} of {files} {noun}."


def report_text(results: Sequence[LintResult]) -> str:
    """``PATH:LINE:COL: CODE message`` per problem, then a summary line."""
    lines = [diagnostic.render() for diagnostic in _all(results)]
    lines.append(_summary(results))
    return "\n".join(lines)


def report_json(results: Sequence[LintResult]) -> str:
    """A JSON document: every file with its status, and every diagnostic with its location."""
    document = {
        "files": [{"path": result.path, "ok": not result.diagnostics, "machine": result.machine}
                  for result in results],
        "diagnostics": [
            {
                "file": d.location.file,
                "line": d.location.line,
                "col": d.location.col,
                "code": d.code,
                "rule": d.rule.slug,
                "severity": d.severity.value if d.severity else "error",
                "message": d.message,
            }
            for d in _all(results)
        ],
    }
    return json.dumps(document, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report_github(results: Sequence[LintResult]) -> str:
    """GitHub Actions workflow commands, one annotation per problem."""
    lines = []
    for d in _all(results):
        level = "warning" if d.severity is Severity.WARNING else "error"
        props = (f"file={_escape_property(d.location.file)},line={d.location.line},col={d.location.col},"
                 f"title={_escape_property(f'{d.code} {d.rule.slug}')}")
        lines.append(f"::{level} {props}::{_escape_data(d.message)}")
    lines.append(_summary(results))
    return "\n".join(lines)


def report_sarif(results: Sequence[LintResult]) -> str:
    """A SARIF 2.1.0 log for code-scanning tools."""
    rules = [
        {"id": rule.code, "name": rule.slug, "shortDescription": {"text": rule.summary},
         "defaultConfiguration": {"level": "warning" if rule.severity is Severity.WARNING else "error"}}
        for rule in RULES_BY_CODE.values()
    ]
    sarif_results: list[dict[str, Any]] = [
        {
            "ruleId": d.code,
            "level": "warning" if d.severity is Severity.WARNING else "error",
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": d.location.file},
                "region": {"startLine": d.location.line, "startColumn": d.location.col},
            }}],
        }
        for d in _all(results)
    ]
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "statewright", "rules": rules}}, "results": sarif_results}],
    }
    return json.dumps(log, indent=2)


#: Reporters by ``--format`` name.
REPORTER_BY_NAME: dict[str, Reporter] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
    "sarif": report_sarif,
}
