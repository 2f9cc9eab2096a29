"""The one column specification (``data/schema.py``): every column of the file, its kind and
its categories, and the plain description of a valid value that error messages quote."""

from __future__ import annotations

import pytest

from tiktok_claims import config
from tiktok_claims.data.schema import SCHEMA, SPEC_BY_NAME, ColumnSpec

KINDS = {
    config.ID_COLUMN: "identifier",
    config.VIDEO_ID: "identifier",
    config.CLAIM: "category",
    config.VERIFIED: "category",
    config.BAN: "category",
    config.DURATION: "duration",
    config.TRANSCRIPT: "text",
    **dict.fromkeys(config.COUNT_COLUMNS, "count"),
}


def test_schema_lists_every_column_once_in_the_file_order_with_its_kind():
    assert [spec.name for spec in SCHEMA] == list(config.COLUMNS)
    assert {spec.name: spec.kind for spec in SCHEMA} == KINDS
    assert SPEC_BY_NAME == {spec.name: spec for spec in SCHEMA}


def test_categories_are_the_configured_levels_in_order_and_only_for_categories():
    for spec in SCHEMA:
        assert spec.categories == config.CATEGORIES.get(spec.name, ())
        assert bool(spec.categories) == (spec.kind == "category")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (ColumnSpec("a", "identifier"), "a whole number"),
        (ColumnSpec("a", "count"), "a non-negative whole number (e.g. 343296 or 343296.0)"),
        (ColumnSpec("a", "duration"), "a positive number of seconds"),
        (ColumnSpec("a", "category", ("x", "y'z")), "one of 'x', \"y'z\""),
        (ColumnSpec("a", "text"), "text"),
    ],
    ids=["identifier", "count", "duration", "category", "text"],
)
def test_expected_value_is_described_per_kind(spec, expected):
    assert spec.expected == expected


def test_the_ban_status_description_names_its_three_levels():
    assert SPEC_BY_NAME[config.BAN].expected == "one of 'active', 'under review', 'banned'"
