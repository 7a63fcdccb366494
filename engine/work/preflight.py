"""What a worker checks before it consumes anything: problems that would fail every message of some work."""

from __future__ import annotations

from collections.abc import Iterable

from engine.spec.model import MachineSpec
from engine.spec.resolve import resolve_spec


def startup_problems(specs: Iterable[MachineSpec], *, http_base_url: str | None) -> list[str]:
    """One line per problem: endpoint URLs that are paths with no base URL, dotted paths that do not import.

    Args:
        specs: The machines the worker will run.
        http_base_url: The base URL endpoint paths are joined to, if any.
    """
    problems: list[str] = []
    for spec in specs:
        problems += [diagnostic.render() for diagnostic in resolve_spec(spec)]
        if http_base_url:
            continue
        for endpoint in spec.endpoints.values():
            if endpoint.url.startswith("/"):
                problems.append(f"{endpoint.origin.text('url')}: endpoint {endpoint.name!r} of machine "
                                f"{spec.name!r} calls a path ({endpoint.url!r}) but no HTTP base URL is set; "
                                "give --http-base-url https://host (or $STATEWRIGHT_HTTP_BASE_URL).")
    return problems
