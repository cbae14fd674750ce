"""The `users` collection, owned by auth: MongoDB documents `{_id, email, password}` or rows of the SQLite file."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite
from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.database import (
    Metadata,
    MetadataSchema,
    MongoDatabase,
    batched_by_id,
    new_id,
    ordered_id,
    parse_object_id,
)
from shared.sqlite import SqliteSchema, fetch


async def _mongo_indexes(db: MongoDatabase) -> None:
    await db["users"].create_index([("email", ASCENDING)], unique=True, name="email_unique")


SCHEMA = MetadataSchema(
    sqlite=SqliteSchema(
        """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password TEXT
);
"""
    ),
    mongo=_mongo_indexes,
)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password: str | None


class EmailTakenError(Exception):
    pass


class UserStore(Protocol):
    async def by_email(self, email: str) -> User | None: ...
    async def by_id(self, user_id: str) -> User | None: ...
    async def insert(self, email: str, password: str) -> User: ...
    async def set_password(self, user_id: str, password: str) -> None: ...
    async def count(self) -> int: ...


def _user_from_doc(doc: dict[str, Any]) -> User:
    password = doc.get("password")
    return User(
        id=str(doc["_id"]), email=str(doc.get("email", "")), password=password if isinstance(password, str) else None
    )


class MongoUserStore:
    def __init__(self, db: MongoDatabase) -> None:
        self._users = db["users"]
        self._by_id = batched_by_id(self._users)  # every `/users/me` of one turn of the loop, in one query

    async def by_email(self, email: str) -> User | None:
        doc = await self._users.find_one({"email": email})
        return _user_from_doc(doc) if doc else None

    async def by_id(self, user_id: str) -> User | None:
        oid = parse_object_id(user_id)
        if oid is None:
            return None
        doc = await self._by_id.load(oid)
        return _user_from_doc(doc) if doc else None

    async def insert(self, email: str, password: str) -> User:
        doc = {"_id": ordered_id(), "email": email, "password": password}
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError as exc:
            raise EmailTakenError(email) from exc
        return _user_from_doc(doc)

    async def set_password(self, user_id: str, password: str) -> None:
        await self._users.update_one({"_id": ObjectId(user_id)}, {"$set": {"password": password}})

    async def count(self) -> int:
        return await self._users.count_documents({})


class SqliteUserStore:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, args: tuple[Any, ...]) -> User | None:
        rows = await fetch(self._conn, sql, args)
        row = rows[0] if rows else None
        return User(id=row["id"], email=row["email"], password=row["password"]) if row else None

    async def by_email(self, email: str) -> User | None:
        return await self._one("SELECT id, email, password FROM users WHERE email = ?", (email,))

    async def by_id(self, user_id: str) -> User | None:
        return await self._one("SELECT id, email, password FROM users WHERE id = ?", (user_id.lower(),))

    async def insert(self, email: str, password: str) -> User:
        user = User(id=new_id(), email=email, password=password)
        try:
            await self._conn.execute(
                "INSERT INTO users (id, email, password) VALUES (?, ?, ?)", (user.id, email, password)
            )
        except sqlite3.IntegrityError as exc:
            raise EmailTakenError(email) from exc
        return user

    async def set_password(self, user_id: str, password: str) -> None:
        await self._conn.execute("UPDATE users SET password = ? WHERE id = ?", (password, user_id))

    async def count(self) -> int:
        rows = await fetch(self._conn, "SELECT COUNT(*) FROM users")
        return int(rows[0][0])


def user_store(metadata: Metadata) -> UserStore:
    if metadata.mongo is not None:
        return MongoUserStore(metadata.mongo)
    assert metadata.sqlite is not None
    return SqliteUserStore(metadata.sqlite)
