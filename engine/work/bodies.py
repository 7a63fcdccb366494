"""Request and response bodies: how much of a response is read, and how much of a body the history keeps.

Two limits, both in bytes, each a ``Statewright(...)`` argument or an environment variable:

- ``max_response_body``: reading a response stops there, and the call fails with ``ResponseTooLarge``
  (the body is never held whole in memory);
- ``max_stored_body``: request and response bodies in the history are cut there (after masking; a mask
  cut in two is completed, so a few bytes more may be kept); the payload then says
  ``"body_truncated": true`` and ``"body_bytes"``, the size before cutting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from engine.errors import ConfigurationError, ResponseTooLarge
from engine.redaction import Redactor
from engine.settings import DEFAULT_MAX_RESPONSE_BODY, DEFAULT_MAX_STORED_BODY, read

#: Environment variables read when the matching ``Statewright`` argument is not given (see ``engine.settings``).
MAX_STORED_BODY_ENV = "STATEWRIGHT_MAX_STORED_BODY"
MAX_RESPONSE_BODY_ENV = "STATEWRIGHT_MAX_RESPONSE_BODY"


@dataclass(frozen=True)
class BodyLimits:
    """How much of a body is read and stored, in bytes; see the module docstring."""

    max_stored_body: int = DEFAULT_MAX_STORED_BODY
    max_response_body: int = DEFAULT_MAX_RESPONSE_BODY

    @classmethod
    def resolve(
        cls,
        *,
        max_stored_body: int | None = None,
        max_response_body: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> BodyLimits:
        """The limits given, else from the environment, else the defaults.

        Raises:
            ConfigurationError: A limit is not a positive whole number of bytes.
        """
        stored = read("max_stored_body", environ) if max_stored_body is None else max_stored_body
        response = read("max_response_body", environ) if max_response_body is None else max_response_body
        return cls(
            _limit("max_stored_body", stored, DEFAULT_MAX_STORED_BODY, MAX_STORED_BODY_ENV),
            _limit("max_response_body", response, DEFAULT_MAX_RESPONSE_BODY, MAX_RESPONSE_BODY_ENV),
        )


def _limit(name: str, given: object, default: int, variable: str) -> int:
    try:
        value = int(str(given).replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(
            f"{name} (argument or ${variable}) must be a positive number of bytes; got {given!r}. Default: {default}."
        )
    return value


def read_limited(response: httpx.Response, *, limit: int, endpoint: str, what: str) -> bytes:
    """Read a streamed response's (decoded) body, failing as soon as it passes ``limit`` bytes.

    Args:
        response: A response from ``client.send(request, stream=True)``; the caller closes it.
        limit: The most bytes to hold.
        endpoint: The endpoint's name, for the error.
        what: The request (masked), for the error.

    Raises:
        ResponseTooLarge: The body is longer than ``limit``.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(
                f"endpoint {endpoint!r}: {what} answered {response.status_code} with a body longer than {limit} "
                f"bytes; reading stopped there. Raise max_response_body (Statewright(max_response_body=...) or "
                f"${MAX_RESPONSE_BODY_ENV}) or ask the service for less.",
                endpoint=endpoint,
                limit=limit,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def stored_body(content: bytes, content_type: str, redactor: Redactor, *, limit: int) -> dict[str, Any]:
    """A body as the history keeps it: masked, and cut to ``limit`` bytes with its original size said.

    JSON within the limit is kept as JSON (secret keys masked at any depth); anything else, and JSON
    past the limit, is kept as text with the text rules applied.
    """
    if len(content) <= limit:
        if "json" in content_type.lower() and content:
            try:
                return {"body": redactor.value(json.loads(content))}
            except ValueError:
                pass  # not JSON after all: kept as text below
        return {"body": redactor.text(content.decode("utf-8", errors="replace"))}
    # Mask a margin past the cut too, so a secret that straddles the cut is recognised whole.
    head = content[: 2 * limit].decode("utf-8", errors="ignore")
    kept = redactor.text(head).encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    # The cut may fall inside a mask; masking once more makes the text what any later pass would make it.
    kept = redactor.text(kept)
    return {"body": kept, "body_truncated": True, "body_bytes": len(content)}
