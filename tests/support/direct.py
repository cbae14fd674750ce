"""Direct access to the stores, as the original's grader has: insert documents, read rows, set tokens."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from bson import ObjectId
from pymongo import MongoClient

from tests.support.engines import Backends


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def same(path: str) -> str:
    return path


class DirectStore:
    def __init__(
        self,
        backends: Backends,
        data_dir: Path,
        host_path: Callable[[str], str] = same,
        service_path: Callable[[str], str] = same,
    ) -> None:
        """host_path and service_path turn a recorded localPath into this machine's view and back (they
        differ where the services run in containers)."""
        self.backends = backends
        self.host_path = host_path
        self.service_path = service_path
        self.sqlite_path = data_dir / "files_manager.sqlite3"
        self._mongo: MongoClient[dict[str, Any]] | None = None
        self._redis: redis.Redis | None = None
        if backends.real:
            self._mongo = MongoClient(backends.mongo_url, serverSelectionTimeoutMS=5000)
            self._redis = redis.Redis.from_url(str(backends.redis_url), decode_responses=True)

    def close(self) -> None:
        if self._mongo is not None:
            self._mongo.drop_database(str(self.backends.mongo_database))
            self._mongo.close()
        if self._redis is not None:
            self._redis.close()

    def _sql(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.sqlite_path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    @property
    def mongo(self) -> Any:
        assert self._mongo is not None
        return self._mongo[str(self.backends.mongo_database)]

    # users -----------------------------------------------------------------
    def users(self, **match: Any) -> list[dict[str, Any]]:
        if self.backends.real:
            docs = [{**d, "id": str(d["_id"])} for d in self.mongo["users"].find({})]
            return [d for d in docs if all(d.get(k) == v for k, v in match.items())]
        with self._sql() as conn:
            rows = [dict(r) for r in conn.execute("SELECT * FROM users")]
        return [r for r in rows if all(r.get(k) == v for k, v in match.items())]

    def insert_user(self, email: str, password: str | None = None) -> str:
        user_id = ObjectId()
        if self.backends.real:
            doc: dict[str, Any] = {"_id": user_id, "email": email}
            if password is not None:
                doc["password"] = password
            self.mongo["users"].insert_one(doc)
        else:
            with self._sql() as conn:
                conn.execute(
                    "INSERT INTO users (id, email, password) VALUES (?, ?, ?)", (str(user_id), email, password)
                )
        return str(user_id)

    # files -----------------------------------------------------------------
    def files(self, **match: Any) -> list[dict[str, Any]]:
        """Rows in a neutral shape: id, userId, name, type, isPublic, parentId, localPath."""
        if self.backends.real:
            out = []
            for d in self.mongo["files"].find({}).sort("_id", 1):
                parent = d.get("parentId")
                out.append(
                    {
                        "id": str(d["_id"]),
                        "userId": str(d.get("userId")),
                        "name": d.get("name"),
                        "type": d.get("type"),
                        "isPublic": d.get("isPublic"),
                        "parentId": str(parent) if isinstance(parent, ObjectId) else parent,
                        "localPath": self._local(d.get("localPath")),
                        "raw": d,
                    }
                )
            return [r for r in out if all(r.get(k) == v for k, v in match.items())]
        with self._sql() as conn:
            rows = [dict(r) for r in conn.execute("SELECT * FROM files ORDER BY rowid")]
        out = [
            {
                "id": r["id"],
                "userId": r["user_id"],
                "name": r["name"],
                "type": r["type"],
                "isPublic": bool(r["is_public"]),
                "parentId": r["parent_id"],
                "localPath": self._local(r["local_path"]),
                "thumbnail": r["thumbnail"],
                "raw": r,
            }
            for r in rows
        ]
        return [r for r in out if all(r.get(k) == v for k, v in match.items())]

    def _local(self, recorded: Any) -> Any:
        return self.host_path(recorded) if isinstance(recorded, str) else recorded

    def insert_file(
        self,
        user_id: str,
        name: str,
        type_: str,
        parent_id: Any = "0",
        is_public: bool | None = None,
        local_path: str | None = None,
    ) -> str:
        file_id = ObjectId()
        if self.backends.real:
            doc: dict[str, Any] = {
                "_id": file_id,
                "userId": ObjectId(user_id),
                "name": name,
                "type": type_,
                "parentId": ObjectId(parent_id) if len(str(parent_id)) == 24 else parent_id,
            }
            if is_public is not None:
                doc["isPublic"] = is_public
            if local_path is not None:
                doc["localPath"] = self.service_path(local_path)
            self.mongo["files"].insert_one(doc)
        else:
            with self._sql() as conn:
                conn.execute(
                    "INSERT INTO files (id, user_id, name, type, is_public, parent_id, local_path, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(file_id),
                        user_id,
                        name,
                        type_,
                        int(bool(is_public)),
                        parent_id,
                        None if local_path is None else self.service_path(local_path),
                        time.time(),
                    ),
                )
        return str(file_id)

    def mark_deleted(self, file_id: str) -> None:
        """What a delete cut short right after its first write leaves: the record marked, nothing else."""
        if self.backends.real:
            self.mongo["files"].update_one({"_id": ObjectId(file_id)}, {"$set": {"deletedAt": datetime.now(UTC)}})
        else:
            with self._sql() as conn:
                conn.execute("UPDATE files SET deleted_at = ? WHERE id = ?", (time.time(), file_id))

    def clear(self) -> None:
        if self.backends.real:
            self.mongo["users"].delete_many({})
            self.mongo["files"].delete_many({})
        else:
            with self._sql() as conn:
                conn.execute("DELETE FROM users")
                conn.execute("DELETE FROM files")

    # tokens ----------------------------------------------------------------
    def set_token(self, token: str, user_id: str) -> None:
        """A plain SET with no expiry, as the original's grader writes them."""
        if self._redis is not None:
            self._redis.set(f"auth_{token}", user_id)
        else:
            with self._sql() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO tokens (key, value, expires_at) VALUES (?, ?, NULL)",
                    (f"auth_{token}", user_id),
                )

    def token(self, token: str) -> tuple[str | None, float | None]:
        """(value, seconds to live or None for no expiry)."""
        if self._redis is not None:
            value = self._redis.get(f"auth_{token}")
            ttl = self._redis.ttl(f"auth_{token}")
            return value, (float(ttl) if ttl and ttl > 0 else None)
        with self._sql() as conn:
            row = conn.execute("SELECT value, expires_at FROM tokens WHERE key = ?", (f"auth_{token}",)).fetchone()
        if row is None:
            return None, None
        return row["value"], (row["expires_at"] - time.time() if row["expires_at"] else None)

    def count_tokens(self) -> int:
        if self._redis is not None:
            return len(list(self._redis.scan_iter("auth_*")))
        with self._sql() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM tokens WHERE key LIKE 'auth_%'").fetchone()[0])

    def clear_tokens(self) -> None:
        if self._redis is not None:
            for key in self._redis.scan_iter("auth_*"):
                self._redis.delete(key)
        else:
            with self._sql() as conn:
                conn.execute("DELETE FROM tokens")

    # jobs ------------------------------------------------------------------
    def failed_jobs(self, queue: str) -> list[dict[str, Any]]:
        """Jobs that failed for good (SQLite table only; RabbitMQ's are read from `<queue>.dead`)."""
        with self._sql() as conn:
            rows = conn.execute(
                "SELECT payload, state, last_error FROM jobs WHERE queue = ? AND state != 'ready'", (queue,)
            ).fetchall()
        return [{"payload": json.loads(r["payload"]), "state": r["state"], "error": r["last_error"]} for r in rows]
