"""The parcel machine's action and listener."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from engine import emit
from examples.parcels.models import Parcel

log = logging.getLogger(__name__)


def weigh(parcel: Parcel, context: Mapping[str, Any]) -> None:
    """Keep the weight and tell listeners: the event is written in this move's transaction."""
    parcel.grams = int(context["grams"])
    emit("parcel.weighed", {"grams": parcel.grams})


def log_weight(message: Mapping[str, Any]) -> None:
    """Listener of ``parcel.weighed``: the message carries the emitted payload."""
    log.info("parcel %s weighs %s g", message["model_id"], message["payload"]["grams"])
