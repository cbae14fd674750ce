"""Thumbnailer settings, read from the environment once, in the factory."""

from __future__ import annotations

from dataclasses import dataclass

from shared.objects import S3Settings
from shared.settings import EngineSettings, env_int, env_str


@dataclass(frozen=True)
class ThumbnailerSettings:
    engines: EngineSettings
    host: str
    port: int
    max_pixels: int
    max_attempts: int
    files_url: str
    objects: S3Settings | None  # S3_BUCKET: the bucket images' bytes may be in

    @classmethod
    def from_env(cls) -> ThumbnailerSettings:
        return cls(
            engines=EngineSettings.from_env(),
            host=env_str("THUMBNAILER_HOST", "127.0.0.1"),
            port=env_int("THUMBNAILER_PORT", 5003),
            max_pixels=env_int("THUMBNAIL_MAX_PIXELS", 50_000_000),
            max_attempts=env_int("JOB_MAX_ATTEMPTS", 5),
            files_url=env_str("FILES_URL", f"http://127.0.0.1:{env_int('FILES_PORT', 5002)}").rstrip("/"),
            objects=S3Settings.from_env(),
        )
