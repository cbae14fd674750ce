import pytest

from shared.identity import is_identity_header, sign, verify

SECRET = b"k" * 32


def test_signed_headers_verify_for_the_same_request() -> None:
    headers = sign(SECRET, "5f1e7cda04a394508232559d", "GET", "/files?page=1", now=1000)
    caller = verify(SECRET, headers, "GET", "/files?page=1", now=1010)
    assert caller is not None and caller.user_id == "5f1e7cda04a394508232559d" and not caller.anonymous


@pytest.mark.parametrize(
    ("method", "path", "now", "secret"),
    [
        ("POST", "/files?page=1", 1000, SECRET),  # another method
        ("GET", "/files?page=2", 1000, SECRET),  # another path or query
        ("GET", "/files?page=1", 1031, SECRET),  # stale
        ("GET", "/files?page=1", 969, SECRET),  # from the future
        ("GET", "/files?page=1", 1000, b"x" * 32),  # another secret
    ],
)
def test_signature_is_bound_to_request_time_and_secret(method: str, path: str, now: int, secret: bytes) -> None:
    headers = sign(SECRET, "5f1e7cda04a394508232559d", "GET", "/files?page=1", now=1000)
    assert verify(secret, headers, method, path, now=now) is None


def test_tampered_user_or_missing_headers_fail() -> None:
    headers = sign(SECRET, "5f1e7cda04a394508232559d", "GET", "/x", now=1000)
    assert verify(SECRET, {**headers, "X-FM-User": "000000000000000000000000"}, "GET", "/x", now=1000) is None
    assert verify(SECRET, {"X-FM-User": "a"}, "GET", "/x", now=1000) is None
    assert verify(SECRET, {**headers, "X-FM-Timestamp": "abc"}, "GET", "/x", now=1000) is None


@pytest.mark.parametrize(
    "changed",
    [
        {"X-FM-Timestamp": "\u00b2"},  # "²".isdigit() holds, int() refuses it
        {"X-FM-Timestamp": "\u0661\u0662"},  # Arabic-Indic digits: int() reads them
        {"X-FM-Timestamp": "\udcff"},  # a raw byte 0xff, as aiohttp decodes header values
        {"X-FM-Signature": "\u00e9" * 64},  # compare_digest refuses non-ASCII strings
        {"X-FM-User": "\udcff"},
    ],
)
def test_malformed_identity_headers_are_refused_not_raised(changed: dict[str, str]) -> None:
    headers = sign(SECRET, "5f1e7cda04a394508232559d", "GET", "/x", now=1000)
    assert verify(SECRET, {**headers, **changed}, "GET", "/x", now=1000) is None


def test_a_raw_path_with_undecodable_bytes_is_signed() -> None:
    path = "/files/\udcff"
    assert verify(SECRET, sign(SECRET, "", "GET", path, now=5), "GET", path, now=5) is not None


def test_anonymous_is_signed_too() -> None:
    caller = verify(SECRET, sign(SECRET, "", "GET", "/x", now=5), "GET", "/x", now=5)
    assert caller is not None and caller.anonymous


@pytest.mark.parametrize(
    "name", ["X-FM-User", "x-fm-signature", "X_FM_User", "x_fm_timestamp", "X-User-Id", "x_user_id"]
)
def test_every_spelling_of_identity_headers_is_recognised(name: str) -> None:
    assert is_identity_header(name)


def test_ordinary_headers_are_not_identity_headers() -> None:
    assert not is_identity_header("X-Token") and not is_identity_header("Content-Type")
