"""POST /files validation, in the contract's order: name, type, data, parent; nothing written before all pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from shared.errors import ValidationError
from shared.jsonbody import utf8_encodable

FILE_TYPES = frozenset({"folder", "file", "image"})
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class UploadRequest:
    name: str
    type: str
    parent_id: int | str
    is_public: bool
    data: str | None


def _falsy(value: object) -> bool:
    """JavaScript's falsiness, which the contract's checks are written in."""
    return (
        value is None
        or value is False
        or value == ""
        or (isinstance(value, int | float) and not isinstance(value, bool) and value == 0)
    )


def _valid_name(name: object) -> TypeGuard[str]:
    return (
        isinstance(name, str)
        and len(name) <= MAX_NAME_LENGTH
        and "\x00" not in name
        and bool(name.strip())
        and utf8_encodable(name)
    )


def parse_upload(body: dict[str, Any], data_present: bool | None = None) -> UploadRequest:
    """`data_present` is given for multipart bodies, whose bytes are streamed aside rather than in `body`."""
    name = body.get("name")
    if _falsy(name):
        raise ValidationError("Missing name")
    if not _valid_name(name):
        raise ValidationError("Invalid name")
    file_type = body.get("type")
    if not isinstance(file_type, str) or file_type not in FILE_TYPES:
        raise ValidationError("Missing type")
    data = body.get("data")
    if data_present is not None:
        if file_type != "folder" and not data_present:
            raise ValidationError("Missing data")
        data = None
    elif file_type != "folder" and _falsy(data):
        raise ValidationError("Missing data")
    elif file_type != "folder" and not isinstance(data, str):
        raise ValidationError("Invalid data")
    parent_id = body.get("parentId", 0)
    if parent_id is None:
        parent_id = 0
    if parent_id not in (0, "0") or isinstance(parent_id, bool):
        if not isinstance(parent_id, str) or not utf8_encodable(parent_id):
            raise ValidationError("Parent not found")
    else:
        parent_id = 0
    is_public = body.get("isPublic", False)
    if is_public is None:
        is_public = False
    if not isinstance(is_public, bool):
        raise ValidationError("Invalid isPublic")
    return UploadRequest(
        name=name,
        type=file_type,
        parent_id=parent_id,
        is_public=is_public,
        data=data if file_type != "folder" else None,
    )


def form_to_body(fields: dict[str, str]) -> dict[str, Any]:
    """Multipart text fields as the JSON body they stand for (`isPublic` "true"/"false", `parentId` "" = root)."""
    body: dict[str, Any] = {key: value for key, value in fields.items() if key in ("name", "type", "parentId")}
    if body.get("parentId") == "":
        body["parentId"] = 0
    if "isPublic" in fields:
        flag = fields["isPublic"].strip().lower()
        body["isPublic"] = {"true": True, "1": True, "false": False, "0": False, "": False}.get(
            flag, fields["isPublic"]
        )
    return body


@dataclass(frozen=True)
class PatchRequest:
    name: str | None
    parent_id: int | str | None


def parse_patch(body: dict[str, Any]) -> PatchRequest:
    """PATCH /files/:id: `name` (rename) and/or `parentId` (move; 0 or "0" for the root)."""
    unknown = sorted(set(body) - {"name", "parentId"})
    if unknown:
        raise ValidationError(f"Unknown field: {unknown[0]}")
    name = None
    if "name" in body:
        name = body["name"]
        if _falsy(name):
            raise ValidationError("Missing name")
        if not _valid_name(name):
            raise ValidationError("Invalid name")
    parent_id: int | str | None = None
    if "parentId" in body:
        raw = body["parentId"]
        if raw in (0, "0") and not isinstance(raw, bool):
            parent_id = 0
        elif isinstance(raw, str) and utf8_encodable(raw):
            parent_id = raw
        else:
            raise ValidationError("Parent not found")
    if name is None and parent_id is None:
        raise ValidationError("Nothing to update")
    return PatchRequest(name=name, parent_id=parent_id)
