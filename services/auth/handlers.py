"""Thin handlers: parse, call the account rules, respond."""

from __future__ import annotations

from typing import TypedDict

from aiohttp import web

from services.auth.accounts import Accounts
from services.auth.users_store import User
from shared.errors import AuthenticationError
from shared.http import json_response
from shared.identity import caller_of
from shared.internal import UserCount
from shared.jsonbody import read_json_object

ACCOUNTS_KEY = web.AppKey("accounts", Accounts)


class UserView(TypedDict):
    id: str
    email: str


class TokenView(TypedDict):
    token: str


def user_view(user: User) -> UserView:
    return {"id": user.id, "email": user.email}


async def create_user(request: web.Request) -> web.Response:
    user = await request.app[ACCOUNTS_KEY].sign_up(await read_json_object(request))
    return json_response(user_view(user), status=201)


def client_address(request: web.Request) -> str:
    """The address the gateway saw (it sets X-Forwarded-For itself, dropping what a client sent)."""
    forwarded = request.headers.get("X-Forwarded-For", "").strip()
    return forwarded or request.remote or ""


async def connect(request: web.Request) -> web.Response:
    token = await request.app[ACCOUNTS_KEY].log_in(request.headers.get("Authorization"), client_address(request))
    view: TokenView = {"token": token}
    return json_response(view)


async def disconnect(request: web.Request) -> web.Response:
    caller = caller_of(request)
    if caller.anonymous:
        raise AuthenticationError()
    await request.app[ACCOUNTS_KEY].log_out(caller.user_id, request.headers.get("X-Token"))
    return web.Response(status=204)


async def get_me(request: web.Request) -> web.Response:
    user = await request.app[ACCOUNTS_KEY].me(caller_of(request).user_id)
    return json_response(user_view(user))


async def count_users(request: web.Request) -> web.Response:
    """Internal: the number of accounts, for the gateway's /stats."""
    count: UserCount = {"users": await request.app[ACCOUNTS_KEY].count()}
    return json_response(count)
