"""The one column specification every reader and validator uses."""

from __future__ import annotations

from dataclasses import dataclass

from .. import config


@dataclass(frozen=True)
class ColumnSpec:
    """What one column must hold.

    ``kind`` is one of ``"identifier"`` (whole number), ``"category"`` (one of
    ``categories``), ``"count"`` (non-negative whole number), ``"duration"``
    (positive number) or ``"text"``.
    """

    name: str
    kind: str
    categories: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        """A plain description of a valid value, for error messages."""
        if self.kind == "identifier":
            return "a whole number"
        if self.kind == "count":
            return "a non-negative whole number (e.g. 343296 or 343296.0)"
        if self.kind == "duration":
            return "a positive number of seconds"
        if self.kind == "category":
            return "one of " + ", ".join(repr(c) for c in self.categories)
        return "text"


SCHEMA: tuple[ColumnSpec, ...] = tuple(
    ColumnSpec(name, kind, config.CATEGORIES.get(name, ()))
    for name, kind in (
        (config.ID_COLUMN, "identifier"),
        (config.CLAIM, "category"),
        (config.VIDEO_ID, "identifier"),
        (config.DURATION, "duration"),
        (config.TRANSCRIPT, "text"),
        (config.VERIFIED, "category"),
        (config.BAN, "category"),
        *((name, "count") for name in config.COUNT_COLUMNS),
    )
)

SPEC_BY_NAME: dict[str, ColumnSpec] = {spec.name: spec for spec in SCHEMA}
