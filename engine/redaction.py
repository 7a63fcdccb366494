"""One set of masking rules for every text Statewright stores or shows.

History payloads and contexts, exception messages and tracebacks, outbox messages, log records and
the admin page all go through a ``Redactor``, so a secret masked in one of them is masked in all.

A key is secret when its *normalised* form is in the redactor's set. Normalising lower-cases the key,
decodes percent-escapes and drops everything but letters and digits, so ``Api-Key``, ``api_key``,
``apiKey``, ``API%5FKEY`` and ``APIKEY`` are one key (``apikey``). Matching is exact after that:
``token`` is secret, ``token_count`` is not.

What is masked, with ``***``:

- the value of a secret key in a mapping (nested, at any depth; the whole value, even a mapping);
- in any text: ``key=value`` (query strings, form bodies, fragments), ``key: value`` and
  ``"key": "value"`` (header lines, JSON and Python reprs), when the key is secret;
- in any text: the user information of a URL (``https://user:password@host`` becomes
  ``https://***@host``) and ``Bearer``/``Basic`` credentials.
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
DEFAULT_SECRET_KEYS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api_key",
                       "apikey", "access_token", "refresh_token", "token", "password", "secret", "client_secret")

#: Longest key (in characters) the text rules look at; longer runs are not keys, and the bound keeps
#: scanning a long token or base64 run linear.
MAX_KEY_LENGTH = 64

_KEY_CHARS = r"A-Za-z0-9_%\-"

#: ``scheme://userinfo@``: the user information is masked as a whole (a user name may be a token).
#: The scheme starts where a run of scheme characters starts and is short, so that scanning stays linear.
_USERINFO = re.compile(r"(?P<scheme>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://)"
                       r"(?P<userinfo>[^\s/?#@'\"<>\\]+)@")

#: ``Authorization: Bearer …`` as a header line: everything after the colon, to the end of the line.
_HEADER_LINE = re.compile(rf"(?m)^(?P<lead>[ \t]*)(?P<key>[{_KEY_CHARS}]{{1,{MAX_KEY_LENGTH}}})"
                          r"(?P<sep>[ \t]*:[ \t]*)(?P<value>[^\r\n]+)")

#: ``key=`` or ``key:`` (also quoted: ``"key": ``, and ``user[key]=``). The look-behind makes a key start
#: where a run of key characters starts, which keeps scanning long runs linear.
_KEY = re.compile(rf"(?<![{_KEY_CHARS}])(?P<key>[{_KEY_CHARS}]{{1,{MAX_KEY_LENGTH}}})[\"'\]]?[ \t]*[:=][ \t]*")

#: The value after a secret key: quoted (possibly cut off by the end of a truncated body), or a run up
#: to the next separator, with an authorization scheme word in front.
_VALUE = re.compile(r"\"(?:[^\"\\\n]|\\.)*(?:\"|\Z)|'(?:[^'\\\n]|\\.)*(?:'|\Z)"
                    r"|(?:(?i:bearer|basic|digest|token|negotiate)[ \t]+)?[^\s&;,\"'<>{}\[\]()]+")

#: Credentials written without a key (``Bearer eyJ…`` in a message).
_BARE_CREDENTIAL = re.compile(r"\b(?P<scheme>(?i:bearer|basic))[ \t]+[A-Za-z0-9\-._~+/]{8,}=*")


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
        return cls(frozenset(normalise_key(key) for key in (*DEFAULT_SECRET_KEYS, *extra)))

    def including(self, extra: Iterable[str]) -> Redactor:
        """This redactor with more secret keys."""
        return Redactor(self.keys | {normalise_key(key) for key in extra})

    def is_secret(self, key: object) -> bool:
        """Whether values under ``key`` are masked."""
        return normalise_key(key) in self.keys

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with secret keys' values masked and every string passed through ``text``."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: MASK if self.is_secret(key) else self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def text(self, text: str) -> str:
        """``text`` with URL credentials, bearer tokens and the values of secret keys masked."""
        if not text:
            return text
        text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
        text = _HEADER_LINE.sub(self._masked_header_line, text)
        text = self._masked_pairs(text)
        return _BARE_CREDENTIAL.sub(rf"\g<scheme> {MASK}", text)

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

    def _masked_pairs(self, text: str) -> str:
        pieces: list[str] = []
        done = 0
        for key in _KEY.finditer(text):
            if key.start() < done or not self.is_secret(key["key"]):
                continue
            value = _VALUE.match(text, key.end())
            if value is None:
                continue
            quote = value[0][0] if value[0][:1] in ("'", '"') else ""
            pieces += [text[done:key.end()], quote, MASK, quote]
            done = value.end()
        return "".join(pieces) + text[done:] if pieces else text


#: Masks the default keys only: for code that has no app at hand.
DEFAULT_REDACTOR = Redactor.with_keys()


#: The password part of a URL in an operator's message (``scheme://user:password@``).
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def hide_password(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    >>> hide_password("cannot reach postgresql://app:s3cret@db/app")
    'cannot reach postgresql://app:***@db/app'
    """
    return _URL_PASSWORD.sub(r"\1***@", text)
