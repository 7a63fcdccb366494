"""Calling an endpoint: build the request from the machine file, send it with httpx, and describe
request and response for the history, with secrets masked (``engine.redaction``)."""

from __future__ import annotations

import dataclasses
import string
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx

from engine.errors import ConfigurationError, EndpointFailed, PlaceholderRefused
from engine.redaction import Redactor, hide_password
from engine.spec.model import EndpointSpec
from engine.work.bodies import BodyLimits, read_limited, stored_body

#: Path segments refused in a placeholder's value: they would move the request to another path.
DOT_SEGMENTS = frozenset({".", ".."})
#: Times a placeholder value is percent-decoded when checked (a server may decode twice).
DECODE_ROUNDS = 3
#: Response headers dropped from the response the ``response`` hook receives: its body is already decoded.
DECODED_AWAY = frozenset({"content-encoding"})
#: Content type that makes a mapping from the ``payload`` hook a form body instead of JSON.
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class HttpSettings:
    """How endpoint calls are made.

    Args:
        base_url: Joined to endpoint URLs that are paths (``/documents/{model.id}``); checked by ``check_base_url``.
        transport: An httpx transport (tests pass ``httpx.MockTransport``); httpx's own by default.
        limits: How much of a body is read and stored.
    """

    base_url: str | None = None
    transport: httpx.BaseTransport | None = None
    limits: BodyLimits = dataclasses.field(default_factory=BodyLimits)


def check_base_url(base_url: str) -> str:
    """``base_url`` if it is an ``http(s)://`` URL with a host and, if given, a port from 1 to 65535.

    >>> check_base_url("https://api.example.com/v1")
    'https://api.example.com/v1'

    Raises:
        ConfigurationError: Naming what is wrong and the form to use.
    """
    shown = hide_password(base_url)
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError as wrong:  # a port that is not a number or beyond 65535
        raise ConfigurationError(
            f"HTTP base URL {shown!r} has a bad port ({wrong}); write it like https://host:8443/prefix."
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == 0:
        raise ConfigurationError(
            f"HTTP base URL {shown!r} is not an http:// or https:// URL with a host (and a "
            "port from 1 to 65535); write it like https://host or http://127.0.0.1:8080/prefix."
        )
    return base_url


def fill_url(template: str, model: Any, context: Mapping[str, Any], base_url: str | None, *, endpoint: str = "") -> str:
    """Fill ``{model.attr}`` / ``{context.key}`` placeholders with escaped path segments, then join a base URL.

    Raises:
        PlaceholderRefused: A value is ``None``, or in the path empty, ``.`` or ``..`` (also encoded).
        ConfigurationError: A relative URL without a base URL (also a ValueError).
        ValueError: A placeholder that cannot be filled.
    """
    parts: list[str] = []
    in_path = True
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        in_path = in_path and "?" not in literal and "#" not in literal
        if field is not None:
            root, *path = field.split(".")
            value: Any = model if root == "model" else context
            for name in path:
                value = value[name] if isinstance(value, Mapping) else getattr(value, name)
            parts.append(_segment(field, value, in_path=in_path, endpoint=endpoint))
    url = "".join(parts)
    if url.startswith("/"):
        if not base_url:
            raise ConfigurationError(
                f"URL {template!r} is a path, but no http_base_url was configured; give "
                "Statewright(http_base_url=...) or statewright worker --http-base-url, or write "
                "the full URL in the machine file."
            )
        url = urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))
    return url


def _segment(field: str, value: Any, *, in_path: bool, endpoint: str) -> str:
    """One placeholder's value, escaped so that it stays inside its path segment or query value."""
    if value is None:
        raise PlaceholderRefused(
            f"endpoint {endpoint!r}: placeholder {{{field}}} has no value (None); the URL "
            "would name a path or query nobody meant. Give the object a value, or make the "
            "transition's guard wait for one.",
            endpoint=endpoint,
            placeholder=field,
        )
    text = str(value)
    if in_path and _changes_path(text):
        raise PlaceholderRefused(
            f"endpoint {endpoint!r}: placeholder {{{field}}} is {text[:20]!r}, which would move the request to "
            "another path. Empty values and '.' or '..' (also percent-encoded or full-width) are refused in the "
            "path; fix the object's data or the URL template.",
            endpoint=endpoint,
            placeholder=field,
        )
    return quote(text, safe="")


def _changes_path(text: str) -> bool:
    """Whether a value, decoded the ways a server might decode it, is or holds a dot segment, or is empty."""
    decoded = text
    for _ in range(DECODE_ROUNDS):
        decoded = unquote(decoded)
    folded = unicodedata.normalize("NFKC", decoded)
    segments = folded.replace("\\", "/").split("/")
    return folded == "" or any(segment in DOT_SEGMENTS for segment in segments)


def build_request(
    client: httpx.Client,
    endpoint: EndpointSpec,
    model: Any,
    *,
    body: Any,
    base_url: str | None,
    idempotency_key: str,
    context: Mapping[str, Any],
) -> httpx.Request:
    """The request an endpoint makes for one object.

    The ``payload`` hook's result is the body: ``str`` or ``bytes`` as they are, a mapping as a form
    when the endpoint's headers say ``Content-Type: application/x-www-form-urlencoded``, else JSON.

    Raises:
        PlaceholderRefused: See ``fill_url``.
    """
    headers = {**endpoint.headers, "Idempotency-Key": idempotency_key}
    url = fill_url(endpoint.url, model, context, base_url, endpoint=endpoint.name)
    if body is None:
        return client.build_request(endpoint.method, url, headers=headers)
    if isinstance(body, str | bytes):
        return client.build_request(endpoint.method, url, headers=headers, content=body)
    content_type = next((v for k, v in endpoint.headers.items() if k.lower() == "content-type"), "")
    if isinstance(body, Mapping) and content_type.split(";")[0].strip().lower() == FORM:
        return client.build_request(endpoint.method, url, headers=headers, data=dict(body))
    return client.build_request(endpoint.method, url, headers=headers, json=body)


def send(
    client: httpx.Client, request: httpx.Request, *, endpoint: EndpointSpec, limit: int, redactor: Redactor
) -> httpx.Response:
    """Send the request and read at most ``limit`` bytes of the answer.

    Returns:
        A fully read response (its body decoded, so without ``Content-Encoding``) whose ``elapsed`` is
        the time from sending to the end of the body, measured here (transports such as
        ``httpx.MockTransport`` set none).

    Raises:
        ResponseTooLarge: The body is longer than ``limit``.
        httpx.HTTPError: The transport failed (connection, timeout).
    """
    started = time.monotonic()
    streamed = client.send(request, stream=True)
    try:
        body = read_limited(streamed, limit=limit, endpoint=endpoint.name, what=masked_request_line(request, redactor))
    finally:
        streamed.close()
    headers = [(name, value) for name, value in streamed.headers.multi_items() if name.lower() not in DECODED_AWAY]
    response = httpx.Response(
        streamed.status_code, headers=headers, content=body, request=request, extensions=streamed.extensions
    )
    response.elapsed = timedelta(seconds=time.monotonic() - started)
    return response


def masked_request_line(request: httpx.Request, redactor: Redactor) -> str:
    """``METHOD URL`` with the URL's credentials and secret query values masked."""
    return f"{request.method} {redactor.text(str(request.url))}"


def failure_of(response: httpx.Response, endpoint: EndpointSpec, redactor: Redactor) -> EndpointFailed | None:
    """``None`` when the answer is success (2xx; 3xx only with ``accept_redirects``), else the failure to record."""
    status = response.status_code
    if 200 <= status < 300 or (endpoint.accept_redirects and 300 <= status < 400):
        return None
    message = f"{masked_request_line(response.request, redactor)} answered {status}"
    if 300 <= status < 400:
        location = redactor.text(response.headers.get("location", "nowhere"))
        message += (
            f" (a redirect to {location}, which is not followed). Fix the endpoint's URL, or set "
            "`accept_redirects: true` on the endpoint if this answer means success."
        )
    return EndpointFailed(response, message)


def describe_request(request: httpx.Request, redactor: Redactor, *, limit: int) -> dict[str, Any]:
    """The request as the history keeps it: method, URL, headers and body, masked; the body cut to ``limit``."""
    return {
        "method": request.method,
        "url": redactor.text(str(request.url)),
        "headers": redactor.headers(request.headers.multi_items()),
        **stored_body(request.content, request.headers.get("content-type", ""), redactor, limit=limit),
    }


def describe_response(response: httpx.Response, redactor: Redactor, *, limit: int) -> dict[str, Any]:
    """The response as the history keeps it: status, headers, body (masked, cut to ``limit``), seconds taken."""
    return {
        "status": response.status_code,
        "headers": redactor.headers(response.headers.multi_items()),
        **stored_body(response.content, response.headers.get("content-type", ""), redactor, limit=limit),
        "elapsed": response.elapsed.total_seconds(),
    }
