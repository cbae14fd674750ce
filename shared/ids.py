"""Id checks: ids from clients are validated before they reach any query. No driver here: the gateway
and the thumbnailer check ids too; making and parsing ObjectIds is the metadata engine's (shared/database.py)."""

from __future__ import annotations

import re

_HEX24 = re.compile(r"[0-9a-f]{24}\Z", re.IGNORECASE)


def is_object_id(value: object) -> bool:
    """24 hexadecimal digits: the shape of a MongoDB ObjectId, which every id of the contract has."""
    return isinstance(value, str) and _HEX24.match(value) is not None
