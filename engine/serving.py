"""Serving an ASGI app (the admin page, the callbacks receiver) with uvicorn: listen first, then serve.

The socket is bound before anything is printed, so a port in use or a host that is no address is one
clear message instead of a login address pointing at someone else's server. Proxy headers are off:
uvicorn would otherwise believe ``X-Forwarded-For`` from loopback, and every forged address would get
a fresh login throttle. Behind a reverse proxy, all visitors therefore share the proxy's address.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.types import ASGIApp

#: Connections the socket queues before uvicorn accepts them (uvicorn's default).
BACKLOG = 2048


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (``port`` 0 picks a free one), ready for ``serve``.

    Raises:
        OSError: The address cannot be bound: the port is in use, the host is no address of this machine.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name, not 0: asyncio switches Nagle's algorithm off (TCP_NODELAY) only on sockets that
    # say they are TCP, and with it on every answer waited for the client's delayed ACK (40 ms on Linux).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)  # connections wait in the queue until uvicorn starts accepting them
    except OSError:
        sock.close()
        raise
    return sock


def build_server(asgi: ASGIApp, *, log_level: str = "WARNING") -> uvicorn.Server:
    """The uvicorn server ``statewright admin`` runs: logging at ``log_level``, client addresses as connected."""
    return uvicorn.Server(uvicorn.Config(asgi, log_level=log_level.lower(), proxy_headers=False))


def serve(asgi: ASGIApp, sock: socket.socket, *, log_level: str = "WARNING") -> None:
    """Serve ``asgi`` on the bound ``sock`` until interrupted, logging at ``log_level``."""
    with sock:
        build_server(asgi, log_level=log_level).run(sockets=[sock])
