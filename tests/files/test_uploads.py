import base64

import pytest

from services.files.jsonupload import Base64Stream
from services.files.library import parse_page
from services.files.uploads import parse_upload
from shared.errors import ValidationError


def decode_base64(data: str) -> bytes:
    """The whole of a data string through the streamed decoder, in two pieces; as the handler treats it."""
    raw = data.encode().replace(b"\n", b" ").replace(b"\r", b" ").replace(b"\t", b" ")
    decoder = Base64Stream()
    out = decoder.decode(raw[:3]) + decoder.decode(raw[3:])
    decoder.finish()
    if not decoder.valid:
        raise ValidationError("Invalid data")
    return out


def test_defaults_and_root_spellings() -> None:
    upload = parse_upload({"name": "a", "type": "folder"})
    assert (upload.parent_id, upload.is_public, upload.data) == (0, False, None)
    for root in (0, "0", None, 0.0):
        assert parse_upload({"name": "a", "type": "folder", "parentId": root}).parent_id == 0
    assert parse_upload({"name": "a", "type": "folder", "parentId": "abc"}).parent_id == "abc"


@pytest.mark.parametrize(
    "data",
    ["QUJD", "QUI=", "QQ==", "QU\nJD", " QUJD\r\n"],
)
def test_base64_accepted(data: str) -> None:
    assert decode_base64(data) in (b"ABC", b"AB", b"A")


@pytest.mark.parametrize("data", ["QUJD=", "QUI", "QU=I", "QU!D", "QUJD====", "QQ=A", "data:;base64,QUJD", "é"])
def test_base64_refused(data: str) -> None:
    with pytest.raises(ValidationError, match="Invalid data"):
        decode_base64(data)


def test_round_trip_of_all_byte_values() -> None:
    content = bytes(range(256)) * 3
    assert decode_base64(base64.b64encode(content).decode()) == content


@pytest.mark.parametrize(
    ("raw", "page"),
    [(None, 0), ("", 0), ("abc", 0), ("0", 0), ("1", 1), ("12abc", 12), ("+2", 2), ("1000000", 1000000)],
)
def test_parse_page(raw: str | None, page: int) -> None:
    assert parse_page(raw) == page


@pytest.mark.parametrize("raw", ["-1", "-20", "1000001", "99999999999999999999"])
def test_parse_page_refuses_negative_and_huge(raw: str) -> None:
    with pytest.raises(ValidationError, match="Invalid page"):
        parse_page(raw)
