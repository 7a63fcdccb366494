"""Where archives go: a storage URI, a temporary folder, S3 options; from code or the environment."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigurationError

#: Environment variables ``ArchiveSettings.from_env`` reads.
ARCHIVE_URI_ENV = "STATEWRIGHT_ARCHIVE_URI"
ARCHIVE_TEMP_ENV = "STATEWRIGHT_ARCHIVE_TEMP"
S3_ENDPOINT_ENV = "STATEWRIGHT_S3_ENDPOINT_URL"
S3_PATH_STYLE_ENV = "STATEWRIGHT_S3_PATH_STYLE"

#: Where archives go unless configured: a folder beside the working directory.
DEFAULT_ARCHIVE_URI = "file://./statewright-archives"
#: The largest entry ``restore`` reads back (a guard against archives that were tampered with).
DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024
SCHEMES = ("file", "s3")


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
        scheme = self.uri.split("://", 1)[0] if "://" in self.uri else ""
        if scheme not in SCHEMES:
            raise ConfigurationError(f"Archive URI {self.uri!r} must start with file:// or s3://.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArchiveSettings:
        """Settings from ``STATEWRIGHT_ARCHIVE_URI``, ``…_ARCHIVE_TEMP``, ``…_S3_ENDPOINT_URL``, ``…_S3_PATH_STYLE``.

        >>> settings = ArchiveSettings.from_env({ARCHIVE_URI_ENV: "s3://b/x", S3_PATH_STYLE_ENV: "yes"})
        >>> settings.uri, settings.s3_path_style, settings.s3_endpoint_url
        ('s3://b/x', True, None)
        """
        env = os.environ if environ is None else environ
        temp = env.get(ARCHIVE_TEMP_ENV)
        return cls(uri=env.get(ARCHIVE_URI_ENV) or DEFAULT_ARCHIVE_URI, temp_dir=Path(temp) if temp else None,
                   s3_endpoint_url=env.get(S3_ENDPOINT_ENV) or None,
                   s3_path_style=env.get(S3_PATH_STYLE_ENV, "").lower() in ("1", "true", "yes", "on"))

    @property
    def temp_path(self) -> Path:
        """The folder archives are built in."""
        return self.temp_dir if self.temp_dir is not None else Path(tempfile.gettempdir())
