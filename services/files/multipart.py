"""POST /files as multipart/form-data: text fields, and the `data` part streamed to a temp file."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from services.files.blobs import BlobStorage, StagedBytes
from shared.errors import PayloadTooLargeError, ValidationError

TEXT_FIELDS = frozenset({"name", "type", "parentId", "isPublic"})
MAX_FIELD_BYTES = 4096
MAX_PARTS = 16
CHUNK = 1024 * 1024
# Room for the part headers and boundaries around `data` when comparing Content-Length with the cap.
ENVELOPE_BYTES = 64 * 1024


@dataclass
class MultipartUpload:
    fields: dict[str, str]
    data: StagedBytes | None  # None when no `data` part (or an empty one) was sent

    async def discard(self) -> None:
        if self.data is not None:
            await self.data.abort()
            self.data = None


async def _read_field(part: BodyPartReader) -> str:
    raw = bytearray()
    while chunk := await part.read_chunk(MAX_FIELD_BYTES):
        raw.extend(chunk)
        if len(raw) > MAX_FIELD_BYTES:
            raise ValidationError(f"Invalid {part.name}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"Invalid {part.name}") from exc


async def _stream_data(part: BodyPartReader, blobs: BlobStorage, max_bytes: int) -> StagedBytes | None:
    writer = await blobs.writer()
    try:
        while chunk := await part.read_chunk(CHUNK):
            if writer.size + len(chunk) > max_bytes:
                raise PayloadTooLargeError()
            await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    if writer.size == 0:
        await writer.abort()
        return None
    return writer


async def read_multipart(request: web.Request, blobs: BlobStorage, max_bytes: int) -> MultipartUpload:
    """Every part is read (so the contract's checks can run in their order afterwards); nothing is visible yet."""
    if request.content_length is not None and request.content_length > max_bytes + ENVELOPE_BYTES:
        raise PayloadTooLargeError()
    upload = MultipartUpload(fields={}, data=None)
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS or not isinstance(part, BodyPartReader):
                raise ValidationError("Malformed multipart body")
            if part.name == "data":
                if upload.data is not None:
                    raise ValidationError("Malformed multipart body")
                upload.data = await _stream_data(part, blobs, max_bytes)
            elif part.name in TEXT_FIELDS:
                upload.fields[part.name] = await _read_field(part)
            else:
                await part.release()
    except (ValueError, AssertionError, KeyError, HttpProcessingError) as exc:
        # HttpProcessingError: a part's headers the HTTP parser refuses (a control byte in a part's name).
        await upload.discard()
        raise ValidationError("Malformed multipart body") from exc
    except BaseException:
        await upload.discard()
        raise
    return upload
