"""Settings come from AUDITRAIL_* environment variables (see README), read here and
nowhere else: the app and the CLI build one Settings at start and hand it on."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# FULL: SQLite syncs the WAL at every commit, so an acknowledged write survives a power
# cut. NORMAL syncs only at checkpoints (faster; the last commits may be lost, never the
# file): an opt-out for hosts whose storage has its own power-loss protection.
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class SmtpConfig:
    """Where reminder mails go; Settings.smtp is None when mail is off."""

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 20.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpConfig | None:
        host = (env.get("AUDITRAIL_SMTP_HOST") or "").strip()
        if not host:
            return None
        starttls = _flag(env.get("AUDITRAIL_SMTP_STARTTLS"), False)
        try:
            port = int(env.get("AUDITRAIL_SMTP_PORT") or (587 if starttls else 25))
        except ValueError:
            port = 587 if starttls else 25
        return cls(
            host=host,
            port=port,
            sender=(env.get("AUDITRAIL_SMTP_FROM") or f"auditrail@{host}").strip(),
            user=env.get("AUDITRAIL_SMTP_USER") or "",
            password=env.get("AUDITRAIL_SMTP_PASSWORD") or "",
            starttls=starttls,
        )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    demo: bool = False
    checklists_dir: Path = PROJECT_ROOT / "checklists"
    max_body_bytes: int = 30 * 1024 * 1024
    timezone: str = "Asia/Shanghai"
    smtp: SmtpConfig | None = None
    # The command line's language: AUDITRAIL_LANGUAGE, else the shell's LANG.
    cli_language: str = ""
    sqlite_synchronous: str = "FULL"
    # Bearer token for GET /metrics; without one, only this host may read them.
    metrics_token: str = ""

    @property
    def engine(self) -> str:
        return (
            "postgresql"
            if self.database_url.startswith(("postgres://", "postgresql://"))
            else "sqlite"
        )

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("AUDITRAIL_DATA_DIR") or "./data").resolve()
        host = env.get("AUDITRAIL_HOST") or "127.0.0.1"
        port = int(env.get("AUDITRAIL_PORT") or 8000)
        synchronous = (env.get("AUDITRAIL_SQLITE_SYNCHRONOUS") or "FULL").strip().upper()
        if synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"AUDITRAIL_SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS)}"
            )
        database_url = (
            env.get("AUDITRAIL_DATABASE_URL") or f"sqlite:///{data_dir / 'auditrail.sqlite3'}"
        )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            host=host,
            port=port,
            base_url=(env.get("AUDITRAIL_BASE_URL") or f"http://{host}:{port}").rstrip("/"),
            secret_key=env.get("AUDITRAIL_SECRET_KEY") or "",
            demo=_flag(env.get("AUDITRAIL_DEMO"), False),
            checklists_dir=Path(env.get("AUDITRAIL_CHECKLISTS_DIR") or PROJECT_ROOT / "checklists"),
            timezone=env.get("AUDITRAIL_TIMEZONE") or "Asia/Shanghai",
            cli_language=env.get("AUDITRAIL_LANGUAGE") or env.get("LANG") or "",
            smtp=SmtpConfig.from_env(env),
            sqlite_synchronous=synchronous,
            metrics_token=(env.get("AUDITRAIL_METRICS_TOKEN") or "").strip(),
        )

    def with_secret(self) -> Settings:
        """Fill in the secret key, generating it once into the data dir."""
        if self.secret_key:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return replace(self, secret_key=key_file.read_text().strip())
