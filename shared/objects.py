"""File bytes in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Garage, SeaweedFS), through
aiobotocore. The layout is FOLDER_PATH's, flat in one bucket: an object `<uuid4>` per file and its
thumbnails `<uuid4>_<width>` beside it. A record names its bytes by URI, `s3://<bucket>/<key>`, in
`localPath`, so that every record says where its own bytes are (a volume path or an object).

Uploads are multipart, a part at a time: memory stays bounded whatever the size (one part filling, one
sending), the size and SHA-256 are computed on the way, and nothing is visible before the completing call
(S3 shows an object only once its upload completes). An upload that fails is aborted; one whose process
died is aborted by the sweep (`abandoned_uploads`) once older than a day.

Configuration: S3_BUCKET turns it on; S3_ENDPOINT (none: AWS), S3_REGION (default us-east-1); the
credentials are botocore's usual ones (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from aiohttp import web

from shared.errors import add_failure_rule, failure_rule
from shared.health import Check, hold

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef

log = logging.getLogger(__name__)

SCHEME = "s3://"
# S3's smallest part but the last is 5 MiB; 8 MiB parts reach 80 GB within the 10,000-part limit.
PART_BYTES = 8 * 1024 * 1024
DELETE_BATCH = 1000  # DeleteObjects' limit
ABANDONED_AFTER = timedelta(days=1)

# The server does not answer, or says it cannot now: 503. A full disk or quota: 507.
UNAVAILABLE_CODES = frozenset({"ServiceUnavailable", "SlowDown", "XMinioServerNotInitialized", "RequestTimeout"})
FULL_CODES = frozenset({"XMinioStorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded"})
_TRANSPORT = failure_rule(
    unavailable=(
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
        botocore.exceptions.ConnectionClosedError,
    )
)


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


NO_SUCH_OBJECT = frozenset({"404", "NotFound", "NoSuchKey"})  # HEAD answers a bare 404
NO_SUCH_BUCKET = frozenset({"404", "NotFound", "NoSuchBucket"})


def failure_status(exc: BaseException) -> int | None:
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        if code in FULL_CODES:
            return 507
        if code in UNAVAILABLE_CODES:
            return 503
        return None
    return _TRANSPORT(exc)


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"

    @classmethod
    def from_env(cls) -> S3Settings | None:
        """None when S3_BUCKET is not set: the bytes stay on the volume."""
        bucket = os.environ.get("S3_BUCKET", "").strip()
        if not bucket:
            return None
        return cls(
            bucket=bucket,
            endpoint=os.environ.get("S3_ENDPOINT", "").strip() or None,
            region=os.environ.get("S3_REGION", "").strip() or "us-east-1",
        )


@dataclass(frozen=True)
class StoredObject:
    uri: str
    size: int
    sha256: str


class ObjectStore:
    """One bucket. `async with ObjectStore(settings) as store:` opens the client (a pool of connections)."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None

    async def __aenter__(self) -> ObjectStore:
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},  # MinIO and most self-hosted servers; AWS accepts it too
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=64,
            connect_timeout=5,
            read_timeout=60,
        )
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3", endpoint_url=self.settings.endpoint, region_name=self.settings.region, config=config
            )
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def close(self) -> None:
        await self._stack.aclose()

    @property
    def client(self) -> S3Client:
        assert self._client is not None, "use the store inside `async with`"
        return self._client

    # names -------------------------------------------------------------------------------------------
    def uri(self, key: str) -> str:
        return f"{SCHEME}{self.settings.bucket}/{key}"

    def key(self, uri: str) -> str | None:
        """The key of one of this bucket's URIs; None for anything else (a volume path, another bucket)."""
        prefix = f"{SCHEME}{self.settings.bucket}/"
        return uri[len(prefix) :] if uri.startswith(prefix) and len(uri) > len(prefix) else None

    # bucket ------------------------------------------------------------------------------------------
    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (a bucket owned by this account already counts)."""
        try:
            await self.client.head_bucket(Bucket=self.settings.bucket)
            return
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in NO_SUCH_BUCKET:
                raise
        with contextlib.suppress(self.client.exceptions.BucketAlreadyOwnedByYou):
            await self.client.create_bucket(Bucket=self.settings.bucket)

    async def ping(self) -> bool:
        """Readiness: the bucket is there, made now if it is not (a service started before its S3 server
        could make buckets becomes ready once it can)."""
        try:
            await self.ensure_bucket()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return False
        return True

    async def alive(self) -> bool:
        try:
            await self.client.head_bucket(Bucket=self.settings.bucket)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return False
        return True

    # writing -----------------------------------------------------------------------------------------
    def writer(self, key: str | None = None) -> ObjectWriter:
        """An upload into object `key` (a new `<uuid4>` by default)."""
        return ObjectWriter(self, key or str(uuid.uuid4()))

    async def write(self, data: bytes, key: str | None = None) -> StoredObject:
        writer = self.writer(key)
        try:
            await writer.write(data)
            return await writer.commit()
        except BaseException:
            await writer.abort()
            raise

    async def upload_file(self, path: str, key: str) -> None:
        """A local file (a rendered thumbnail) as one object, sent in one request."""
        with open(path, "rb") as handle:  # noqa: ASYNC230 - the body is read by the client as it sends
            await self.client.put_object(Bucket=self.settings.bucket, Key=key, Body=handle)

    # reading -----------------------------------------------------------------------------------------
    async def stat(self, key: str) -> tuple[int, float] | None:
        """The object's size and last modification (epoch seconds), or None when there is no such object."""
        try:
            head = await self.client.head_object(Bucket=self.settings.bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in NO_SUCH_OBJECT:
                return None
            raise
        return int(head["ContentLength"]), head["LastModified"].timestamp()

    async def size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        found = await self.stat(key)
        return None if found is None else found[0]

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes start..end (inclusive; None: to the end), as they arrive."""
        if start == 0 and end is None:  # the whole object: no Range, which an empty object would refuse
            answer = await self.client.get_object(Bucket=self.settings.bucket, Key=key)
        else:
            byte_range = f"bytes={start}-{'' if end is None else end}"
            answer = await self.client.get_object(Bucket=self.settings.bucket, Key=key, Range=byte_range)
        async with answer["Body"] as body:
            async for chunk in body.iter_chunks(1024 * 1024):
                yield chunk

    async def download_file(self, key: str, path: str) -> None:
        """The whole object into a local file (the thumbnailer's source); FileNotFoundError if none."""
        with open(path, "wb") as handle:  # noqa: ASYNC230 - written a megabyte at a time, in a thread
            try:
                async for chunk in self.read(key):
                    await asyncio.to_thread(handle.write, chunk)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in NO_SUCH_OBJECT:
                    raise FileNotFoundError(key) from exc
                raise

    async def presign(self, key: str, expires: int, content_type: str, disposition: str) -> str:
        """A URL that fetches the object for `expires` seconds, answered with these headers."""
        return await self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.settings.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=expires,
        )

    # removing ----------------------------------------------------------------------------------------
    async def remove(self, keys: list[str]) -> None:
        """Delete these objects; absent ones are fine (S3 answers a delete of nothing with success)."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            answer = await self.client.delete_objects(
                Bucket=self.settings.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if errors := answer.get("Errors"):
                raise RuntimeError(f"S3 kept {len(errors)} object(s): {errors[0]}")

    async def abandoned_uploads(self, older_than: timedelta = ABANDONED_AFTER) -> int:
        """Abort multipart uploads begun before `older_than` ago (their process is gone): their parts
        take space and are never seen. Returns how many were aborted."""
        cutoff = datetime.now(UTC) - older_than
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.settings.bucket):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    try:
                        await self.client.abort_multipart_upload(
                            Bucket=self.settings.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    except botocore.exceptions.ClientError as exc:
                        if error_code(exc) == "NoSuchUpload":
                            continue  # another replica's sweep, or the upload itself, finished it first
                        raise
                    aborted += 1
        return aborted


OBJECTS_KEY = web.AppKey("objects", ObjectStore)


def setup_objects(app: web.Application, settings: S3Settings) -> Check:
    """The bucket for the app's life (made if missing); its readiness check; its failures' statuses."""
    add_failure_rule(app, failure_status)

    async def open_(app: web.Application) -> ObjectStore:
        store = await ObjectStore(settings).__aenter__()
        try:
            await store.ensure_bucket()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            log.warning("bucket %s not checked at start-up: %r", settings.bucket, exc)  # readiness says so
        return store

    return hold(app, OBJECTS_KEY, open_)


class ObjectWriter:
    """A streamed upload into one object: hashed and counted on the way; invisible until `commit`."""

    def __init__(self, store: ObjectStore, key: str) -> None:
        self._store = store
        self.key = key
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._in_flight: asyncio.Task[None] | None = None
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._buffer += chunk
        if len(self._buffer) >= PART_BYTES:
            part, self._buffer = bytes(self._buffer), bytearray()
            await self._send_part(part)

    async def _send_part(self, part: bytes) -> None:
        """At most one part travels while the next one fills."""
        await self._drain()
        if self._upload_id is None:
            created = await self._store.client.create_multipart_upload(Bucket=self._store.settings.bucket, Key=self.key)
            self._upload_id = str(created["UploadId"])
        self._parts.append({"PartNumber": len(self._parts) + 1})
        self._in_flight = asyncio.ensure_future(self._upload_part(len(self._parts), part))

    async def _upload_part(self, number: int, part: bytes) -> None:
        assert self._upload_id is not None
        await asyncio.to_thread(self._hash.update, part)
        answer = await self._store.client.upload_part(
            Bucket=self._store.settings.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=io.BytesIO(part),  # a file object: aiohttp sends it without copying it whole on the loop
        )
        self._parts[number - 1]["ETag"] = answer["ETag"]

    async def _drain(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            await in_flight

    async def commit(self) -> StoredObject:
        bucket = self._store.settings.bucket
        if self._upload_id is None:
            data = bytes(self._buffer)
            await asyncio.to_thread(self._hash.update, data)  # up to a part: off the event loop
            await self._store.client.put_object(Bucket=bucket, Key=self.key, Body=io.BytesIO(data))
        else:
            if self._buffer:
                part, self._buffer = bytes(self._buffer), bytearray()
                await self._send_part(part)
            await self._drain()
            await self._store.client.complete_multipart_upload(
                Bucket=bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        return StoredObject(self._store.uri(self.key), self.size, self._hash.hexdigest())

    async def abort(self) -> None:
        """Drop the parts sent so far; nothing becomes visible. Best effort: the sweep finishes what fails."""
        if self._in_flight is not None:
            with contextlib.suppress(BaseException):
                await self._drain()
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                await self._store.client.abort_multipart_upload(
                    Bucket=self._store.settings.bucket, Key=self.key, UploadId=self._upload_id
                )
