"""A 1 GiB upload and a 1 GiB download through the gateway keep every process within 64 MiB of idle."""

import hashlib

import aiohttp
import pytest

from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.memory import peak_rss
from tests.support.payloads import GeneratedBody
from tests.support.stack import Stack

GIB = 2**30
LIMIT_MIB = 64


@pytest.mark.processes  # reads each service process's memory
async def test_one_gib_up_and_down_in_bounded_memory(api: Api, stack: Stack, store: DirectStore) -> None:
    _, token = await api.new_user()
    pids = {name: proc.pid for name, proc in stack.procs.items()}
    body = GeneratedBody(GIB)
    form = aiohttp.FormData()
    form.add_field("name", "big.bin")
    form.add_field("type", "file")
    form.add_field("data", body.chunks(), filename="big.bin", content_type="application/octet-stream")
    timeout = aiohttp.ClientTimeout(total=600)
    with peak_rss(pids) as upload:
        async with api.session.post(f"{stack.url}/files", data=form, headers={"X-Token": token}, timeout=timeout) as r:
            assert r.status == 201, await r.text()
            view = await r.json()
    assert view["size"] == GIB and view["sha256"] == body.sha256.hexdigest()

    digest, received = hashlib.sha256(), 0
    with peak_rss(pids) as download:
        async with api.session.get(
            f"{stack.url}/files/{view['id']}/data", headers={"X-Token": token}, timeout=timeout
        ) as r:
            assert r.status == 200
            async for chunk in r.content.iter_chunked(2**20):
                digest.update(chunk)
                received += len(chunk)
    assert received == GIB and digest.hexdigest() == view["sha256"]

    print(f"\nRSS growth (MiB) upload: {upload.growth_mib()}\nRSS growth (MiB) download: {download.growth_mib()}")
    for phase, meter in (("upload", upload), ("download", download)):
        for name, growth in meter.growth_mib().items():
            assert growth <= LIMIT_MIB, f"{name} grew {growth:.1f} MiB during the {phase}"
    status, _, _ = await api.call("DELETE", f"/files/{view['id']}", token=token)
    assert status == 204
