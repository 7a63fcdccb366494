"""Copy finished archives to their storage and read them back, through smart-open (local files or S3)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from smart_open import open as smart_open

from engine.archive.settings import ArchiveSettings
from engine.errors import ArchiveUnavailable

#: Bytes per read and write when copying and hashing.
CHUNK = 1024 * 1024


def sha256_of(stream: BinaryIO) -> str:
    """The hex SHA-256 of everything left in ``stream``."""
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class Storage:
    """The place ``ArchiveSettings.uri`` names.

    Args:
        settings: The URI and, for S3, the endpoint and addressing style.
    """

    def __init__(self, settings: ArchiveSettings) -> None:
        self.settings = settings
        self.base = settings.uri.rstrip("/")
        self._transport: dict[str, Any] | None = None

    def uri_of(self, name: str) -> str:
        """The URI an archive called ``name`` gets."""
        return f"{self.base}/{name}"

    def put(self, local: Path, name: str) -> tuple[str, str]:
        """Copy the finished archive at ``local`` to storage; returns its URI and the SHA-256 of what was sent."""
        uri = self.uri_of(name)
        digest = hashlib.sha256()
        try:
            if uri.startswith("file://"):
                Path(_local_path(uri)).parent.mkdir(parents=True, exist_ok=True)
            with local.open("rb") as source, self._open(uri, "wb") as target:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
        except (OSError, ValueError) as exc:  # smart-open reports S3 failures as OSError or ValueError
            raise ArchiveUnavailable(f"cannot write archive {uri}: {exc}") from exc
        return uri, digest.hexdigest()

    def sha256(self, uri: str) -> str:
        """The SHA-256 of the archive as storage holds it (read back in full)."""
        try:
            with self._open(uri, "rb") as stream:
                return sha256_of(stream)
        except (OSError, ValueError) as exc:
            raise ArchiveUnavailable(f"cannot read archive {uri}: {exc}") from exc

    def fetch(self, uri: str, local: Path) -> None:
        """Copy the archive at ``uri`` to the local file ``local``."""
        try:
            with self._open(uri, "rb") as source, local.open("wb") as target:
                shutil.copyfileobj(source, target, CHUNK)
        except (OSError, ValueError) as exc:
            raise ArchiveUnavailable(f"cannot read archive {uri}: {exc}") from exc

    def _open(self, uri: str, mode: str) -> BinaryIO:
        # compression="disable": the bytes are a ZIP already; smart-open must not add or strip a layer.
        stream: IO[Any] = smart_open(uri, mode, compression="disable", transport_params=self._transport_params())
        return cast(BinaryIO, stream)

    def _transport_params(self) -> dict[str, Any]:
        if not self.base.startswith("s3://"):
            return {}
        if self._transport is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as missing:
                raise ImportError("S3 archives need boto3. Install with `pip install statewright[s3]`.") from missing
            # Checksums only when required: boto3's default ones are refused by many S3-compatible stores
            # (the archive's own SHA-256 is what Statewright checks).
            config = Config(s3={"addressing_style": "path" if self.settings.s3_path_style else "auto"},
                            request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
            client = boto3.client("s3", endpoint_url=self.settings.s3_endpoint_url, config=config)
            self._transport = {"client": client}
        return self._transport


def _local_path(uri: str) -> str:
    """``file:///abs/path`` → ``/abs/path``; ``file://./rel`` → ``./rel``."""
    return uri.removeprefix("file://")
