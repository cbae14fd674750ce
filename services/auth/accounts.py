"""Sign-up, log-in and log-out rules of the contract; no HTTP in here."""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from typing import Any

from services.auth.passwords import PasswordHashing, needs_upgrade
from services.auth.throttle import LoginThrottle
from services.auth.users_store import EmailTakenError, User, UserStore
from shared.errors import AuthenticationError, ValidationError
from shared.jobs import USER_QUEUE, JobQueue, UserJob
from shared.jsonbody import utf8_encodable
from shared.tokens import TokenStore

log = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024


def _has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _required_text(body: dict[str, Any], field: str, max_length: int) -> str:
    value = body.get(field)
    if value is None or value == "" or value is False:
        raise ValidationError(f"Missing {field}")
    if not isinstance(value, str):
        raise ValidationError(f"Invalid {field}")
    if len(value) > max_length or _has_control_characters(value) or not utf8_encodable(value):
        raise ValidationError(f"Invalid {field}")
    return value


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """(email, password) from `Basic base64(email:password)`, split at the first colon; None if malformed."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    email, colon, password = text.partition(":")
    if not colon:
        return None
    return email, password


class Accounts:
    def __init__(
        self, users: UserStore, tokens: TokenStore, jobs: JobQueue, hashing: PasswordHashing, throttle: LoginThrottle
    ) -> None:
        self._users = users
        self._tokens = tokens
        self._jobs = jobs
        self._hashing = hashing
        self._throttle = throttle

    async def sign_up(self, body: dict[str, Any]) -> User:
        email = _required_text(body, "email", MAX_EMAIL_LENGTH)
        password = _required_text(body, "password", MAX_PASSWORD_LENGTH)
        if await self._users.by_email(email) is not None:
            raise ValidationError("Already exist")
        try:
            user = await self._users.insert(email, await self._hashing.hash(password))
        except EmailTakenError as exc:
            raise ValidationError("Already exist") from exc
        try:
            job: UserJob = {"userId": user.id}
            await self._jobs.publish(USER_QUEUE, job)
        except Exception as exc:  # noqa: BLE001 - the account exists; only the welcome mail is delayed
            log.warning("could not enqueue the welcome job for %s: %r", user.id, exc)
        return user

    async def log_in(self, authorization: str | None, address: str) -> str:
        """A new token for the credentials in `authorization`; failures from one account or one `address`
        past the throttle's limit are refused (429) before the password is even checked."""
        credentials = parse_basic(authorization)
        if credentials is None:
            raise AuthenticationError()
        email, password = credentials
        claim = await self._throttle.claim(email, address)
        user = None
        if len(email) <= MAX_EMAIL_LENGTH and len(password) <= MAX_PASSWORD_LENGTH:
            user = await self._users.by_email(email)
        if not await self._hashing.verify(user.password if user else None, password) or user is None:
            raise AuthenticationError()
        await self._throttle.succeeded(claim)
        if user.password is not None and needs_upgrade(user.password):
            await self._users.set_password(user.id, await self._hashing.hash(password))
        token = str(uuid.uuid4())
        await self._tokens.set(token, user.id)
        return token

    async def log_out(self, user_id: str, token: str | None) -> None:
        if not token or await self._tokens.get(token) != user_id:
            raise AuthenticationError()
        await self._tokens.delete(token)

    async def count(self) -> int:
        return await self._users.count()

    async def me(self, user_id: str) -> User:
        user = await self._users.by_id(user_id) if user_id else None
        if user is None:
            raise AuthenticationError()
        return user
