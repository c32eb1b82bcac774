"""`auditrail restore ARCHIVE`: check every member against the manifest, then put the
database, the photos, the secret key and the checkpoint in place.

Nothing in the target is touched until every hash has matched: members are unpacked
into a staging folder beside the data dir first. A non-empty target database or data dir
is refused unless `force` is given. Run it with the app stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from server.core.settings import Settings
from server.evidence import storage
from server.maintenance.backup import (
    CHECKPOINT_MEMBER,
    FORMAT,
    MANIFEST,
    PG_MEMBER,
    SECRET_MEMBER,
    SQLITE_MEMBER,
    redacted,
    tool,
)


class RestoreError(RuntimeError):
    pass


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    members: int = 0
    photos: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return False
    if name in (MANIFEST, SQLITE_MEMBER, PG_MEMBER, SECRET_MEMBER, CHECKPOINT_MEMBER):
        return True
    return pure.parts[0] in (storage.PHOTOS, storage.ATTACHMENTS) and len(pure.parts) >= 2


def _unpack(archive: Path, staging: Path) -> dict[str, Any]:
    """Unpack into `staging`, checking each member against the manifest; the manifest."""
    try:
        tar = tarfile.open(archive, "r:")  # noqa: SIM115
    except (tarfile.TarError, OSError) as exc:
        raise RestoreError(f"{archive} is not a backup archive ({exc})") from None
    with tar:
        try:
            raw = tar.extractfile(MANIFEST)
            manifest = json.loads(raw.read()) if raw else None
        except (KeyError, ValueError):
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise RestoreError(f"{archive} has no manifest this version can read")
        expected = {m["name"]: m for m in manifest["members"]}
        problems: list[str] = []
        seen: set[str] = set()
        for info in tar:
            if info.name == MANIFEST:
                continue
            if not info.isfile() or not _safe_name(info.name) or info.name not in expected:
                problems.append(f"{info.name}: not a member the manifest lists")
                continue
            target = staging / info.name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            source = tar.extractfile(info)
            assert source is not None
            with open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            seen.add(info.name)
            if digest.hexdigest() != expected[info.name]["sha256"]:
                problems.append(f"{info.name}: SHA-256 {digest.hexdigest()} does not match the "
                                f"manifest's {expected[info.name]['sha256']}")
        problems += [f"{name}: listed in the manifest, missing from the archive"
                     for name in expected if name not in seen]
    if problems:
        raise RestoreError("the archive is damaged: " + "; ".join(problems))
    return manifest


def _occupied(settings: Settings) -> list[str]:
    found = []
    if settings.data_dir.exists() and any(settings.data_dir.iterdir()):
        found.append(f"the data dir {settings.data_dir} is not empty")
    if settings.engine == "sqlite" and settings.sqlite_path.exists() \
            and not settings.sqlite_path.is_relative_to(settings.data_dir):
        found.append(f"the database {settings.sqlite_path} exists")
    return found


async def _pg_tables(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"))
    finally:
        await conn.close()


def _replace_sqlite(staged: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(staged, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    # A WAL or shared-memory file of the database being replaced would be replayed onto
    # the restored one: they go first.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, target)
    with closing(sqlite3.connect(target)) as conn:
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise RestoreError("the restored database fails SQLite's quick_check")


async def _pg_restore(url: str, dump: Path, clean: bool) -> None:
    args = [tool("pg_restore"), "--no-owner", "--no-acl", "--single-transaction",
            "--exit-on-error", f"--dbname={url}"]
    if clean:
        args += ["--clean", "--if-exists"]
    proc = await asyncio.create_subprocess_exec(
        *args, str(dump), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RestoreError(f"pg_restore into {redacted(url)} failed: "
                           f"{err.decode(errors='replace').strip()}")


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.restoring")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


async def restore(settings: Settings, archive: Path, force: bool = False) -> RestoreResult:
    started = time.perf_counter()
    data_dir = settings.data_dir
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".auditrail-restore-", dir=data_dir.parent) as tmp:
        staging = Path(tmp)
        manifest = await asyncio.to_thread(_unpack, archive, staging)
        result = RestoreResult(manifest=manifest, members=len(manifest["members"]))
        if manifest["engine"] != settings.engine:
            raise RestoreError(f"the archive holds a {manifest['engine']} database; the "
                               f"configured one is {settings.engine}")
        occupied = _occupied(settings)
        if settings.engine == "postgresql" and await _pg_tables(settings.database_url):
            occupied.append(f"the database {redacted(settings.database_url)} has tables")
        if occupied and not force:
            raise RestoreError("; ".join(occupied) + ": nothing was replaced (--force "
                               "replaces what is there)")
        data_dir.mkdir(parents=True, exist_ok=True)
        if settings.engine == "postgresql":
            await _pg_restore(settings.database_url, staging / PG_MEMBER, clean=bool(occupied))
        else:
            await asyncio.to_thread(_replace_sqlite, staging / SQLITE_MEMBER,
                                    settings.sqlite_path)
        photos = staging / storage.PHOTOS
        if (data_dir / storage.PHOTOS).exists():
            shutil.rmtree(data_dir / storage.PHOTOS)
        if photos.exists():
            result.photos = sum(1 for p in photos.rglob("*") if p.is_file())
            shutil.move(photos, data_dir / storage.PHOTOS)
        attached = staging / storage.ATTACHMENTS  # NC attachments, restored the same way
        if (data_dir / storage.ATTACHMENTS).exists():
            shutil.rmtree(data_dir / storage.ATTACHMENTS)
        if attached.exists():
            shutil.move(attached, data_dir / storage.ATTACHMENTS)
        secret = (staging / SECRET_MEMBER).read_bytes()
        _write_private(data_dir / "secret_key", secret)
        if settings.secret_key and settings.secret_key.encode() != secret:
            result.warnings.append(
                "AUDITRAIL_SECRET_KEY differs from the archive's secret key (now in the data "
                "dir's secret_key): unset it, or `log verify` and sessions use the other key")
        checkpoint = data_dir / CHECKPOINT_MEMBER
        if (staging / CHECKPOINT_MEMBER).exists():
            _write_private(checkpoint, (staging / CHECKPOINT_MEMBER).read_bytes())
        else:
            checkpoint.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    return result
