"""The masking rules every stored, logged and shown text goes through, and the log filter that applies them."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Redactor, Statewright
from engine.log_redaction import RedactingFilter, install_log_redaction
from engine.redaction import DEFAULT_SECRET_KEYS, MASK, hide_password, hide_secrets, normalise_key

REDACTOR = Redactor.with_keys()


@pytest.mark.parametrize("key", ["Api-Key", "api_key", "apiKey", "APIKEY", "api%5Fkey", "API-KEY"])
def test_spellings_of_one_key_normalise_to_one_form(key: str) -> None:
    assert normalise_key(key) == "apikey"
    assert REDACTOR.is_secret(key)


@pytest.mark.parametrize("key", sorted(DEFAULT_SECRET_KEYS))
def test_every_default_key_is_masked_in_query_strings_json_text_header_lines_and_mappings(key: str) -> None:
    assert REDACTOR.text(f"https://h/p?{key}=v4lue&page=2") == f"https://h/p?{key}={MASK}&page=2"
    assert REDACTOR.text(f'{{"{key}": "v4lue", "n": 1}}') == f'{{"{key}": "{MASK}", "n": 1}}'
    assert REDACTOR.text(f"{key}: Bearer v4lue\nAccept: json") == f"{key}: {MASK}\nAccept: json"
    assert REDACTOR.value({"outer": [{key.upper(): {"deep": "v4lue"}}]}) == {"outer": [{key.upper(): MASK}]}


def test_keys_that_only_contain_a_secret_word_are_kept() -> None:
    assert REDACTOR.text("token_count=5&tokenizer=bpe&pass=1") == "token_count=5&tokenizer=bpe&pass=1"


@pytest.mark.parametrize("key", ["token_count", "idempotency-key", "tokens_used", "tokenizer", "Session-Count"])
def test_keys_that_merely_start_with_a_secret_word_are_kept(key: str) -> None:
    assert not REDACTOR.is_secret(key)
    assert REDACTOR.text(f"{key}=5&n=1") == f"{key}=5&n=1"
    assert REDACTOR.value({key: "5"}) == {key: "5"}


@pytest.mark.parametrize(
    "key",
    [
        "csrf_token",
        "X-CSRF-Token",
        "client_secret",
        "db_password",
        "sslpassword",
        "ldap_passwd",
        "request-signature",
        "google_apikey",
        "rsa_private_key",
        "aws_access_key",
        "s3SecretKey",
        "JSESSIONID",
        "pwd",
        "sig",
        "auth",
        "session",
        "credentials",
        "private-token",
        "X-Auth-Token",
        "x-goog-api-key",
        "X-Amz-Signature",
        "AWS_SECRET_ACCESS_KEY",
    ],
)
def test_keys_ending_in_a_secret_word_and_the_known_secret_keys_are_masked(key: str) -> None:
    assert REDACTOR.is_secret(key)
    assert REDACTOR.text(f"https://h/p?{key}=v4lue&page=2") == f"https://h/p?{key}={MASK}&page=2"
    assert REDACTOR.value({key: "v4lue"}) == {key: MASK}


def test_header_pairs_in_a_context_are_masked() -> None:
    context = {"headers": [["Authorization", "Bearer abcdefgh123"], ["Accept", "json"]], "pair": ("token", "T")}
    assert REDACTOR.value(context) == {
        "headers": [["Authorization", MASK], ["Accept", "json"]],
        "pair": ["token", MASK],
    }


def test_a_machine_files_redact_keys_are_masked_too() -> None:
    redactor = Redactor.with_keys(["Session-Id"])
    assert redactor.text("session_id=abc&x=1") == f"session_id={MASK}&x=1"
    assert redactor.value({"sessionId": "abc"}) == {"sessionId": MASK}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("amqp://guest:s3cret@mq:5672/vhost", f"amqp://{MASK}@mq:5672/vhost"),
        ("GET https://tok3n@api.example/x failed", f"GET https://{MASK}@api.example/x failed"),
        ("sent 'Bearer eyJhbGciOiJIUzI1NiJ9.e30' upstream", f"sent 'Bearer {MASK}' upstream"),
        ("{'password': 'hunter2', 'user': 'ada'}", f"{{'password': '{MASK}', 'user': 'ada'}}"),
        ("user[password]=pw&user[name]=ada", f"user[password]={MASK}&user[name]=ada"),
        ('{"token": "abc\\"def", "n": 1}', f'{{"token": "{MASK}", "n": 1}}'),
        ('{"items": [{"access_token": "cut-off-by-a-trunc', f'{{"items": [{{"access_token": "{MASK}"'),
        ("postgresql://u:P@ss@W22@h/db", f"postgresql://{MASK}@h/db"),
        ("see https://h/db?x=a@b", "see https://h/db?x=a@b"),
        ("export AWS_SECRET_ACCESS_KEY=wJalrXUt21", f"export AWS_SECRET_ACCESS_KEY={MASK}"),
        ("{'passwd': 'PWD21', 'user': 'ada'}", f"{{'passwd': '{MASK}', 'user': 'ada'}}"),
        ("sent Token TOK21 upstream", f"sent Token {MASK} upstream"),
        ("Token expired; log in again", "Token expired; log in again"),
        (
            'headers=[["Authorization", "Basic QUJD"], ["Accept", "json"]]',
            f'headers=[["Authorization", "{MASK}"], ["Accept", "json"]]',
        ),
        ("[('X-Auth-Token', 'XT1'), ('Accept', 'json')]", f"[('X-Auth-Token', '{MASK}'), ('Accept', 'json')]"),
        (
            '    raise Boom("{\\"password\\": \\"PWJSON34\\", \\"n\\": 1}")',
            f'    raise Boom("{{\\"password\\": \\"{MASK}\\", \\"n\\": 1}}")',
        ),
        ("x = '{\\'token\\': \\'T1\\'}'", f"x = '{{\\'token\\': \\'{MASK}\\'}}'"),
    ],
)
def test_credentials_in_free_text_are_masked(text: str, masked: str) -> None:
    assert REDACTOR.text(text) == masked


def test_masking_twice_changes_nothing_more() -> None:
    once = REDACTOR.text("https://a:b@h/?api_key=1&token=2 Authorization: Bearer abcdefgh123")
    assert REDACTOR.text(once) == once


def test_masking_stays_linear_on_long_runs_without_separators() -> None:
    """A long base64 blob or key-like run must not make the key scan quadratic."""

    def seconds(size: int) -> float:
        text = "A" * size + "=" + "b-" * size
        started = time.perf_counter()
        REDACTOR.text(text)
        return time.perf_counter() - started

    small, large = seconds(200_000), seconds(800_000)
    assert large < max(small, 0.01) * 12, (small, large)


def test_hiding_operator_secrets_stays_linear_on_repeated_url_starts() -> None:
    """Many ``://user:`` with no ``@`` must not make the password scan quadratic."""

    def seconds(repeats: int) -> float:
        started = time.perf_counter()
        hide_secrets("a://u:" * repeats)
        return time.perf_counter() - started

    small, large = seconds(5_000), seconds(20_000)
    assert large < max(small, 0.01) * 12, (small, large)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything the dramatiq and httpx loggers write, through a plain handler on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "dramatiq")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.INFO)
    yield stream
    logging.root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_log_records_of_dramatiq_and_httpx_are_masked_once_an_app_exists(captured: io.StringIO) -> None:
    Statewright([], database_url="sqlite://")
    try:
        raise RuntimeError("POST https://ada:pw-in-url@api.example/x?api_key=key-in-query answered 500")
    except RuntimeError:
        logging.getLogger("dramatiq.worker.WorkerThread").error("Failed to process message %s.", "m", exc_info=True)
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"', "POST", "https://api.example/x?token=tok-in-log", "HTTP/1.1 200 OK"
    )
    written = captured.getvalue()
    assert "Failed to process message m." in written
    assert "RuntimeError" in written
    assert f"https://{MASK}@api.example/x?api_key={MASK} answered 500" in written
    assert "HTTP Request: POST https://api.example/x?token=*** " in written
    for secret in ("pw-in-url", "key-in-query", "tok-in-log"):
        assert secret not in written


def test_a_second_app_adds_its_redact_keys_to_the_one_filter(tmp_path: Path) -> None:
    install_log_redaction(Redactor.with_keys(["first_key"]))
    install_log_redaction(Redactor.with_keys(["second_key"]))
    filters = [f for f in logging.getLogger("dramatiq.worker.WorkerThread").filters if isinstance(f, RedactingFilter)]
    assert len(filters) == 1
    assert {"firstkey", "secondkey"} <= filters[0].redactor.keys


def test_hide_password_hides_a_password_holding_at_signs_up_to_the_host() -> None:
    assert hide_password("postgresql://u:P@ss@W22@h/db?x=a@b") == "postgresql://u:***@h/db?x=a@b"
    assert hide_secrets("postgresql://u:P@ss@W22@h/db?sslpassword=S1") == "postgresql://u:***@h/db?sslpassword=***"
