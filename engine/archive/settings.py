"""Where archives go: a storage URI, a temporary folder, S3 options; from code or the environment."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigurationError
from engine.settings import DEFAULT_ARCHIVE_URI as DEFAULT_ARCHIVE_URI  # re-exported: its old home
from engine.settings import Settings

#: Environment variables ``ArchiveSettings.from_env`` reads.
ARCHIVE_URI_ENV = "STATEWRIGHT_ARCHIVE_URI"
ARCHIVE_TEMP_ENV = "STATEWRIGHT_ARCHIVE_TEMP"
S3_ENDPOINT_ENV = "STATEWRIGHT_S3_ENDPOINT_URL"
S3_PATH_STYLE_ENV = "STATEWRIGHT_S3_PATH_STYLE"

#: The largest entry ``restore`` reads back (a guard against archives that were tampered with).
DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024
SCHEMES = ("file", "s3")
#: What may stand between ``file://`` and the path: nothing (an absolute path) or a relative path's first step.
_LOCAL_AUTHORITIES = ("", ".", "..")


@dataclass(frozen=True)
class ArchiveSettings:
    """Where archives are written and read.

    Args:
        uri: ``file:///var/lib/app/archives`` (or a relative ``file://./archives``) or ``s3://bucket/prefix``.
        temp_dir: Where an archive is built before it is copied to ``uri`` (default: the system's).
        s3_endpoint_url: An S3-compatible server (MinIO, moto, …) instead of AWS.
        s3_path_style: Address buckets as ``endpoint/bucket`` rather than ``bucket.endpoint``.
        max_entry_bytes: The largest entry ``restore`` accepts.
    """

    uri: str = DEFAULT_ARCHIVE_URI
    temp_dir: Path | None = None
    s3_endpoint_url: str | None = None
    s3_path_style: bool = False
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES

    def __post_init__(self) -> None:
        scheme, _, rest = self.uri.partition("://") if "://" in self.uri else ("", "", "")
        if scheme not in SCHEMES:
            raise ConfigurationError(f"Archive URI {_shown(self.uri)!r} must start with file:// or s3://.")
        authority = rest.partition("/")[0]
        if scheme == "s3":
            _check_bucket(self.uri, authority)
        elif authority not in _LOCAL_AUTHORITIES:
            raise ConfigurationError(
                f"Archive URI {_shown(self.uri)!r} names a host ({_shown(authority)!r}), but "
                "archives go to a local folder: write file:///absolute/path or "
                "file://./relative/path."
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArchiveSettings:
        """Settings from ``STATEWRIGHT_ARCHIVE_URI``, ``…_ARCHIVE_TEMP``, ``…_S3_ENDPOINT_URL``, ``…_S3_PATH_STYLE``.

        >>> settings = ArchiveSettings.from_env({ARCHIVE_URI_ENV: "s3://b/x", S3_PATH_STYLE_ENV: "yes"})
        >>> settings.uri, settings.s3_path_style, settings.s3_endpoint_url
        ('s3://b/x', True, None)
        """
        return cls.from_settings(Settings.from_env(environ))

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveSettings:
        """The archive part of Statewright's ``Settings``.

        Raises:
            ConfigurationError: The archive URI cannot be used.
        """
        return cls(
            uri=settings.archive_uri,
            temp_dir=Path(settings.archive_temp) if settings.archive_temp else None,
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_path_style=settings.s3_path_style,
        )

    @property
    def temp_path(self) -> Path:
        """The folder archives are built in."""
        return self.temp_dir if self.temp_dir is not None else Path(tempfile.gettempdir())


def _check_bucket(uri: str, bucket: str) -> None:
    if not bucket:
        raise ConfigurationError(f"Archive URI {_shown(uri)!r} names no bucket: write it like s3://bucket/prefix.")
    if "@" in bucket or ":" in bucket:
        raise ConfigurationError(
            f"Archive URI {_shown(uri)!r} holds credentials or a port: write it like "
            "s3://bucket/prefix, give the server with STATEWRIGHT_S3_ENDPOINT_URL and the "
            "credentials the way boto3 reads them (AWS_ACCESS_KEY_ID, a profile or a role)."
        )


def _shown(text: str) -> str:
    """``text`` with credentials masked, for a message (``user:pw@host`` may stand without a scheme)."""
    from engine.redaction import DEFAULT_REDACTOR, MASK

    text = DEFAULT_REDACTOR.text(text)
    return f"{MASK}@{text.rpartition('@')[2]}" if "://" not in text and "@" in text else text
