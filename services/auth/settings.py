"""Auth service settings, read from the environment once, in the factory."""

from __future__ import annotations

from dataclasses import dataclass

from services.auth.throttle import ThrottleSettings
from shared.settings import EngineSettings, env_int, env_str


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None
    password: str | None
    starttls: bool


@dataclass(frozen=True)
class AuthSettings:
    engines: EngineSettings
    host: str
    port: int
    hash_concurrency: int
    smtp: SmtpSettings | None
    throttle: ThrottleSettings

    @classmethod
    def from_env(cls) -> AuthSettings:
        smtp_host = env_str("SMTP_HOST", "")
        smtp = None
        if smtp_host:
            smtp = SmtpSettings(
                host=smtp_host,
                port=env_int("SMTP_PORT", 25),
                sender=env_str("SMTP_FROM", "files-manager@localhost"),
                username=env_str("SMTP_USERNAME", "") or None,
                password=env_str("SMTP_PASSWORD", "") or None,
                starttls=env_str("SMTP_STARTTLS", "false").lower() in {"1", "true", "yes"},
            )
        return cls(
            engines=EngineSettings.from_env(),
            host=env_str("AUTH_HOST", "127.0.0.1"),
            port=env_int("AUTH_PORT", 5001),
            hash_concurrency=env_int("HASH_CONCURRENCY", 2),
            smtp=smtp,
            throttle=ThrottleSettings(
                per_account=env_int("LOGIN_MAX_FAILURES", 10),
                per_address=env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
                window=env_int("LOGIN_WINDOW_SECONDS", 900),
            ),
        )
