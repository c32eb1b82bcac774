"""Settings come from AUDITRAIL_* environment variables (see README)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    demo: bool = True
    checklists_dir: Path = PROJECT_ROOT / "checklists"
    max_body_bytes: int = 30 * 1024 * 1024
    debug: bool = False

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
            demo=_flag(env.get("AUDITRAIL_DEMO"), True),
            checklists_dir=Path(env.get("AUDITRAIL_CHECKLISTS_DIR") or PROJECT_ROOT / "checklists"),
            debug=_flag(env.get("AUDITRAIL_DEBUG"), False),
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
