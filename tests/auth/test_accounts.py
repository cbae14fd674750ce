import base64

import pytest

from services.auth.accounts import parse_basic


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Basic {b64('bob@dylan.com:toto1234!')}", ("bob@dylan.com", "toto1234!")),
        (f"basic {b64('a@b.c:x:y')}", ("a@b.c", "x:y")),
        (f"Basic {b64('a@b.c:')}", ("a@b.c", "")),
        (f"Basic {b64('é@b.c:ü')}", ("é@b.c", "ü")),
        ("Basic aGVsbG8=", None),  # "hello": no colon
        ("Basic !!!", None),
        ("Basic", None),
        ("Bearer abc", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_basic(header: str | None, expected: tuple[str, str] | None) -> None:
    assert parse_basic(header) == expected
