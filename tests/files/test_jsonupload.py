"""The streamed JSON upload scanner against json.loads, whatever the chunk boundaries."""

import base64
import binascii
import json
from typing import Any

import pytest

from services.files.jsonupload import STREAMED, Base64Stream, MalformedJson, Scanner, _decode_checked

CHUNK_SIZES = (1, 2, 3, 5, 7, 64, 1 << 20)


def scan(body: bytes, chunk_size: int) -> tuple[Any, list[tuple[bytes, bool]]]:
    """The skeleton's value and, per data string, its decoded bytes and validity."""
    scanner = Scanner()
    strings: list[tuple[bytearray, Base64Stream]] = []
    for start in range(0, len(body), chunk_size):
        for kind, text in scanner.feed(body[start : start + chunk_size]):
            if kind == "start":
                strings.append((bytearray(), Base64Stream()))
            elif kind == "text":
                strings[-1][0].extend(_decode_checked(strings[-1][1], text))
            else:
                strings[-1][1].finish()
    if scanner.in_data:
        raise MalformedJson("unterminated string")
    return json.loads(scanner.skeleton), [(bytes(out), decoder.valid) for out, decoder in strings]


def expected_bytes(text: str) -> tuple[bytes, bool]:
    """What the whole-string rules (ADR 3) say about a data string."""
    compact = "".join(text.split(" ")).replace("\n", "").replace("\r", "").replace("\t", "")
    if not compact.isascii() or len(compact) % 4 or "=" in compact.rstrip("="):
        return b"", False
    if len(compact) - len(compact.rstrip("=")) > 2:
        return b"", False
    try:
        return binascii.a2b_base64(compact.encode(), strict_mode=True), True
    except binascii.Error:
        return b"", False


BODIES = [
    {"name": "a.txt", "type": "file", "data": base64.b64encode(bytes(range(256)) * 9).decode()},
    {"data": "QUJD", "name": "first", "type": "file", "parentId": "0", "isPublic": True},
    {"name": 'quote " and \\ in "data"', "type": "file", "data": "QUJD", "other": {"data": "nested"}},
    {"name": "n", "type": "file", "data": "QU\nJD\r\n\t", "list": ["data", {"data": [1, "x"]}]},
    {"name": "n", "type": "file", "data": "QUJD="},
    {"name": "n", "type": "file", "data": "QQ==QUJD"},
    {"name": "n", "type": "file", "data": "QUJD===="},
    {"name": "n", "type": "file", "data": "QU\u00e9JD"},
    {"name": "n", "type": "file", "data": 'QU"JD'},
    {"name": "n", "type": "file", "data": "/+/+"},
    {"name": "n", "type": "folder", "data": ""},
    {"name": "n", "type": "file", "data": "   "},
    {"name": "\u00e9\U0001f600", "type": "image", "data": "iVBO"},
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_skeleton_and_bytes_match_json_loads(body: dict[str, Any], chunk_size: int) -> None:
    for raw in (json.dumps(body).encode(), json.dumps(body, ensure_ascii=False, indent=2).encode()):
        skeleton, strings = scan(raw, chunk_size)
        data = body["data"]
        assert skeleton == {**body, "data": STREAMED if data else ""}
        assert len(strings) == 1
        if data:
            decoded, valid = strings[0]
            expected, expected_valid = expected_bytes(data)
            assert valid == expected_valid
            if valid:  # the bytes of invalid data are thrown away, however far they got
                assert decoded == expected


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_escapes_inside_data_are_resolved(chunk_size: int) -> None:
    raw = rb'{"name":"n","type":"file","data":"\u0051U\/\u004aD\nQ\t=\r\u003d\u0020"}'
    expected = base64.b64decode("QU/JDQ==")
    assert scan(raw, chunk_size) == ({"name": "n", "type": "file", "data": STREAMED}, [(expected, True)])


@pytest.mark.parametrize("escape", [rb"\"", rb"\\", rb"\b", rb"\f", rb"\u00e9", rb"\ud800", rb"\u0000"])
def test_escapes_that_are_no_base64_make_the_data_invalid(escape: bytes) -> None:
    raw = b'{"name":"n","type":"file","data":"QU' + escape + b'JD"}'
    for chunk_size in CHUNK_SIZES:
        assert [valid for _, valid in scan(raw, chunk_size)[1]] == [False]


@pytest.mark.parametrize(
    "raw",
    [rb'{"data":"QU\x"}', rb'{"data":"QU\u12G4"}', b'{"data":"QU\nJD"}', b'{"data":"QU\x01JD"}', b'{"data":"QUJD'],
)
def test_malformed_data_strings(raw: bytes) -> None:
    for chunk_size in CHUNK_SIZES:
        with pytest.raises((MalformedJson, ValueError)):
            scan(raw, chunk_size)


def test_the_last_data_key_wins_and_only_top_level_data_is_streamed() -> None:
    raw = b'{"data":"QUJD","inner":{"data":"x"},"data":"QUI="}'
    skeleton, strings = scan(raw, 3)
    assert skeleton == {"data": STREAMED, "inner": {"data": "x"}}
    assert strings == [(b"ABC", True), (b"AB", True)]
    skeleton, strings = scan(b'{"data":"QUJD","data":7}', 2)
    assert skeleton == {"data": 7}


def test_a_top_level_array_is_not_scanned_for_data() -> None:
    skeleton, strings = scan(b'["data", {"data": "QUJD"}]', 4)
    assert skeleton == ["data", {"data": "QUJD"}]
    assert strings == []


def test_base64_stream_refuses_data_after_padding_across_batches() -> None:
    decoder = Base64Stream()
    assert decoder.decode(b"QQ==") == b"A"
    assert decoder.decode(b"QUJD") == b""
    assert not decoder.valid
    decoder = Base64Stream()
    assert decoder.decode(b"QU") + decoder.decode(b"JD") == b"ABC"
    decoder.finish()
    assert decoder.valid
    decoder = Base64Stream()
    decoder.decode(b"QUJDQ")
    decoder.finish()
    assert not decoder.valid
