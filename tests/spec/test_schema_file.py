"""schemas/machine.schema.json stands on its own: draft-07, closed objects, and check-jsonschema agrees with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from engine.spec.schema import inline_references, load_schema, schema_path
from tests.conftest import CASES, MACHINES, ROOT

SCHEMA_FILE = ROOT / "schemas" / "machine.schema.json"


def _objects(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{path}/{index}")


def test_the_schema_is_valid_draft_07() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)


def test_every_object_is_closed_except_free_form_metadata() -> None:
    open_objects = [path for path, node in _objects(load_schema()) if node.get("additionalProperties") is not False]
    assert open_objects == ["#/definitions/metadata"]


def test_the_engine_reads_the_schema_at_the_top_of_the_repository() -> None:
    assert schema_path().resolve() == SCHEMA_FILE.resolve()


def test_inlining_references_keeps_only_the_recursive_ones() -> None:
    inlined = json.dumps({k: v for k, v in inline_references(load_schema()).items() if k != "definitions"})
    assert inlined.count('"$ref"') == inlined.count('"#/definitions/guard"') > 0


def _check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool is not None, "check-jsonschema is a dev dependency"
    return subprocess.run(
        [tool, "--schemafile", str(SCHEMA_FILE), *map(str, files)], capture_output=True, text=True, check=False
    )


def test_check_jsonschema_accepts_the_shipped_and_valid_machines() -> None:
    done = _check_jsonschema(*MACHINES.glob("*.yaml"), *(CASES / "valid").glob("*.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_jsonschema_rejects_what_our_schema_stage_rejects() -> None:
    done = _check_jsonschema(CASES / "invalid" / "schema_errors.yaml")
    assert done.returncode == 1
    assert "statse" in done.stdout
