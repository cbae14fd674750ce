"""POST /files as JSON, streamed: the base64 `data` string goes to a temp file as it arrives.

The body is read in chunks. Everything but the content of the top-level `data` string (the name, the type,
the parent, the flags: a few hundred bytes) is copied into a small skeleton document that `json.loads` parses
at the end, so JSON's rules for those stay exactly the standard library's. The `data` string's content is
found with `bytes.find` (no per-byte Python), its JSON escapes resolved, and decoded in batches of about a
megabyte in a worker thread, then hashed and written by the BlobWriter. Memory stays bounded whatever the
size; the contract's checks still run in their order once the body has been read (ADR 8).

No maintained JSON library hands out one string value in pieces (json-stream, ijson and yajl all build the
whole string), which is why this scanner exists; it only knows the top level of one object.
"""

from __future__ import annotations

import asyncio
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from services.files.blobs import BlobStorage, StagedBytes
from shared.errors import PayloadTooLargeError, ValidationError

MAX_SKELETON_BYTES = 1024 * 1024  # the body without the data string's content
DECODE_BATCH = 1024 * 1024  # base64 characters decoded per thread hop
INLINE_DECODE = 64 * 1024  # less than this is decoded on the loop: microseconds, cheaper than the hop
STREAMED = "\x00streamed"  # stands in for a non-empty data string in the skeleton (JSON-escaped below)
_STREAMED_JSON = json.dumps(STREAMED).encode()
_CONTROL = bytes(range(0x20))
_SIMPLE_ESCAPES = {ord("/"): b"/", ord("n"): b" ", ord("r"): b" ", ord("t"): b" "}
_NOT_BASE64_ESCAPES = frozenset(b'"\\bf')
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class MalformedJson(ValueError):
    pass


class Base64Stream:
    """Strict base64 (standard alphabet, padding only at the very end), decoded a batch at a time.

    Spaces are tolerated (the scanner turns the escaped line breaks and tabs a client may wrap its data
    with into spaces). Once the data is known to be invalid, the rest is not decoded.
    """

    def __init__(self) -> None:
        self._carry = b""
        self._padded = False
        self.valid = True

    def decode(self, text: bytes) -> bytes:
        if not self.valid:
            return b""
        compact = self._carry + text.replace(b" ", b"")
        usable = len(compact) - len(compact) % 4
        batch, self._carry = compact[:usable], compact[usable:]
        if not batch:
            return b""
        if self._padded:  # data after the final padding
            self.valid = False
            return b""
        pad = batch.find(b"=")
        if pad != -1:
            if pad < len(batch) - 2:
                self.valid = False
                return b""
            self._padded = True
        try:
            return binascii.a2b_base64(batch, strict_mode=True)
        except (binascii.Error, ValueError):
            self.valid = False
            return b""

    def finish(self) -> None:
        if self._carry:
            self.valid = False


@dataclass
class _DataString:
    """One top-level `data` string being streamed."""

    decoder: Base64Stream = field(default_factory=Base64Stream)
    writer: StagedBytes | None = None
    pending: list[bytes] = field(default_factory=list)
    pending_size: int = 0


class Scanner:
    """Splits a JSON body into the skeleton and the content of the top-level `data` string(s).

    `feed` returns events: ("start", b""), ("text", content) and ("end", b"") for each data string.
    Structural errors inside the data string raise MalformedJson; everything else is left to json.loads.
    """

    def __init__(self) -> None:
        self.skeleton = bytearray()
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._string_start = 0
        self._expect: str | None = None  # at depth 1: "key" or "value"
        self._key: object = None
        self._in_data = False
        self._data_seen = False  # the current data string has at least one character
        self._data_escape: bytearray | None = None  # an escape inside data split across chunks

    @property
    def in_data(self) -> bool:
        return self._in_data

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        events: list[tuple[str, bytes]] = []
        pos, end = 0, len(chunk)
        while pos < end:
            step = self._feed_data if self._in_data else self._feed_skeleton
            pos = step(chunk, pos, events)
            if len(self.skeleton) > MAX_SKELETON_BYTES:
                raise PayloadTooLargeError()
        return events

    def _feed_skeleton(self, chunk: bytes, pos: int, events: list[tuple[str, bytes]]) -> int:
        skeleton = self.skeleton
        end = len(chunk)
        while pos < end:
            if self._in_string:
                stop = pos if self._escape else _next_quote_or_backslash(chunk, pos)
                if stop == -1:
                    skeleton += chunk[pos:]
                    return end
                skeleton += chunk[pos : stop + 1]
                byte, pos = chunk[stop], stop + 1
                if self._escape:
                    self._escape = False
                elif byte == 0x5C:  # backslash
                    self._escape = True
                else:
                    self._in_string = False
                    if self._depth == 1 and self._expect == "key":
                        try:
                            self._key = json.loads(skeleton[self._string_start :])
                        except ValueError:
                            self._key = None  # json.loads of the whole skeleton says what is wrong
                continue
            byte = chunk[pos]
            pos += 1
            if byte == 0x22:  # a quote opens a string
                if self._depth == 1 and self._expect == "value":
                    self._expect = None
                    if self._key == "data":
                        self._in_data, self._data_seen = True, False
                        events.append(("start", b""))
                        return pos
                self._in_string = True
                self._string_start = len(skeleton)
                skeleton.append(byte)
                continue
            skeleton.append(byte)
            if byte in (0x7B, 0x5B):  # { [
                self._depth += 1
                if self._depth == 1:
                    self._expect = "key" if byte == 0x7B else None
                elif self._depth == 2 and self._expect == "value":
                    self._expect = None
            elif byte in (0x7D, 0x5D):  # } ]
                self._depth -= 1
            elif self._depth == 1:
                if byte == 0x3A:  # :
                    self._expect = "value"
                elif byte == 0x2C:  # ,
                    self._expect = "key"
                elif byte not in b" \t\r\n" and self._expect == "value":
                    self._expect = None
        return end

    def _feed_data(self, chunk: bytes, pos: int, events: list[tuple[str, bytes]]) -> int:
        end = len(chunk)
        while pos < end:
            if self._data_escape is not None:
                pos = self._continue_escape(chunk, pos, events)
                continue
            stop = _next_quote_or_backslash(chunk, pos)
            if stop == -1:
                events.append(("text", chunk[pos:]))
                self._data_seen = True
                return end
            if stop > pos:
                events.append(("text", chunk[pos:stop]))
                self._data_seen = True
            if chunk[stop] == 0x22:  # the closing quote: the skeleton gets a stand-in string
                self._in_data = False
                self.skeleton += _STREAMED_JSON if self._data_seen else b'""'
                events.append(("end", b""))
                return stop + 1
            self._data_escape, self._data_seen = bytearray(), True
            pos = stop + 1
        return end

    def _continue_escape(self, chunk: bytes, pos: int, events: list[tuple[str, bytes]]) -> int:
        escape = self._data_escape
        assert escape is not None
        needed = 5 if escape[:1] == b"u" or (not escape and chunk[pos] == 0x75) else 1
        take = min(needed - len(escape), len(chunk) - pos)
        escape += chunk[pos : pos + take]
        pos += take
        if len(escape) < needed:
            return pos
        self._data_escape = None
        events.append(("text", _resolve_escape(bytes(escape))))
        return pos


def _next_quote_or_backslash(chunk: bytes, pos: int) -> int:
    quote = chunk.find(b'"', pos)
    backslash = chunk.find(b"\\", pos, quote if quote != -1 else len(chunk))
    return backslash if backslash != -1 else quote


def _resolve_escape(escape: bytes) -> bytes:
    """A JSON escape inside the data string, as the character base64 would see (b"!" when none is valid)."""
    first = escape[0]
    if first in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[first]
    if first in _NOT_BASE64_ESCAPES:
        return b"!"
    if first != 0x75 or not all(byte in _HEX for byte in escape[1:]):
        raise MalformedJson("invalid escape")
    code = int(escape[1:], 16)
    if code in (0x09, 0x0A, 0x0D, 0x20):
        return b" "
    return bytes([code]) if code < 0x80 and code in _BASE64_ALPHABET else b"!"


@dataclass
class JsonUpload:
    body: dict[str, Any]
    data: StagedBytes | None  # the last top-level data string's bytes, when it was a non-empty string
    data_valid: bool

    async def discard(self) -> None:
        if self.data is not None:
            await self.data.abort()
            self.data = None


def _decode_checked(decoder: Base64Stream, text: bytes) -> bytes:
    if len(text.translate(None, _CONTROL)) != len(text):  # raw control characters are not JSON
        raise MalformedJson("control character in string")
    return decoder.decode(text)


async def read_json_upload(request: web.Request, blobs: BlobStorage, max_body: int, max_upload: int) -> JsonUpload:
    """Reads the whole body (the checks run in the contract's order afterwards); nothing is visible yet."""
    if request.content_length is not None and request.content_length > max_body:
        raise PayloadTooLargeError()
    scanner = Scanner()
    current: _DataString | None = None  # the latest top-level data string: the one json.loads would keep
    received = 0

    async def flush(string: _DataString) -> None:
        text = b"".join(string.pending)
        string.pending, string.pending_size = [], 0
        if len(text) < INLINE_DECODE:
            decoded = _decode_checked(string.decoder, text)
        else:
            decoded = await asyncio.to_thread(_decode_checked, string.decoder, text)
        if not decoded:
            return
        if string.writer is None:
            string.writer = await blobs.writer()
        if string.writer.size + len(decoded) > max_upload:
            raise PayloadTooLargeError()
        await string.writer.write(decoded)

    try:
        async for chunk in request.content.iter_any():
            received += len(chunk)
            if received > max_body:
                raise PayloadTooLargeError()
            for kind, text in scanner.feed(chunk):
                if kind == "start":
                    await _abort(current)  # a repeated key: the last one counts, as in json.loads
                    current = _DataString()
                    continue
                assert current is not None
                if kind == "text":
                    current.pending.append(text)
                    current.pending_size += len(text)
                    if current.pending_size >= DECODE_BATCH:
                        await flush(current)
                    continue
                if current.pending:  # end of the string
                    await flush(current)
                current.decoder.finish()
        body = _parse_skeleton(scanner)
    except MalformedJson as exc:
        await _abort(current)
        raise ValidationError("Malformed JSON") from exc
    except BaseException:
        await _abort(current)
        raise
    if current is None or body.get("data") != STREAMED:  # no data string, or a later non-string won
        await _abort(current)
        return JsonUpload(body=body, data=None, data_valid=True)
    return JsonUpload(body=body, data=current.writer, data_valid=current.decoder.valid)


def _parse_skeleton(scanner: Scanner) -> dict[str, Any]:
    if scanner.in_data:
        raise MalformedJson("unterminated string")
    if not bytes(scanner.skeleton).strip():
        return {}
    try:
        body = json.loads(scanner.skeleton)
    except (ValueError, RecursionError) as exc:
        raise MalformedJson(str(exc)) from exc
    if not isinstance(body, dict):
        raise ValidationError("JSON body must be an object")
    return body


async def _abort(string: _DataString | None) -> None:
    if string is not None and string.writer is not None:
        await string.writer.abort()
        string.writer = None
