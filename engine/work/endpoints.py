"""Calling an endpoint: build the request from the machine file, send it with httpx, and describe
request and response for the history, with secrets masked."""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from engine.spec.model import EndpointSpec

#: Headers masked whether or not the machine file lists them.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
#: What a masked value is replaced with.
MASK = "***"
#: Longest response body kept in the history, in characters.
MAX_STORED_BODY = 64_000


class EndpointFailed(Exception):
    """Not an error of Statewright's: the endpoint answered with a status that means failure."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url} answered {response.status_code}")
        self.response = response


def fill_url(template: str, model: Any, context: Mapping[str, Any], base_url: str | None) -> str:
    """Fill ``{model.attr}`` / ``{context.key}`` placeholders with escaped path segments, then join a base URL.

    Raises:
        ValueError: A relative URL without a base URL, or a placeholder that cannot be filled.
    """
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            root, *path = field.split(".")
            value: Any = model if root == "model" else context
            for name in path:
                value = value[name] if isinstance(value, Mapping) else getattr(value, name)
            parts.append(quote(str(value), safe=""))
    url = "".join(parts)
    if url.startswith("/"):
        if not base_url:
            raise ValueError(f"URL {template!r} is a path, but no http_base_url was configured")
        url = urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))
    return url


def _masked_keys(value: Any, secret: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: MASK if str(k).lower() in secret else _masked_keys(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_keys(item, secret) for item in value]
    return value


def _masked_headers(headers: Iterable[tuple[str, str]], secret: frozenset[str]) -> dict[str, str]:
    return {name: MASK if name.lower() in secret or name.lower() in SECRET_HEADERS else value
            for name, value in headers}


def _masked_url(url: str, secret: frozenset[str]) -> str:
    parts = urlsplit(url)
    query = [(k, MASK if k.lower() in secret else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _body(content: bytes, content_type: str, secret: frozenset[str]) -> Any:
    if "json" in content_type:
        try:
            return _masked_keys(json.loads(content), secret)
        except ValueError:
            pass
    return content.decode("utf-8", errors="replace")[:MAX_STORED_BODY]


def describe_request(request: httpx.Request, endpoint: EndpointSpec) -> dict[str, Any]:
    """The request as the history keeps it: method, URL, headers and body, masked."""
    secret = frozenset(key.lower() for key in endpoint.redact)
    return {"method": request.method, "url": _masked_url(str(request.url), secret),
            "headers": _masked_headers(request.headers.multi_items(), secret),
            "body": _body(request.content, request.headers.get("content-type", ""), secret)}


def describe_response(response: httpx.Response, endpoint: EndpointSpec) -> dict[str, Any]:
    """The response as the history keeps it: status, headers, body (masked) and seconds taken."""
    secret = frozenset(key.lower() for key in endpoint.redact)
    return {"status": response.status_code, "headers": _masked_headers(response.headers.multi_items(), secret),
            "body": _body(response.content, response.headers.get("content-type", ""), secret),
            "elapsed": response.elapsed.total_seconds()}


def build_request(client: httpx.Client, endpoint: EndpointSpec, model: Any, *, body: Any, base_url: str | None,
                  idempotency_key: str, context: Mapping[str, Any]) -> httpx.Request:
    """The request an endpoint makes for one object."""
    headers = {**endpoint.headers, "Idempotency-Key": idempotency_key}
    url = fill_url(endpoint.url, model, context, base_url)
    if body is None:
        return client.build_request(endpoint.method, url, headers=headers)
    return client.build_request(endpoint.method, url, headers=headers, json=body)
