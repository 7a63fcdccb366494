"""One set of masking rules for every text Statewright stores or shows.

History payloads and contexts, exception messages and tracebacks, outbox messages, log records and
the admin page all go through a ``Redactor``, so a secret masked in one of them is masked in all.

A key is secret when its *normalised* form is in the redactor's set. Normalising lower-cases the key,
decodes percent-escapes and drops everything but letters and digits, so ``Api-Key``, ``api_key``,
``apiKey``, ``API%5FKEY`` and ``APIKEY`` are one key (``apikey``). A normalised key is secret when it is
in the set or ends in one of ``DEFAULT_SECRET_SUFFIXES``: ``db_password`` and ``X-CSRF-Token`` are
secret, ``token_count`` and ``idempotency-key`` are not.

What is masked, with ``***``:

- the value of a secret key in a mapping (nested, at any depth; the whole value, even a mapping), and
  the second item of a ``[key, value]`` pair whose key is secret (header lists);
- in any text: ``key=value`` (query strings, form bodies, fragments), ``key: value``,
  ``"key": "value"`` (header lines, JSON and Python reprs, also with backslash-escaped quotes) and
  ``["key", "value"]``, when the key is secret;
- in any text: the user information of a URL, up to the last ``@`` before the host
  (``https://user:p@ss@host`` becomes ``https://***@host``), and ``Bearer``/``Basic``/``Token`` credentials.

``hide_secrets`` is the variant for an operator's own lines (the CLI's failure lines): URLs keep their
user name and lose only the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

#: What a masked value is replaced with.
MASK = "***"

#: Keys masked whatever the machine files say (compared after ``normalise_key``).
DEFAULT_SECRET_KEYS = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api_key",
    "apikey",
    "access_token",
    "refresh_token",
    "token",
    "password",
    "secret",
    "client_secret",
)

#: Endings that make a key secret (compared after ``normalise_key``): ``db_password``, ``X-Csrf-Token``.
DEFAULT_SECRET_SUFFIXES = (
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "sessionid",
)
#: More keys masked whatever the machine files say, matched exactly.
_MORE_SECRET_KEYS = (
    "pwd",
    "sig",
    "auth",
    "session",
    "credentials",
    "privatetoken",
    "xauthtoken",
    "xgoogapikey",
    "xamzsignature",
    "awssecretaccesskey",
)

#: Longest key (in characters) the text rules look at; longer runs are not keys, and the bound keeps
#: scanning a long token or base64 run linear.
MAX_KEY_LENGTH = 64

_KEY_CHARS = r"A-Za-z0-9_%\-"

#: ``scheme://userinfo@``: the user information is masked as a whole (a user name may be a token), up to
#: the last ``@`` before the host, since a password may hold an unescaped ``@``. The scheme starts where a
#: run of scheme characters starts and is short, so that scanning stays linear.
_USERINFO = re.compile(
    r"(?P<scheme>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://)"
    r"(?P<userinfo>[^\s/?#@'\"<>\\]+(?:@[^\s/?#@'\"<>\\]*)*)@"
)

#: ``Authorization: Bearer …`` as a header line: everything after the colon, to the end of the line.
_HEADER_LINE = re.compile(
    rf"(?m)^(?P<lead>[ \t]*)(?P<key>[{_KEY_CHARS}]{{1,{MAX_KEY_LENGTH}}})"
    r"(?P<sep>[ \t]*:[ \t]*)(?P<value>[^\r\n]+)"
)

#: ``key=`` or ``key:`` (also quoted: ``"key": ``, and ``user[key]=``). The look-behind makes a key start
#: where a run of key characters starts, which keeps scanning long runs linear.
_KEY = re.compile(rf"(?<![{_KEY_CHARS}])(?P<key>[{_KEY_CHARS}]{{1,{MAX_KEY_LENGTH}}})(?:\\?[\"']|\])?[ \t]*[:=][ \t]*")

#: A quoted key opening a pair in a list (``[["Authorization", "…"]]``, ``[('token', '…')]``).
_LISTED_KEY = re.compile(
    rf"[\[(][ \t]*(?P<quote>[\"'])(?P<key>[{_KEY_CHARS}]{{1,{MAX_KEY_LENGTH}}})(?P=quote)"
    r"[ \t]*,[ \t]*"
)

#: The value after a secret key: quoted, with quotes that may be backslash-escaped (JSON inside a string
#: in a traceback's source line) and possibly cut off by the end of a truncated body, or a run up to the
#: next separator, with an authorization scheme word in front.
_VALUE = re.compile(
    r"\\\"(?:[^\"\\\n]|\\[^\"\n])*(?:\\\"|\Z)|\\'(?:[^'\\\n]|\\[^'\n])*(?:\\'|\Z)"
    r"|\"(?:[^\"\\\n]|\\.)*(?:\"|\Z)|'(?:[^'\\\n]|\\.)*(?:'|\Z)"
    r"|(?:(?i:bearer|basic|digest|token|negotiate)[ \t]+)?[^\s&;,\"'<>{}\[\]()]+"
)

#: Credentials written without a key (``Bearer eyJ…`` in a message).
#: The ``Token`` scheme (Django REST framework and others) is taken only capitalised and before a run holding
#: a digit, so that prose ("Token expired") is left alone.
_BARE_CREDENTIAL = re.compile(
    r"\b(?P<scheme>(?i:bearer|basic))[ \t]+[A-Za-z0-9\-._~+/]{8,}=*"
    r"|\b(?P<token>Token)[ \t]+(?=[A-Za-z\-._~+/]{0,64}[0-9])[A-Za-z0-9\-._~+/]{4,}=*"
)


@dataclass(frozen=True)
class Masked:
    """A JSON-like value its producer masked already, with a redactor at least as strict as the one it meets next.

    The history stores it as it is instead of masking it a second time (masking twice gives the same value).
    """

    value: Any


def normalise_key(key: object) -> str:
    """The form keys are compared in: lower case, percent-escapes decoded, only letters and digits.

    >>> [normalise_key(k) for k in ("Api-Key", "api_key", "apiKey", "API%5FKEY")]
    ['apikey', 'apikey', 'apikey', 'apikey']
    """
    text = unquote(str(key)) if "%" in str(key) else str(key)
    return "".join(char for char in text.lower() if char.isalnum())


@dataclass(frozen=True)
class Redactor:
    """Masks secrets in values and texts; see the module docstring for the rules.

    Args:
        keys: Normalised secret keys (build one with ``Redactor.with_keys``).
    """

    keys: frozenset[str]

    @classmethod
    def with_keys(cls, extra: Iterable[str] = ()) -> Redactor:
        """The default secret keys plus ``extra`` (e.g. the machine files' ``redact`` lists)."""
        return cls(frozenset(normalise_key(key) for key in (*DEFAULT_SECRET_KEYS, *_MORE_SECRET_KEYS, *extra)))

    def including(self, extra: Iterable[str]) -> Redactor:
        """This redactor with more secret keys."""
        return Redactor(self.keys | {normalise_key(key) for key in extra})

    def is_secret(self, key: object) -> bool:
        """Whether values under ``key`` are masked: a secret key, or one ending in a secret word.

        >>> [Redactor.with_keys().is_secret(k) for k in ("DB_PASSWORD", "token_count", "idempotency-key")]
        [True, False, False]
        """
        normal = normalise_key(key)
        return normal in self.keys or normal.endswith(DEFAULT_SECRET_SUFFIXES)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with secret keys' values masked and every string passed through ``text``."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: MASK if self.is_secret(key) else self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            if len(value) == 2 and isinstance(value[0], str) and self.is_secret(value[0]):
                return [value[0], MASK]  # a header or form pair: ["Authorization", "Bearer …"]
            return [self.value(item) for item in value]
        return value

    def text(self, text: str) -> str:
        """``text`` with URL credentials, bearer tokens and the values of secret keys masked."""
        if not text:
            return text
        return self.text_keeping_user_names(_USERINFO.sub(rf"\g<scheme>{MASK}@", text))

    def text_keeping_user_names(self, text: str) -> str:
        """``text`` masked like ``text`` does, but URLs keep their user information (see ``hide_password``)."""
        text = _HEADER_LINE.sub(self._masked_header_line, text)
        text = self._masked_pairs(text, _KEY)
        text = self._masked_pairs(text, _LISTED_KEY)
        return _BARE_CREDENTIAL.sub(lambda bare: f"{bare['scheme'] or bare['token']} {MASK}", text)

    def optional_text(self, text: str | None) -> str | None:
        """``text`` masked, passing ``None`` through."""
        return None if text is None else self.text(text)

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers as a mapping: secret headers masked, the others' values passed through ``text``."""
        return {name: MASK if self.is_secret(name) else self.text(value) for name, value in headers}

    def _masked_header_line(self, match: re.Match[str]) -> str:
        if not self.is_secret(match["key"]):
            return match[0]
        return f"{match['lead']}{match['key']}{match['sep']}{MASK}"

    def _masked_pairs(self, text: str, keys: re.Pattern[str]) -> str:
        pieces: list[str] = []
        done = 0
        for key in keys.finditer(text):
            if key.start() < done or not self.is_secret(key["key"]):
                continue
            value = _VALUE.match(text, key.end())
            if value is None:
                continue
            quote = _opening_quote(value[0])
            pieces += [text[done : key.end()], quote, MASK, quote]
            done = value.end()
        return "".join(pieces) + text[done:] if pieces else text


def _opening_quote(value: str) -> str:
    """The quote a value opens with (``"``, ``'``, or backslash-escaped ``\\"``), or ``""``."""
    if value[:2] in ("\\'", '\\"'):
        return value[:2]
    return value[0] if value[:1] in ("'", '"') else ""


#: Masks the default keys only: for code that has no app at hand.
DEFAULT_REDACTOR = Redactor.with_keys()


#: The password part of a URL in an operator's message (``scheme://user:password@``), up to the last ``@``
#: before the host. Parts are bounded so that a long run of ``://x:`` stays linear to scan.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]{0,256}:)[^@\s]{0,1024}(?:@[^@\s/?#]{0,1024}){0,16}@")


def hide_secrets(text: str) -> str:
    """``text`` for an operator: URL passwords hidden (user names kept), the default keys' values masked.

    >>> hide_secrets("cannot reach postgresql://app:s3cret@db/app?sslpassword=pw")
    'cannot reach postgresql://app:***@db/app?sslpassword=***'
    """
    return DEFAULT_REDACTOR.text_keeping_user_names(hide_password(text))


def hide_password(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    >>> hide_password("cannot reach postgresql://app:s3cret@db/app")
    'cannot reach postgresql://app:***@db/app'
    >>> hide_password("postgresql://app:P@ss@W0rd@db/app?x=a@b")
    'postgresql://app:***@db/app?x=a@b'
    """
    return _URL_PASSWORD.sub(r"\1***@", text)
