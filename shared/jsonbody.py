"""Reading a JSON object body strictly: a client mistake is a ValidationError, never a 500."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from shared.errors import PayloadTooLargeError, ValidationError


def utf8_encodable(text: str) -> bool:
    """False for a string holding a lone surrogate (`"\\ud800"` is valid JSON, but no store or encoder
    can write it): such a field is a client mistake, answered 400, never a failed write."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def read_json_object(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLargeError() from exc
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValidationError("Malformed JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError("JSON body must be an object")
    return body
