"""URLs in messages: their passwords are never shown."""

from __future__ import annotations

import re

#: The password part of a URL (``scheme://user:password@``).
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def hide_password(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    >>> hide_password("cannot reach postgresql://app:s3cret@db/app")
    'cannot reach postgresql://app:***@db/app'
    """
    return _URL_PASSWORD.sub(r"\1***@", text)
