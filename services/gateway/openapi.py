"""The public API as OpenAPI 3.1: the original contract's routes and this project's additions, served by the
gateway at /openapi.json and browsable at /docs. CI keeps it true: schemathesis sends what it describes to
a running stack and checks every answer against it (tests/api/test_openapi.py)."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def error(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


def ok(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


UNAUTHORIZED = error("No valid X-Token")
NOT_FOUND = error("No such file of the caller's (or published, for downloads)")
BAD_REQUEST = error("The request breaks a rule; nothing was changed")
UNAVAILABLE = {
    **error("An engine or service does not answer; try again"),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
TIMEOUT = error("An internal service did not answer in time")
TOO_LARGE = error("The body is over its cap")
FULL = error("The storage is full")
FILE_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
TOKEN: list[dict[str, list[str]]] = [{"token": []}]

# What any route may answer besides its own: the edges of the gateway (ADR 9).
COMMON: dict[str, Schema] = {"503": UNAVAILABLE, "504": TIMEOUT}


def json_body(schema: Schema) -> Schema:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def operation(summary: str, responses: dict[str, Schema], **more: Any) -> Schema:
    return {"summary": summary, **more, "responses": {**responses, **COMMON}}


FILE_VIEW: Schema = {
    "type": "object",
    "required": ["id", "userId", "name", "type", "isPublic", "parentId"],
    "properties": {
        "id": {"type": "string", "description": "24 hex characters"},
        "userId": {"type": "string"},
        "name": {"type": "string"},
        "type": {"type": "string", "enum": ["folder", "file", "image"]},
        "isPublic": {"type": "boolean"},
        "parentId": {
            "type": ["integer", "string"],
            "description": '0 for the root (as stored: 0 or "0"), else the parent folder\'s id',
        },
        "size": {"type": ["integer", "null"], "description": "bytes (files and images)"},
        "sha256": {"type": ["string", "null"]},
        "mimeType": {"type": "string"},
        "thumbnail": {
            "type": ["string", "null"],
            "enum": ["pending", "ready", "failed", None],
            "description": "images: whether /data?size= answers yet",
        },
        "createdAt": {"type": ["string", "null"], "format": "date-time"},
        "updatedAt": {"type": ["string", "null"], "format": "date-time"},
    },
}

JSON_UPLOAD: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 255},
        "type": {"type": "string", "enum": ["folder", "file", "image"]},
        "parentId": {"type": ["integer", "string"], "description": "0 (the root) or a folder's id"},
        "isPublic": {"type": "boolean", "default": False},
        "data": {"type": "string", "contentEncoding": "base64", "description": "the bytes; not for folders"},
    },
    "required": ["name", "type"],
}

MULTIPART_UPLOAD: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "enum": ["folder", "file", "image"]},
        "parentId": {"type": "string"},
        "isPublic": {"type": "string", "enum": ["true", "false"]},
        "data": {"type": "string", "format": "binary"},
    },
    "required": ["name", "type"],
}

USER_VIEW: Schema = {
    "type": "object",
    "required": ["id", "email"],
    "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
}

BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def _paths() -> dict[str, Schema]:
    file_ops = {
        "parameters": [FILE_ID],
    }
    return {
        "/status": {
            "get": operation(
                "Whether the token store and the metadata store answer (always 200)",
                {
                    "200": ok(
                        "Each store's state",
                        {
                            "type": "object",
                            "required": ["redis", "db"],
                            "properties": {"redis": {"type": "boolean"}, "db": {"type": "boolean"}},
                        },
                    )
                },
                security=[],
            )
        },
        "/stats": {
            "get": operation(
                "How many users and files exist",
                {
                    "200": ok(
                        "The counts",
                        {
                            "type": "object",
                            "required": ["users", "files"],
                            "properties": {
                                "users": {"type": "integer", "minimum": 0},
                                "files": {"type": "integer", "minimum": 0},
                            },
                        },
                    )
                },
                security=[],
            )
        },
        "/users": {
            "post": operation(
                "Sign up",
                {
                    "201": ok("The new user", USER_VIEW),
                    "400": BAD_REQUEST,
                    "413": TOO_LARGE,
                    "507": FULL,
                },
                security=[],
                requestBody=json_body(
                    {
                        "type": "object",
                        "required": ["email", "password"],
                        "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
                    }
                ),
            )
        },
        "/connect": {
            "get": operation(
                "Log in with HTTP Basic (email:password) for a token valid 24 hours",
                {
                    "200": ok(
                        "A new token",
                        {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
                    ),
                    "401": error("Wrong or malformed credentials"),
                    "429": {
                        **error("Too many failed logins for this account or address"),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}, "required": True}},
                    },
                    "507": FULL,
                },
                security=[{"basic": []}],
            )
        },
        "/disconnect": {
            "get": operation(
                "Log out: the token stops working",
                {"204": {"description": "Logged out"}, "401": UNAUTHORIZED},
                security=TOKEN,
            )
        },
        "/users/me": {
            "get": operation(
                "Who the token belongs to", {"200": ok("The user", USER_VIEW), "401": UNAUTHORIZED}, security=TOKEN
            )
        },
        "/files": {
            "post": operation(
                "Upload a file or an image, or make a folder",
                {
                    "201": ok("The new record", ref("File")),
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "413": TOO_LARGE,
                    "415": error("Neither JSON nor multipart/form-data, or an encoded body"),
                    "417": error("An Expect other than 100-continue"),
                    "507": FULL,
                },
                security=TOKEN,
                requestBody={
                    "required": True,
                    "content": {JSON: {"schema": JSON_UPLOAD}, "multipart/form-data": {"schema": MULTIPART_UPLOAD}},
                },
            ),
            "get": operation(
                "A page (20) of the caller's records in one folder",
                {
                    "200": ok("The page, oldest first", {"type": "array", "items": ref("File"), "maxItems": 20}),
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                },
                security=TOKEN,
                parameters=[
                    {
                        "name": "parentId",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "the folder (0 or absent: the root)",
                    },
                    {"name": "page", "in": "query", "schema": {"type": "string"}, "description": "from 0"},
                ],
            ),
        },
        "/files/{id}": {
            **file_ops,
            "get": operation(
                "One of the caller's records",
                {"200": ok("The record", ref("File")), "401": UNAUTHORIZED, "404": NOT_FOUND},
                security=TOKEN,
            ),
            "patch": operation(
                "Rename and/or move (never a folder into its own subtree)",
                {
                    "200": ok("The changed record", ref("File")),
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "409": error("The move would put a folder inside itself"),
                    "413": TOO_LARGE,
                },
                security=TOKEN,
                requestBody=json_body(
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "parentId": {"type": ["integer", "string"]}},
                        "additionalProperties": False,
                    }
                ),
            ),
            "delete": operation(
                "Delete a file (its bytes and thumbnails) or a folder with everything under it",
                {"204": {"description": "Deleted"}, "401": UNAUTHORIZED, "404": NOT_FOUND, "409": error("Busy")},
                security=TOKEN,
            ),
        },
        **{
            f"/files/{{id}}/{action}": {
                **file_ops,
                "put": operation(
                    f"Make the record {state}",
                    {"200": ok("The record", ref("File")), "401": UNAUTHORIZED, "404": NOT_FOUND},
                    security=TOKEN,
                ),
            }
            for action, state in (("publish", "public"), ("unpublish", "private"))
        },
        "/files/{id}/data": {
            **file_ops,
            **{
                method: operation(
                    "The bytes: the owner's always, anyone's once published; ?size= for an image's thumbnail",
                    {
                        "200": {
                            "description": "The bytes, with the type their name implies",
                            "content": BINARY,
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                        },
                        "206": {"description": "The one byte range asked for", "content": BINARY},
                        "304": {"description": "Not modified (If-None-Match)"},
                        "400": error("A folder doesn't have content"),
                        "404": NOT_FOUND,
                        "412": error("Precondition failed"),
                        "416": {"description": "The range is outside the file"},
                        "500": error("The stored bytes do not match the record (run the files check)"),
                    },
                    security=[{}, {"token": []}],
                    parameters=[
                        {"name": "size", "in": "query", "schema": {"type": "string", "enum": ["500", "250", "100"]}},
                        {"name": "Range", "in": "header", "schema": {"type": "string"}},
                        {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                    ],
                )
                for method in ("get", "head")
            },
        },
        "/healthz": {
            "get": operation(
                "Liveness: the process answers",
                {"200": ok("Alive", {"type": "object", "properties": {"status": {"type": "string"}}})},
                security=[],
            )
        },
        "/readyz": {
            "get": operation(
                "Readiness: the token store and both internal services answer",
                {"200": ok("Ready", {"type": "object"}), "503": error("Not ready")},
                security=[],
            )
        },
    }


def build_spec() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Files manager",
            "version": "1.0.0",
            "description": (
                "Users, tokens, a tree of folders, uploads, publishing, downloads and thumbnails. Every error "
                'is `{"error": "..."}`; every answer carries `X-Request-Id`.'
            ),
        },
        "servers": [{"url": "/"}],
        "security": TOKEN,
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Token"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "File": FILE_VIEW,
            },
        },
    }


SPEC = build_spec()
