"""Deployment settings, read once from ``AIGUILLAGE_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PREFIX = "AIGUILLAGE_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


@dataclass(frozen=True)
class Settings:
    database_url: str
    config_dir: Path
    data_dir: Path
    themes_dir: Path
    secret_key: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_tls: bool
    mail_sender: str
    ratelimit_storage_uri: str
    public_form_limit: str
    tracking_limit: str
    login_limit: str
    outbox_interval_seconds: int
    proxy_hops: int
    mail_poll_seconds: int = 60
    login_account_limit: str = "20 per hour"
    reset_limit: str = "5 per hour"
    reset_address_limit: str = "3 per hour"
    session_idle_minutes: int = 30
    session_max_hours: int = 10
    secure_cookies: bool = False

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @classmethod
    def from_environment(cls) -> Settings:
        data_dir = Path(_env("DATA_DIR", str(REPO_ROOT / "data"))).resolve()
        secret = _env("SECRET_KEY", "")
        if not secret:
            secret = _persistent_secret(data_dir)
        return cls(
            database_url=_env("DATABASE_URL", f"sqlite:///{data_dir / 'aiguillage.sqlite3'}"),
            config_dir=Path(_env("CONFIG_DIR", str(REPO_ROOT / "config"))).resolve(),
            data_dir=data_dir,
            themes_dir=Path(_env("THEMES_DIR", str(REPO_ROOT / "themes"))).resolve(),
            secret_key=secret,
            smtp_host=_env("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(_env("SMTP_PORT", "8025")),
            smtp_user=_env("SMTP_USER", ""),
            smtp_password=_env("SMTP_PASSWORD", ""),
            smtp_tls=_env("SMTP_TLS", "0") == "1",
            mail_sender=_env("MAIL_SENDER", "ne-pas-repondre@aiguillage.localhost"),
            ratelimit_storage_uri=_env("RATELIMIT_STORAGE_URI", "memory://"),
            public_form_limit=_env("PUBLIC_FORM_LIMIT", "10 per hour"),
            tracking_limit=_env("TRACKING_LIMIT", "10 per 10 minutes"),
            login_limit=_env("LOGIN_LIMIT", "10 per 10 minutes"),
            outbox_interval_seconds=int(_env("OUTBOX_INTERVAL_SECONDS", "20")),
            # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted,
            # so rate limits count citizens, not the proxy.
            proxy_hops=int(_env("PROXY_HOPS", "0")),
            mail_poll_seconds=int(_env("MAIL_POLL_SECONDS", "60")),
            # Sign-in attempts on one account, whatever the client address.
            login_account_limit=_env("LOGIN_ACCOUNT_LIMIT", "20 per hour"),
            reset_limit=_env("RESET_LIMIT", "5 per hour"),
            reset_address_limit=_env("RESET_ADDRESS_LIMIT", "3 per hour"),
            session_idle_minutes=int(_env("SESSION_IDLE_MINUTES", "30")),
            session_max_hours=int(_env("SESSION_MAX_HOURS", "10")),
            # 1 when served over HTTPS: cookies then get the Secure flag.
            secure_cookies=_env("SECURE_COOKIES", "0") == "1",
        )


def _persistent_secret(data_dir: Path) -> str:
    """A random key kept in the data folder, so sessions survive a restart without config."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
