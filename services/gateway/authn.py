"""X-Token → user id: `auth_<token>` in the token store, then the user must still exist."""

from __future__ import annotations

from services.gateway.directory import Directory
from shared.ids import is_object_id
from shared.tokens import TokenStore

MAX_TOKEN_LENGTH = 256


class TokenResolver:
    def __init__(self, tokens: TokenStore, users: Directory) -> None:
        self._tokens = tokens
        self._users = users

    async def resolve(self, token: str | None) -> str | None:
        """The caller's user id (lower-case hex), or None. Engine outages propagate (they are a 503)."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
            return None
        user_id = await self._tokens.get(token)
        if not is_object_id(user_id):
            return None
        assert user_id is not None
        user_id = user_id.lower()
        return user_id if await self._users.user_exists(user_id) else None
