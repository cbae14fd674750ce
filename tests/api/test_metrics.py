"""The internal services' /metrics through their own ports on the running stack: unsigned scrapes are
answered, everything else there still needs the gateway's signature; a thumbnail job is counted."""

from __future__ import annotations

import aiohttp

from tests.conftest import Api
from tests.support.images import image_bytes
from tests.support.inprocess import eventually
from tests.support.stack import Stack


async def scrape(http: aiohttp.ClientSession, stack: Stack, service: str) -> str:
    """The service's metrics: of every replica, one after the other, where it has several."""
    texts = []
    for url in stack.service_urls(service):
        async with http.get(f"{url}/metrics") as response:
            assert response.status == 200, service
            texts.append(await response.text())
    return "\n".join(texts)


def value(text: str, name: str, *labels: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and all(label in line for label in labels)
    )


async def test_each_internal_service_answers_a_scrape_and_nothing_unsigned(
    http: aiohttp.ClientSession, stack: Stack
) -> None:
    for service in ("auth", "files", "thumbnailer"):
        assert "# TYPE " in await scrape(http, stack, service)
    async with http.get(f"{stack.service_url('files')}/files") as response:
        assert response.status == 401


async def test_a_thumbnail_job_is_counted_by_the_thumbnailer(
    api: Api, http: aiohttp.ClientSession, stack: Stack
) -> None:
    before = value(await scrape(http, stack, "thumbnailer"), "jobs_total", 'queue="fileQueue"', 'outcome="done"')
    _, token = await api.new_user()
    await api.upload(token, "counted.png", "image", image_bytes(200, 100))

    async def counted() -> bool:
        text = await scrape(http, stack, "thumbnailer")
        return value(text, "jobs_total", 'queue="fileQueue"', 'outcome="done"') > before

    await eventually(counted, timeout=30)
    text = await scrape(http, stack, "thumbnailer")
    assert value(text, "job_duration_seconds_count", 'queue="fileQueue"') >= 1
    assert 'queue_depth{queue="fileQueue"}' in text
