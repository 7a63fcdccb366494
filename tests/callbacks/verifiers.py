"""Dotted verifiers for the callback tests."""

from __future__ import annotations

from collections.abc import Mapping


def token_matches(headers: Mapping[str, str], body: bytes) -> bool:
    """Accept a delivery whose ``x-token`` header is ``let-me-in``."""
    return headers.get("x-token") == "let-me-in"


NOT_CALLABLE = 42
