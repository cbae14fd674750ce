"""The `userQueue` consumer: greets each new user on the log and, when SMTP is configured, by mail."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from services.auth.settings import SmtpSettings
from services.auth.users_store import UserStore
from shared.ids import is_object_id
from shared.jobs import JobRejected

log = logging.getLogger(__name__)


class WelcomeMailer:
    def __init__(self, users: UserStore, smtp: SmtpSettings | None) -> None:
        self._users = users
        self._smtp = smtp

    async def handle(self, payload: dict[str, Any]) -> None:
        user_id = payload.get("userId")
        if not user_id:
            raise JobRejected("Missing userId")
        user = await self._users.by_id(user_id) if is_object_id(user_id) else None
        if user is None:
            raise JobRejected("User not found")
        print(f"Welcome {user.email}!", flush=True)
        if self._smtp is not None:
            await self._send(user.email)

    async def _send(self, email: str) -> None:
        assert self._smtp is not None
        message = EmailMessage()
        message["From"] = self._smtp.sender
        message["To"] = email
        message["Subject"] = "Welcome to Files manager"
        message.set_content(f"Welcome {email}!\n\nYour Files manager account is ready.\n")
        await aiosmtplib.send(
            message,
            hostname=self._smtp.host,
            port=self._smtp.port,
            username=self._smtp.username,
            password=self._smtp.password,
            start_tls=self._smtp.starttls,
            timeout=10,
        )
        log.info("welcome mail sent to user")
