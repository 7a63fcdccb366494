"""Copy finished archives to their storage and read them back, through smart-open (local files or S3)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from smart_open import open as smart_open

from engine.archive.settings import ArchiveSettings
from engine.dependencies import missing_dependency
from engine.errors import ArchiveUnavailable

#: Bytes per read and write when copying and hashing.
CHUNK = 1024 * 1024
#: Seconds to wait for an S3 connection, and for each answer, before the attempt counts as failed.
S3_CONNECT_TIMEOUT = 10
S3_READ_TIMEOUT = 60
#: Attempts per S3 request (botocore's standard retry mode), so an unreachable store fails in seconds.
S3_MAX_ATTEMPTS = 3


def sha256_of(stream: BinaryIO) -> str:
    """The hex SHA-256 of everything left in ``stream``."""
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredArchive:
    """One object in the archive storage: its URI, its name (the last path segment) and when it was written."""

    uri: str
    name: str
    modified_at: datetime


def _storage_errors() -> tuple[type[BaseException], ...]:
    """What reaching the storage can raise: OS errors, smart-open's ValueErrors and, for S3, botocore's own."""
    try:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return (OSError, ValueError)
    return (OSError, ValueError, BotoCoreError, ClientError, Boto3Error)


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """Turn a storage failure into one ``ArchiveUnavailable`` line saying ``what`` was attempted."""
    try:
        yield
    except _storage_errors() as exc:
        raise ArchiveUnavailable(f"{what}: {exc}") from exc


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
        """Copy the finished archive at ``local`` to storage; returns its URI and the SHA-256 of what was sent.

        Raises:
            ArchiveUnavailable: The copy failed; whatever part of it reached storage has been removed.
        """
        uri = self.uri_of(name)
        try:
            with _unavailable(f"cannot write archive {uri}"):
                with local.open("rb") as source:
                    sent = sha256_of(source)
                if uri.startswith("s3://"):
                    # boto3's upload (multipart when large) retries S3_MAX_ATTEMPTS times; smart-open's writer
                    # would add six more tries, ten seconds apart, before an unreachable store is reported.
                    self._client().upload_file(str(local), *_bucket_and_key(uri))
                else:
                    target = Path(_local_path(uri))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(local, target)
        except ArchiveUnavailable:
            # A half-written copy (a full disk) would take the space the next run needs.
            self.discard(uri)
            raise
        return uri, sent

    def sha256(self, uri: str) -> str:
        """The SHA-256 of the archive as storage holds it (read back in full)."""
        with _unavailable(f"cannot read archive {uri}"), self._open(uri, "rb") as stream:
            return sha256_of(stream)

    def fetch(self, uri: str, local: Path) -> None:
        """Copy the archive at ``uri`` to the local file ``local``.

        Raises:
            ArchiveUnavailable: The archive cannot be read, or the local copy cannot be written.
        """
        with _unavailable(f"cannot read archive {uri}"):
            source = self._open(uri, "rb")
        with source, _unavailable(f"cannot read archive {uri} into {local}"), local.open("wb") as target:
            shutil.copyfileobj(source, target, CHUNK)

    def delete(self, uri: str) -> None:
        """Remove the archive at ``uri`` (nothing happens if it is not there)."""
        with _unavailable(f"cannot delete archive {uri}"):
            if uri.startswith("file://"):
                Path(_local_path(uri)).unlink(missing_ok=True)
            else:
                bucket, key = _bucket_and_key(uri)
                self._client().delete_object(Bucket=bucket, Key=key)

    def discard(self, uri: str) -> None:
        """``delete``, for clean-up after another failure: a failure here must not hide the first one."""
        try:
            self.delete(uri)
        except ArchiveUnavailable:
            pass

    def archives(self) -> list[StoredArchive]:
        """Every ``*.zip`` object directly under the storage URI, with its modification time."""
        with _unavailable(f"cannot list archives in {self.base}"):
            if self.base.startswith("file://"):
                return self._list_folder()
            return self._list_bucket()

    def _list_folder(self) -> list[StoredArchive]:
        folder = Path(_local_path(self.base))
        if not folder.is_dir():
            return []
        return [
            StoredArchive(self.uri_of(path.name), path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC))
            for path in sorted(folder.glob("*.zip"))
            if path.is_file()
        ]

    def _list_bucket(self) -> list[StoredArchive]:
        bucket, prefix = _bucket_and_key(self.base)
        prefix = f"{prefix}/" if prefix else ""
        found: list[StoredArchive] = []
        for page in self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if "/" not in name and name.endswith(".zip"):
                    found.append(StoredArchive(self.uri_of(name), name, item["LastModified"]))
        return found

    def _open(self, uri: str, mode: str) -> BinaryIO:
        # compression="disable": the bytes are a ZIP already; smart-open must not add or strip a layer.
        stream: IO[Any] = smart_open(uri, mode, compression="disable", transport_params=self._transport_params())
        return cast(BinaryIO, stream)

    def _client(self) -> Any:
        return self._transport_params()["client"]

    def _transport_params(self) -> dict[str, Any]:
        if not self.base.startswith("s3://"):
            return {}
        if self._transport is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as missing:
                raise missing_dependency(missing, "S3 archives") from missing
            # Checksums only when required: boto3's default ones are refused by many S3-compatible stores
            # (the archive's own SHA-256 is what Statewright checks).
            config = Config(
                s3={"addressing_style": "path" if self.settings.s3_path_style else "auto"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=S3_CONNECT_TIMEOUT,
                read_timeout=S3_READ_TIMEOUT,
                retries={"mode": "standard", "max_attempts": S3_MAX_ATTEMPTS},
            )
            client = boto3.client("s3", endpoint_url=self.settings.s3_endpoint_url, config=config)
            self._transport = {"client": client}
        return self._transport


def _local_path(uri: str) -> str:
    """``file:///abs/path`` → ``/abs/path``; ``file://./rel`` → ``./rel``."""
    return uri.removeprefix("file://")


def _bucket_and_key(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` → ``("bucket", "a/b")``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key
