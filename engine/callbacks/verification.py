"""Decide whether a callback delivery is genuine: HMAC-SHA256 signatures (GitHub and Stripe styles) or a callable.

Pure and database-free, so a forged delivery is refused before any row is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.errors import ConfigurationError
from engine.settings import read_named
from engine.spec.model import CallableVerifier, CallbackSpec, HmacVerifier
from engine.spec.resolve import Unresolved, import_object

log = logging.getLogger(__name__)

#: Digits a signed Unix timestamp may have (seconds until the year 33658).
MAX_TIMESTAMP_DIGITS = 12

#: Signature of a dotted verifier: lower-cased request headers and the raw body → genuine or not.
VerifyCallable = Callable[[Mapping[str, str], bytes], bool]


class SignatureRefused(Exception):
    """Not an error: a delivery's signature did not verify; ``reason`` says why (never the secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class HmacCheck:
    """An ``HmacVerifier`` with its secret read from the environment.

    Args:
        spec: The verifier from the machine file.
        secret: The shared secret's bytes (kept out of ``repr``).
    """

    spec: HmacVerifier
    secret: bytes = field(repr=False)

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        """Return if the delivery is signed with the secret; raise ``SignatureRefused`` otherwise.

        Args:
            headers: Request headers, names lower-cased.
            body: The raw request body.
            now: The current Unix time (for tests); the clock by default.

        Raises:
            SignatureRefused: A header is missing or malformed, the timestamp is stale, or no signature matches.
        """
        timestamp, signatures = self._read(headers)
        if timestamp is not None:
            self._check_fresh(timestamp, time.time() if now is None else now)
        expected = self._signature(body, timestamp)
        # Compare against every candidate (Stripe may send several v1 during secret rotation), in constant time.
        matches = [hmac.compare_digest(expected, candidate.encode("ascii", "replace")) for candidate in signatures]
        if not any(matches):
            raise SignatureRefused("the signature does not match the body")

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers a sender would add to ``body`` (for tests, demos and your own senders).

        Args:
            body: The raw body.
            timestamp: Unix seconds to sign; the clock when the style needs one and none is given.

        Returns:
            Header name → value.
        """
        spec = self.spec
        if spec.format == "stripe" or spec.timestamp_header is not None:
            timestamp = int(time.time()) if timestamp is None else timestamp
        signature = self._signature(body, None if timestamp is None else str(timestamp)).decode("ascii")
        if spec.format == "stripe":
            return {spec.header: f"t={timestamp},v1={signature}"}
        headers = {spec.header: spec.prefix + signature}
        if spec.timestamp_header is not None:
            headers[spec.timestamp_header] = str(timestamp)
        return headers

    def _read(self, headers: Mapping[str, str]) -> tuple[str | None, list[str]]:
        spec = self.spec
        value = headers.get(spec.header.lower())
        if not value:
            raise SignatureRefused(f"the {spec.header} header is missing")
        if spec.format == "stripe":
            return _read_stripe(value, spec.header)
        if not value.startswith(spec.prefix):
            raise SignatureRefused(f"the {spec.header} header does not start with {spec.prefix!r}")
        timestamp = None
        if spec.timestamp_header is not None:
            timestamp = headers.get(spec.timestamp_header.lower())
            if not timestamp:
                raise SignatureRefused(f"the {spec.timestamp_header} header is missing")
        return timestamp, [value[len(spec.prefix) :]]

    def _check_fresh(self, timestamp: str, now: float) -> None:
        # ASCII digits only, and few: str.isdigit() also takes "²" and "١٢", which int() then refuses, and
        # int() refuses more than 4300 digits; either would have been an error answer instead of a 401.
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
            raise SignatureRefused("the signed timestamp is not Unix seconds")
        if abs(now - int(timestamp)) > self.spec.tolerance.total_seconds():
            raise SignatureRefused("the signed timestamp is outside the tolerance")

    def _signature(self, body: bytes, timestamp: str | None) -> bytes:
        message = body if timestamp is None else timestamp.encode("ascii") + b"." + body
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return digest.hex().encode("ascii") if self.spec.encoding == "hex" else base64.b64encode(digest)


def _read_stripe(value: str, header: str) -> tuple[str | None, list[str]]:
    """``t=<ts>,v1=<sig>[,v1=<sig>…]``: the timestamp and every v1 signature (other schemes are ignored)."""
    timestamp, signatures = None, []
    for item in value.split(","):
        key, _, part = item.strip().partition("=")
        if key == "t":
            timestamp = part
        elif key == "v1":
            signatures.append(part)
    if timestamp is None or not signatures:
        raise SignatureRefused(f"the {header} header has no t= timestamp or no v1= signature")
    return timestamp, signatures


@dataclass(frozen=True)
class CallableCheck:
    """A dotted verifier, imported once."""

    spec: CallableVerifier
    function: VerifyCallable

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        """Raise ``SignatureRefused`` unless the callable returns ``True`` (``now`` is unused).

        A verifier that raises refuses too (fail closed), with its exception logged: a sender's malformed
        delivery must not get past it, nor turn into a server error.
        """
        try:
            genuine = self.function(headers, body)
        except Exception:  # noqa: BLE001 - whatever the verifier's failure, the delivery is not proven genuine
            log.exception("callback verifier %s raised; the delivery is refused", self.spec.run)
            raise SignatureRefused(f"the verifier {self.spec.run} failed") from None
        if genuine is not True:
            raise SignatureRefused(f"the verifier {self.spec.run} refused the delivery")


Check = HmacCheck | CallableCheck


def build_check(callback: CallbackSpec, *, environ: Mapping[str, str] | None = None) -> Check:
    """Prepare a callback's verifier: read its secret or import its callable.

    Args:
        callback: The callback from the machine file.
        environ: Where secrets are read; the process environment by default.

    Returns:
        A check with a ``verify(headers, body)`` method.

    Raises:
        ConfigurationError: The secret's environment variable is unset or empty, or the callable does not import.
    """
    spec = callback.verify
    if isinstance(spec, CallableVerifier):
        return CallableCheck(spec, _import_verifier(callback, spec))
    secret = read_named(spec.secret_env, environ)
    if not secret:
        raise ConfigurationError(
            f"Callback {callback.name!r} needs its signing secret in the environment variable "
            f"{spec.secret_env}, which is not set (or empty). Set it to the secret the sender signs with."
        )
    return HmacCheck(spec, secret.encode("utf-8"))


def _import_verifier(callback: CallbackSpec, spec: CallableVerifier) -> VerifyCallable:
    try:
        function = import_object(spec.run, callback.origin.text("verify", "run"))
    except Unresolved as unresolved:
        raise ConfigurationError(f"Verifier of callback {callback.name!r}: {unresolved.diagnostic.message}") from None
    if not callable(function):
        raise ConfigurationError(f"Verifier of callback {callback.name!r}: {spec.run!r} is not callable.")
    return function  # type: ignore[no-any-return]
