"""Inbound callbacks: a third party calls back, signed, when its side of an object's work is done.

``verification`` checks a delivery's signature without touching the database, ``receiving`` applies a
verified delivery in one transaction, and ``app`` is the ASGI app (``Statewright.callbacks_asgi()``).
"""

from engine.callbacks.receiving import InboundRequest

__all__ = ["InboundRequest"]
