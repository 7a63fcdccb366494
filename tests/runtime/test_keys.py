"""Object keys as text and back: text that cannot be a key of the model is an ``ObjectKeyError``."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Numeric, String, Table

from engine import ConfigurationError, ObjectKeyError, StatewrightError, StatusColumnError
from engine.orm.types import status_type_for
from engine.runtime.keys import format_key, parse_key

COMPOSITE = Table(
    "shipments", MetaData(), Column("warehouse", String, primary_key=True), Column("number", Integer, primary_key=True)
)
AMOUNTS = Table("amounts", MetaData(), Column("amount", Numeric, primary_key=True))


def test_a_composite_key_reads_back_the_parts_it_was_written_from() -> None:
    key = ("north,east 100%", 7)
    assert parse_key(format_key(key), list(COMPOSITE.primary_key)) == key


@pytest.mark.parametrize(
    ("text", "columns", "reason"),
    [
        pytest.param("north,7,8", COMPOSITE, "3 part(s) for a key of 2 column(s)", id="too many parts"),
        pytest.param("north", COMPOSITE, "1 part(s) for a key of 2 column(s)", id="too few parts"),
        pytest.param("north,seven", COMPOSITE, "'seven' is not a int (number)", id="not a number"),
        pytest.param("lots", AMOUNTS, "'lots' is not a Decimal (amount)", id="not a decimal"),
    ],
)
def test_text_that_cannot_be_a_key_is_an_object_key_error(text: str, columns: Table, reason: str) -> None:
    with pytest.raises(ObjectKeyError) as raised:
        parse_key(text, list(columns.primary_key))
    assert raised.value.text == text
    assert raised.value.reason == reason
    assert str(raised.value) == f"{text!r} is not an object key: {reason}"
    assert isinstance(raised.value, StatewrightError)
    assert isinstance(raised.value, ValueError), "callers that caught ValueError still do"


def test_a_status_column_of_another_type_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(StatusColumnError, match=r"^Doc\.status must be Integer, String or StatusType, not Float$"):
        status_type_for(Float(), "Doc.status")
    assert issubclass(StatusColumnError, ConfigurationError)
    assert issubclass(StatusColumnError, TypeError), "callers that caught TypeError still do"
