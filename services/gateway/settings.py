"""Gateway settings, read from the environment once, in the factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.gateway.cors import parse_origins
from shared.settings import EngineSettings, UploadCaps, env_float, env_int, env_str, folder_path


@dataclass(frozen=True)
class GatewaySettings:
    engines: EngineSettings
    host: str
    port: int
    auth_url: str
    files_url: str
    upstream_connect_timeout: float
    upstream_read_timeout: float  # transfers: uploads and downloads
    upstream_auth_timeout: float
    upstream_files_timeout: float  # the files service's other routes
    sendfile_root: Path | None  # FOLDER_PATH when the gateway shares the volume and sends downloads itself
    uploads: UploadCaps
    header_timeout: float  # seconds from a request head's first byte to its last
    max_connections: int  # open client connections per worker process
    metrics_port: int | None  # /metrics on a second listening port; none: not served
    cors_origins: tuple[str, ...]  # none: no CORS; ("*",): any origin
    cors_max_age: int

    @classmethod
    def from_env(cls) -> GatewaySettings:
        return cls(
            engines=EngineSettings.from_env(),
            host=env_str("HOST", "0.0.0.0"),
            port=env_int("PORT", 5000),
            auth_url=env_str("AUTH_URL", f"http://127.0.0.1:{env_int('AUTH_PORT', 5001)}").rstrip("/"),
            files_url=env_str("FILES_URL", f"http://127.0.0.1:{env_int('FILES_PORT', 5002)}").rstrip("/"),
            upstream_connect_timeout=env_float("UPSTREAM_CONNECT_TIMEOUT", 5.0),
            upstream_read_timeout=env_float("UPSTREAM_READ_TIMEOUT", 300.0),
            upstream_auth_timeout=env_float("UPSTREAM_AUTH_TIMEOUT", 15.0),
            upstream_files_timeout=env_float("UPSTREAM_FILES_TIMEOUT", 60.0),
            sendfile_root=folder_path()
            if env_str("GATEWAY_SENDFILE", "true").lower() in {"1", "true", "yes"}
            else None,
            uploads=UploadCaps.from_env(),
            header_timeout=env_float("HEADER_TIMEOUT", 20.0),
            max_connections=env_int("MAX_CONNECTIONS", 10000),
            metrics_port=env_int("METRICS_PORT", 0) or None,
            cors_origins=parse_origins(env_str("CORS_ALLOWED_ORIGINS", "")),
            cors_max_age=env_int("CORS_MAX_AGE", 600),
        )
