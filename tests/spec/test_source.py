"""Reading YAML: scalars keep their meaning, marks are kept, and hostile input is refused cleanly."""

from __future__ import annotations

import pytest

from engine.spec.source import MAX_DEPTH, read_source, resolve_plain_scalar


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("010", "010"),
        ("10", 10),
        ("-3", -3),
        ("0x1F", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("2024-01-01", "2024-01-01"),
        ("12:30", "12:30"),
    ],
)
def test_plain_scalars_follow_yaml_1_2_and_keep_leading_zeros_as_strings(text: str, value: object) -> None:
    assert resolve_plain_scalar(text) == value
    assert type(resolve_plain_scalar(text)) is type(value)


def test_quoted_scalars_are_always_strings() -> None:
    loaded = read_source("a: '10'\nb: \"true\"\nc: !!str 5\n", "f.yaml")
    assert loaded.data == {"a": "10", "b": "true", "c": "5"}


def test_locations_of_values_and_keys_are_one_based() -> None:
    loaded = read_source("top:\n  inner: [x, 'y']\n", "f.yaml")
    assert str(loaded.source_map.key(("top", "inner"))) == "f.yaml:2:3"
    assert str(loaded.source_map.value(("top", "inner", 1))) == "f.yaml:2:14"
    assert str(loaded.source_map.text(("top", "inner", 1))) == "f.yaml:2:15"


def test_duplicate_keys_are_reported_at_the_second_and_the_first_is_kept() -> None:
    loaded = read_source("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert loaded.data == {"a": 1, "b": 2}
    assert [(d.code, d.location.line) for d in loaded.diagnostics] == [("SW003", 3)]
    assert "first given at line 1" in loaded.diagnostics[0].message


def test_aliases_share_data_and_count_toward_the_size_limit() -> None:
    bomb = "a: &a [" + ",".join(["x"] * 50) + "]\n"
    for level in "bcdef":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ",".join([f"*{previous}"] * 50) + "]\n"
    loaded = read_source(bomb, "f.yaml")
    assert loaded.data is None
    assert [d.code for d in loaded.diagnostics] == ["SW005"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused_without_crashing(depth: int) -> None:
    """libyaml's own composer overflows the C stack here; the event reader must not."""
    loaded = read_source("[" * depth + "]" * depth, "f.yaml")
    assert [d.code for d in loaded.diagnostics] == ["SW005"]


def test_nesting_up_to_the_limit_is_accepted() -> None:
    loaded = read_source("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "f.yaml")
    assert loaded.diagnostics == ()


def test_a_recursive_alias_is_refused() -> None:
    loaded = read_source("a: &a [*a]\n", "f.yaml")
    assert [d.code for d in loaded.diagnostics] == ["SW004"]


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "? {a: 1}\n: 1\n", "a: &x [1]\n*x : 2\n"])
def test_collection_keys_are_refused(text: str) -> None:
    loaded = read_source(text, "f.yaml")
    assert "SW004" in [d.code for d in loaded.diagnostics]


def test_control_characters_are_located() -> None:
    loaded = read_source("a: 1\nb: \x07\n", "f.yaml")
    assert [(d.code, d.location.line, d.location.col) for d in loaded.diagnostics] == [("SW002", 2, 4)]


def test_an_error_at_the_end_of_a_file_without_final_newline_points_at_its_last_line() -> None:
    """libyaml marks the end of the stream on a line that does not exist."""
    loaded = read_source("a: 1\nb: {c: 2", "f.yaml")
    assert [(d.code, d.location.line, d.location.col) for d in loaded.diagnostics] == [("SW002", 2, 9)]


@pytest.mark.parametrize("brk", ["\r", "\x85", "\u2028"])
def test_lines_are_counted_as_yaml_counts_them(brk: str) -> None:
    loaded = read_source(f"a: 1{brk}a: 2", "f.yaml")
    assert [(d.code, d.location.line) for d in loaded.diagnostics] == [("SW003", 2)]


def test_a_lone_surrogate_is_a_located_error() -> None:
    loaded = read_source("a: 1\nb: \ud800", "f.yaml")
    assert [(d.code, d.location.line, d.location.col) for d in loaded.diagnostics] == [("SW002", 2, 4)]
