"""Output formatters for ``statewright lint``: text, json, github and sarif (``REPORTER_BY_NAME``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from engine.cli.results import MAX_DIAGNOSTICS_PER_FILE, LintResult
from engine.spec import RULES_BY_CODE, Diagnostic, Severity

Reporter = Callable[[Sequence[LintResult]], str]


def _all(results: Sequence[LintResult]) -> list[Diagnostic]:
    return [diagnostic for result in results for diagnostic in result.diagnostics]


def _summary(results: Sequence[LintResult]) -> str:
    found = sum(result.found for result in results)
    files = len(results)
    noun = "file" if files == 1 else "files"
    if not found:
        return f"All {files} machine {noun} are clean." if files != 1 else "1 machine file is clean."
    dirty = sum(1 for result in results if result.found)
    omitted = sum(result.omitted for result in results)
    unshown = f" ({omitted} not shown)" if omitted else ""
    return f"Found {found} problem{'s' if found != 1 else ''}{unshown} in {dirty} of {files} {noun}."


def omitted_message(result: LintResult) -> str:
    """What every format says about a file whose problems were cut at ``MAX_DIAGNOSTICS_PER_FILE``.

    >>> omitted_message(LintResult("a.yaml", None, (), omitted=5))
    '... and 5 more problems in this file, not shown (at most 100 are reported per file).'
    """
    noun = "problem" if result.omitted == 1 else "problems"
    return (
        f"... and {result.omitted} more {noun} in this file, not shown (at most {MAX_DIAGNOSTICS_PER_FILE} "
        "are reported per file)."
    )


def report_text(results: Sequence[LintResult]) -> str:
    """``PATH:LINE:COL: CODE message`` per problem, ``PATH: ... and N more`` after a capped file, then a summary."""
    lines: list[str] = []
    for result in results:
        lines.extend(diagnostic.render() for diagnostic in result.diagnostics)
        if result.omitted:
            lines.append(f"{result.path}: {omitted_message(result)}")
    lines.append(_summary(results))
    return "\n".join(lines)


def report_json(results: Sequence[LintResult]) -> str:
    """A JSON document: every file with its status and problem counts (``omitted``: found, not listed), and
    every reported diagnostic with its location."""
    document = {
        "files": [
            {
                "path": result.path,
                "ok": not result.found,
                "machine": result.machine,
                "problems": result.found,
                "omitted": result.omitted,
            }
            for result in results
        ],
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
    """GitHub Actions workflow commands: one annotation per problem, a notice per file with problems not shown."""
    lines = []
    for d in _all(results):
        level = "warning" if d.severity is Severity.WARNING else "error"
        props = (
            f"file={_escape_property(d.location.file)},line={d.location.line},col={d.location.col},"
            f"title={_escape_property(f'{d.code} {d.rule.slug}')}"
        )
        lines.append(f"::{level} {props}::{_escape_data(d.message)}")
    for result in results:
        if result.omitted:
            props = f"file={_escape_property(result.path)},title={_escape_property('problems not shown')}"
            lines.append(f"::notice {props}::{_escape_data(omitted_message(result))}")
    lines.append(_summary(results))
    return "\n".join(lines)


def report_sarif(results: Sequence[LintResult]) -> str:
    """A SARIF 2.1.0 log for code-scanning tools; files with problems not shown get a notification each."""
    rules = [
        {
            "id": rule.code,
            "name": rule.slug,
            "shortDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": "warning" if rule.severity is Severity.WARNING else "error"},
        }
        for rule in RULES_BY_CODE.values()
    ]
    sarif_results: list[dict[str, Any]] = [
        {
            "ruleId": d.code,
            "level": "warning" if d.severity is Severity.WARNING else "error",
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": d.location.file},
                        "region": {"startLine": d.location.line, "startColumn": d.location.col},
                    }
                }
            ],
        }
        for d in _all(results)
    ]
    # Problems past the cap are not results; SARIF's place for what the tool tells about its own run is a
    # notification of the invocation.
    notes = [
        {
            "level": "note",
            "message": {"text": omitted_message(result)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": result.path}}}],
        }
        for result in results
        if result.omitted
    ]
    invocation = {"executionSuccessful": True, "toolExecutionNotifications": notes}
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "statewright", "rules": rules}},
                "invocations": [invocation],
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(log, indent=2)


#: Reporters by ``--format`` name.
REPORTER_BY_NAME: dict[str, Reporter] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
    "sarif": report_sarif,
}
