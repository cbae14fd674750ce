"""X-Token → user id, through the token store alone (auth issues tokens only to existing users)."""

from __future__ import annotations

from shared.ids import is_object_id
from shared.tokens import TokenStore

MAX_TOKEN_LENGTH = 256


class TokenResolver:
    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens

    async def resolve(self, token: str | None) -> str | None:
        """The caller's user id (lower-case hex), or None. Engine outages propagate (they are a 503)."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
            return None
        user_id = await self._tokens.get(token)
        if user_id is None or not is_object_id(user_id):
            return None
        return user_id.lower()
