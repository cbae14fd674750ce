"""The floor of the engine set for `make bench`: two bare hops with the libraries the services use, no project code.

`python scripts/floor_app.py files PORT` answers `GET /files/{id}` with one PyMongo `find_one`, and
`PUT /files/{id}/publish` with one `find_one_and_update` that changes the document (a real write);
`python scripts/floor_app.py gateway PORT UPSTREAM_PORT` looks the `X-Token` header up in Redis (one `GET`) and
forwards the request to the files hop with aiohttp's client. No logs, metrics, identity signing, guards or
checks: what a proxied read on MongoDB and Redis costs in Python at the least, measured in the same run as the
real services. The collection holds as many documents as the bench's user has (a file and 20 folders), since
an engine may read them all for a filter its index does not serve. MONGO_URL, MONGO_DATABASE and REDIS_URL
say where the engines are.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import orjson
import redis.asyncio as redis
import uvloop
from aiohttp import ClientSession, TCPConnector, web
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

TOKEN = "floor-token"  # noqa: S105 - a fixed key in a throwaway database
USER = "floor-user"
SIBLINGS = 20
DOCUMENT = {"_id": 1, "userId": USER, "name": "one.txt", "type": "file", "isPublic": False, "parentId": 0}

COLLECTION = web.AppKey("collection", AsyncCollection[dict[str, Any]])
TOKENS = web.AppKey("tokens", redis.Redis)
SESSION = web.AppKey("session", ClientSession)


def files_app() -> web.Application:
    async def start(app: web.Application) -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGO_URL"])
        app[COLLECTION] = client[os.environ["MONGO_DATABASE"]]["floor"]
        for number in range(1, SIBLINGS + 2):
            await app[COLLECTION].replace_one({"_id": number}, {**DOCUMENT, "_id": number}, upsert=True)

    def answer(document: dict[str, Any] | None) -> web.Response:
        if document is None:
            return web.Response(status=404)
        view = {"id": str(document["_id"]), "userId": document["userId"], "name": document["name"]}
        return web.Response(body=orjson.dumps(view), content_type="application/json")

    async def get(request: web.Request) -> web.Response:
        return answer(await request.app[COLLECTION].find_one({"_id": 1, "userId": request.headers["X-User"]}))

    async def publish(request: web.Request) -> web.Response:
        document = await request.app[COLLECTION].find_one_and_update(
            {"_id": 1, "userId": request.headers["X-User"]},
            {"$set": {"isPublic": True, "updatedAt": time.time()}},
            return_document=ReturnDocument.AFTER,
        )
        return answer(document)

    app = web.Application()
    app.on_startup.append(start)
    app.router.add_get("/files/{id}", get)
    app.router.add_put("/files/{id}/publish", publish)
    return app


def gateway_app(upstream: str) -> web.Application:
    async def start(app: web.Application) -> None:
        app[TOKENS] = redis.Redis.from_url(os.environ["REDIS_URL"])
        await app[TOKENS].set(f"auth_{TOKEN}", USER)
        app[SESSION] = ClientSession(connector=TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await app[SESSION].close()

    async def get(request: web.Request) -> web.Response:
        user = await request.app[TOKENS].get(f"auth_{request.headers.get('X-Token', '')}")
        if user is None:
            return web.Response(status=401)
        headers = {"X-User": user.decode() if isinstance(user, bytes) else user}
        url = f"{upstream}{request.path}"
        async with request.app[SESSION].request(request.method, url, headers=headers) as answer:
            body = await answer.read()
            return web.Response(body=body, status=answer.status, content_type="application/json")

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/files/{id}", get)
    app.router.add_put("/files/{id}/publish", get)
    return app


def main(argv: list[str]) -> None:
    role, port = argv[0], int(argv[1])
    app = files_app() if role == "files" else gateway_app(f"http://127.0.0.1:{argv[2]}")
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main(sys.argv[1:])
