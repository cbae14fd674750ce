"""The welcome mail reaches a real SMTP server (aiosmtpd) from the running auth service."""

import email
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import Api
from tests.support.engines import Backends, own_broker
from tests.support.inprocess import eventually
from tests.support.stack import Stack, free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_stack(backends: Backends, tmp_path: Path) -> Iterator[tuple[Stack, Inbox]]:
    extra = own_broker(backends, "mail")  # the session stack's auth must not take this stack's userQueue jobs
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    running = Stack(backends, tmp_path, extra_env={**extra, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)})
    running.start()
    yield running, inbox
    running.stop()
    controller.stop()


async def test_sign_up_sends_the_welcome_mail(smtp_stack: tuple[Stack, Inbox], http) -> None:  # type: ignore[no-untyped-def]
    running, inbox = smtp_stack
    api = Api(http, running.url)
    _, address = await api.sign_up()

    async def delivered() -> bool:
        return bool(inbox.messages)

    await eventually(delivered, timeout=10)
    [message] = inbox.messages
    assert message["To"] == address
    assert f"Welcome {address}!" in message.get_payload()
    assert f"Welcome {address}!" in running.log("auth")
