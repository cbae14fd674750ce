"""The thumbnailer app in process, beside the real files app on one embedded store: a job published by an
upload is consumed, rendered, and its outcome recorded by the files service, the only one with the table."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from tests.support.images import image_bytes
from tests.support.inprocess import Signed, eventually

OWNER = "5f1e7cda04a394508232559d"


@pytest.fixture
async def thumbnailer(
    aiohttp_client: AiohttpClient, files_service: Signed, monkeypatch: pytest.MonkeyPatch
) -> TestClient:  # type: ignore[type-arg]  # an Application's client
    from services.thumbnailer.app import create_app

    monkeypatch.setenv("FILES_URL", str(files_service.client.make_url("")))
    return await aiohttp_client(create_app())


async def test_an_uploaded_image_gets_its_thumbnails(
    files_service: Signed,
    thumbnailer: TestClient,  # type: ignore[type-arg]  # an Application's client
    embedded: Path,
) -> None:
    view = await files_service.upload(OWNER, "p.png", "image", image_bytes(80, 40))

    async def state() -> str | None:
        _, shown, _ = await files_service.call("GET", f"/files/{view['id']}", OWNER)
        return shown["thumbnail"] if shown["thumbnail"] != "pending" else None

    assert await eventually(state, timeout=15) == "ready"
    for size in ("500", "250", "100"):
        status, body, _ = await files_service.call("GET", f"/files/{view['id']}/data?size={size}", OWNER)
        assert status == 200 and len(body) > 0
    async with thumbnailer.get("/readyz") as response:
        assert response.status == 200
        assert (await response.json())["checks"] == {"jobs": True, "consumer": True, "files": True}
