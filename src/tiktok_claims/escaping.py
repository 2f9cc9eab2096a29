"""Escaping of text that came from the data, for Markdown documents."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!&])")


def escape_markdown(text) -> str:
    """Escape Markdown and inline-HTML metacharacters in text that came from the data."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))
