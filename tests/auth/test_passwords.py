import hashlib

import pytest

from services.auth import passwords
from services.auth.passwords import PasswordHashing, is_legacy_sha1, needs_upgrade


async def test_hashes_are_argon2id_with_at_least_owasp_parameters() -> None:
    stored = await PasswordHashing(2).hash("toto1234!")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await PasswordHashing(2).verify(stored, "toto1234!")
    assert not await PasswordHashing(2).verify(stored, "toto1234?")


async def test_legacy_sha1_verifies_case_insensitively() -> None:
    digest = hashlib.sha1(b"toto1234!", usedforsecurity=False).hexdigest()
    assert digest == "89cad29e3ebc1035b29b1478a8e70854f25fa2b2"
    hashing = PasswordHashing(2)
    assert await hashing.verify(digest, "toto1234!")
    assert await hashing.verify(digest.upper(), "toto1234!")
    assert not await hashing.verify(digest, "wrong")
    assert is_legacy_sha1(digest) and needs_upgrade(digest)
    assert not needs_upgrade(await hashing.hash("x"))


@pytest.mark.parametrize(
    "stored",
    [None, "89cad29e3ebc1035b29b1478a8e70854f25fa2b2", "garbage", "ARGON"],
)
async def test_every_attempt_costs_exactly_one_argon2_verification(
    monkeypatch: pytest.MonkeyPatch, stored: str | None
) -> None:
    """Unknown users, legacy users and broken hashes cost what a wrong Argon2id password costs."""
    hashing = PasswordHashing(2)
    real = await hashing.hash("toto1234!")
    await hashing.verify(real, "warm up the dummy hash")
    calls: list[str] = []
    original = passwords._verify

    def counting(stored_hash: str, password: str) -> bool:
        calls.append(stored_hash)
        return original(stored_hash, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    await hashing.verify(stored if stored != "ARGON" else real, "wrong password")
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")
