"""Signatures are checked against the published examples of GitHub and Stripe's scheme, before any database work."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from engine.callbacks.verification import CallableCheck, HmacCheck, SignatureRefused, build_check
from engine.errors import ConfigurationError
from engine.spec.model import CallableVerifier, CallbackSpec, HmacVerifier, Steps

STEPS = Steps("waiting", None, "done", "failed")
GITHUB = HmacVerifier(secret_env="GITHUB_SECRET", header="X-Hub-Signature-256", prefix="sha256=")
STRIPE = HmacVerifier(secret_env="STRIPE_SECRET", header="Stripe-Signature", format="stripe")
NOW = 1_700_000_000


def callback(verify: HmacVerifier | CallableVerifier) -> CallbackSpec:
    return CallbackSpec(name="cb", route="cb", steps=STEPS, verify=verify)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_githubs_published_example_verifies() -> None:
    """docs.github.com, "Validating webhook deliveries": this secret and payload give this header."""
    check = build_check(callback(GITHUB), environ={"GITHUB_SECRET": "It's a Secret to Everybody"})
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    check.verify({"x-hub-signature-256": header}, b"Hello, World!")
    assert check.sign(b"Hello, World!") == {"X-Hub-Signature-256": header}


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
         b"Hello, World?", "does not match"),
        ({"x-hub-signature-256": "sha256=" + "0" * 64}, b"Hello, World!", "does not match"),
        ({"x-hub-signature-256": "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
         b"Hello, World!", "does not start with"),
        ({}, b"Hello, World!", "missing"),
        ({"x-hub-signature-256": "sha256=ünïcode"}, b"Hello, World!", "does not match"),
    ],
    ids=["tampered body", "wrong signature", "no prefix", "no header", "non-ascii header"],
)  # fmt: skip
def test_a_github_style_delivery_that_does_not_match_is_refused(
    headers: dict[str, str], body: bytes, reason: str
) -> None:
    check = build_check(callback(GITHUB), environ={"GITHUB_SECRET": "It's a Secret to Everybody"})
    with pytest.raises(SignatureRefused, match=reason):
        check.verify(headers, body)


def test_a_wrong_secret_is_refused() -> None:
    signed = build_check(callback(GITHUB), environ={"GITHUB_SECRET": "other"}).sign(b"x")
    check = build_check(callback(GITHUB), environ={"GITHUB_SECRET": "It's a Secret to Everybody"})
    with pytest.raises(SignatureRefused, match="does not match"):
        check.verify(lower(signed), b"x")


def stripe_header(secret: str, body: bytes, timestamp: int) -> str:
    """Stripe's documented scheme, computed independently: HMAC-SHA256(secret, f"{t}.{body}"), hex, as v1."""
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def test_a_stripe_style_delivery_verifies_with_any_of_its_v1_signatures() -> None:
    check = build_check(callback(STRIPE), environ={"STRIPE_SECRET": "whsec_test"})
    body = b'{"id": "evt_1", "type": "charge.succeeded"}'
    good = stripe_header("whsec_test", body, NOW)
    rotated = f"{good},v1={'a' * 64},v0=ignored"
    for header in (good, rotated, f"t={NOW},v1={'b' * 64},{good.split(',')[1]}"):
        check.verify({"stripe-signature": header}, body, now=NOW + 299)
    assert check.sign(body, timestamp=NOW) == {"Stripe-Signature": good}


@pytest.mark.parametrize(
    ("header", "now", "reason"),
    [
        ("good", NOW + 301, "outside the tolerance"),
        ("good", NOW - 301, "outside the tolerance"),
        ("tampered", NOW, "does not match"),
        (f"v1={'a' * 64}", NOW, "no t= timestamp"),
        (f"t={NOW}", NOW, "no v1= signature"),
        (f"t=soon,v1={'a' * 64}", NOW, "not Unix seconds"),
        (f"t=²,v1={'a' * 64}", NOW, "not Unix seconds"),  # isdigit() says yes, int() says no
        (f"t=١٧٠٠٠٠٠٠٠٠,v1={'a' * 64}", NOW, "not Unix seconds"),
        (f"t={'9' * 5000},v1={'a' * 64}", NOW, "not Unix seconds"),  # past int()'s 4300 digits
    ],
    ids=[
        "stale",
        "from the future",
        "tampered body",
        "no timestamp",
        "no signature",
        "bad timestamp",
        "superscript digit",
        "arabic-indic digits",
        "five thousand digits",
    ],  # fmt: skip
)
def test_a_stripe_style_delivery_that_is_stale_or_malformed_is_refused(header: str, now: int, reason: str) -> None:
    check = build_check(callback(STRIPE), environ={"STRIPE_SECRET": "whsec_test"})
    body = b'{"id": "evt_1"}'
    if header == "good":
        header = stripe_header("whsec_test", body, NOW)
    elif header == "tampered":
        header = stripe_header("whsec_test", b'{"id": "evt_2"}', NOW)
    with pytest.raises(SignatureRefused, match=reason):
        check.verify({"stripe-signature": header}, body, now=now)


def test_a_separate_timestamp_header_is_signed_with_the_body_and_base64_works() -> None:
    spec = HmacVerifier(
        secret_env="S", header="X-Signature", encoding="base64", timestamp_header="X-Timestamp",
        tolerance=timedelta(seconds=30),
    )  # fmt: skip
    check = build_check(callback(spec), environ={"S": "k"})
    headers = lower(check.sign(b"body", timestamp=NOW))
    assert headers["x-timestamp"] == str(NOW)
    check.verify(headers, b"body", now=NOW + 30)
    with pytest.raises(SignatureRefused, match="outside the tolerance"):
        check.verify(headers, b"body", now=NOW + 31)
    with pytest.raises(SignatureRefused, match="X-Timestamp header is missing"):
        check.verify({"x-signature": headers["x-signature"]}, b"body", now=NOW)
    with pytest.raises(SignatureRefused, match="does not match"):
        check.verify({**headers, "x-timestamp": str(NOW + 1)}, b"body", now=NOW)


def test_the_secret_never_shows_in_repr() -> None:
    assert "hunter2" not in repr(build_check(callback(GITHUB), environ={"GITHUB_SECRET": "hunter2"}))


@pytest.mark.parametrize("environ", [{}, {"GITHUB_SECRET": ""}], ids=["unset", "empty"])
def test_a_missing_secret_is_a_configuration_error_naming_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="GITHUB_SECRET"):
        build_check(callback(GITHUB), environ=environ)


def test_a_dotted_verifier_decides() -> None:
    check = build_check(callback(CallableVerifier("tests.callbacks.verifiers:token_matches")), environ={})
    assert isinstance(check, CallableCheck)
    check.verify({"x-token": "let-me-in"}, b"")
    with pytest.raises(SignatureRefused, match="refused the delivery"):
        check.verify({"x-token": "nope"}, b"")


def test_a_dotted_verifier_that_raises_refuses_the_delivery_and_logs_why(caplog: pytest.LogCaptureFixture) -> None:
    check = build_check(callback(CallableVerifier("tests.callbacks.verifiers:token_matches")), environ={})
    with pytest.raises(SignatureRefused, match="failed"):
        check.verify(None, b"")  # type: ignore[arg-type]  # the verifier's .get() raises AttributeError
    assert "callback verifier tests.callbacks.verifiers:token_matches raised" in caplog.text
    assert "AttributeError" in caplog.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.callbacks.nowhere:verify", "Cannot import module"),
        ("tests.callbacks.verifiers:missing", "has no attribute"),
        ("tests.callbacks.verifiers:NOT_CALLABLE", "not callable"),
    ],
)
def test_a_dotted_verifier_that_does_not_resolve_is_a_configuration_error(path: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_check(callback(CallableVerifier(path)), environ={})


def test_an_hmac_check_is_what_build_check_makes_for_hmac() -> None:
    assert isinstance(build_check(callback(GITHUB), environ={"GITHUB_SECRET": "s"}), HmacCheck)
