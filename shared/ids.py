"""ObjectId checks: ids from clients are validated before they reach any query."""

from __future__ import annotations

import re

from bson import ObjectId

_HEX24 = re.compile(r"[0-9a-f]{24}\Z", re.IGNORECASE)


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and _HEX24.match(value) is not None


def parse_object_id(value: object) -> ObjectId | None:
    return ObjectId(value) if is_object_id(value) else None  # type: ignore[arg-type]


def new_id() -> str:
    return str(ObjectId())
