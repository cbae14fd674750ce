"""Files service settings, read from the environment once, in the factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.files.library import MAX_THUMBNAIL_REQUESTS
from services.files.tree_lease import LEASE_SECONDS
from shared.objects import S3Settings
from shared.settings import MIB, EngineSettings, UploadCaps, env_choice, env_float, env_int, env_str, folder_path


@dataclass(frozen=True)
class FilesSettings:
    engines: EngineSettings
    host: str
    port: int
    folder_path: Path
    max_json_body: int
    max_json_upload: int
    max_upload: int
    reconcile_interval: float
    reconcile_after: float
    max_thumbnail_requests: int
    blob_grace: float
    blob_sweep_interval: float
    tree_lease_seconds: float
    contract_views: bool  # STRICT_CONTRACT: file views are exactly the contract's six fields
    objects: S3Settings | None  # new bytes go to this bucket (S3_BUCKET), not FOLDER_PATH
    redirect_downloads: bool  # S3_DOWNLOADS=redirect: a download is a 302 to a presigned URL
    presign_seconds: int

    @classmethod
    def from_env(cls) -> FilesSettings:
        # Streamed uploads (multipart, and JSON's base64 since ADR 8) never sit in memory; this caps what
        # one may put on disk.
        caps = UploadCaps.from_env()
        return cls(
            engines=EngineSettings.from_env(),
            host=env_str("FILES_HOST", "127.0.0.1"),
            port=env_int("FILES_PORT", 5002),
            folder_path=folder_path(),
            # Every other JSON body (PATCH, internal calls) is small and read whole.
            max_json_body=MIB,
            max_json_upload=caps.json_body,
            max_upload=caps.file,
            reconcile_interval=env_float("THUMBNAIL_RECONCILE_INTERVAL", 30.0),
            reconcile_after=env_float("THUMBNAIL_RECONCILE_AFTER", 60.0),
            # Jobs published per image before it is `failed`: the first and the re-publications.
            max_thumbnail_requests=env_int("THUMBNAIL_MAX_REQUESTS", MAX_THUMBNAIL_REQUESTS),
            # A file in FOLDER_PATH that no record names is removed once this old (a crashed upload's bytes).
            blob_grace=env_float("BLOB_GRACE_SECONDS", 3600.0),
            blob_sweep_interval=env_float("BLOB_SWEEP_INTERVAL", 3600.0),
            # How long the tree lease of a crashed holder blocks its owner's moves and deletes (renewed
            # every third of it while held).
            tree_lease_seconds=env_float("TREE_LEASE_SECONDS", LEASE_SECONDS),
            contract_views=env_str("STRICT_CONTRACT", "false").strip().lower() in {"1", "true", "yes"},
            objects=S3Settings.from_env(),
            redirect_downloads=env_choice("S3_DOWNLOADS", ("stream", "redirect"), "stream") == "redirect",
            presign_seconds=env_int("S3_PRESIGN_SECONDS", 300),
        )
