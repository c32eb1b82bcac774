"""`auditrail backup DEST`: the database, the photos and the secret key in one tar file,
with a manifest of every member's SHA-256 and where it came from.

Copying the SQLite file of a running app loses what is still in its WAL file (the newest
acknowledged answers). The database is copied from one consistent snapshot instead: the
SQLite online backup API (one step, so one read transaction, while writers carry on), or
pg_dump in custom format inside an exported REPEATABLE READ snapshot. The change log's
head is read in that same snapshot and goes in as the restored copy's checkpoint. Photos
are copied after the snapshot: a photo's file is on disk before its row commits, so every
row in the snapshot finds its file.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from server import __version__
from server.changelog import anchor
from server.changelog.chain import (
    MARKER_ACTION,
    MARKER_RECORD,
    MARKER_TABLE,
    ChainKey,
    chain_key,
)
from server.core.settings import Settings
from server.evidence.storage import ATTACHMENTS, PHOTOS

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/auditrail.sqlite3"
PG_MEMBER = "database/auditrail.pgdump"
SECRET_MEMBER = "secret_key"
CHECKPOINT_MEMBER = anchor.CHECKPOINT_FILE
_HEAD = "SELECT id, hash FROM change_log ORDER BY id DESC LIMIT 1"
_MARKER = (
    f"SELECT id FROM change_log WHERE record_table = '{MARKER_TABLE}' AND record_id = "
    f"'{MARKER_RECORD}' AND action = '{MARKER_ACTION}' ORDER BY id LIMIT 1"
)


class BackupError(RuntimeError):
    pass


@dataclass
class Member:
    name: str
    sha256: str
    size: int
    source: str


@dataclass
class BackupResult:
    path: Path
    members: list[Member] = field(default_factory=list)
    rows: int = 0
    head: str = ""
    seconds: float = 0.0

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def redacted(url: str) -> str:
    """A database URL without its password, for the manifest and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools "
                          "(Debian: postgresql-client) in the server's major version or newer")
    return found


class _Hashing(io.RawIOBase):
    """Reads a file for tarfile while hashing it: one pass over a large database."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.digest.update(data)
        return data


class _Archive:
    def __init__(self, path: Path) -> None:
        self.tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.members: list[Member] = []

    def add_file(self, name: str, path: Path, source: str) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = path.stat().st_size, int(time.time()), 0o600
        with open(path, "rb") as fh:
            reader = _Hashing(fh)
            self.tar.addfile(info, reader)
        self.members.append(Member(name, reader.digest.hexdigest(), info.size, source))

    def add_bytes(self, name: str, data: bytes, source: str) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        self.tar.addfile(info, io.BytesIO(data))
        self.members.append(Member(name, hashlib.sha256(data).hexdigest(), len(data), source))


def _sqlite_snapshot(source: Path, target: Path) -> tuple[int, str, int | None]:
    """Copy the live database into `target`; the change log's head and marker in it."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: one step, one read transaction, a consistent copy
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the copied database fails SQLite's quick_check")
        head = dst.execute(_HEAD).fetchone()
        marker = dst.execute(_MARKER).fetchone()
    finally:
        dst.close()
        src.close()
    return (int(head[0]), head[1], int(marker[0]) if marker else None) if head else (0, "", None)


async def _pg_snapshot(url: str, target: Path) -> tuple[int, str, int | None]:
    """pg_dump (custom format) of the snapshot in which the change log's head is read."""
    import asyncpg

    pg_dump = tool("pg_dump")
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            head = await conn.fetchrow(_HEAD)
            marker = await conn.fetchval(_MARKER)
            # The exporting transaction stays open until pg_dump is done with the snapshot.
            proc = await asyncio.create_subprocess_exec(
                pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                f"--file={target}", f"--dbname={url}",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {err.decode(errors='replace').strip()}")
    finally:
        await conn.close()
    return (int(head["id"]), head["hash"], marker) if head else (0, "", None)


def _photos(data_dir: Path) -> list[Path]:
    """The evidence files: run photos and NC attachments."""
    found: list[Path] = []
    for folder in (PHOTOS, ATTACHMENTS):
        root = data_dir / folder
        if not root.is_dir():
            continue
        # ".name.tmp" files are being written (storage._write_atomic): not yet evidence
        found += sorted(p for p in root.rglob("*")
                        if p.is_file() and not p.is_symlink() and not p.name.endswith(".tmp"))
    return found


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def target_path(dest: Path) -> Path:
    if dest.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return dest / f"auditrail-backup-{stamp}.tar"
    return dest


async def backup(settings: Settings, dest: Path) -> BackupResult:
    """Write the archive to `dest` (a file, or a folder to put a dated file in)."""
    started = time.perf_counter()
    path = target_path(Path(dest))
    if path.exists():
        raise BackupError(f"{path} exists already; choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    secret_source = ("AUDITRAIL_SECRET_KEY" if settings.secret_key
                     else str(settings.data_dir / "secret_key"))
    settings = settings.with_secret()
    key = chain_key(settings)
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    with tempfile.TemporaryDirectory(prefix=".auditrail-backup-", dir=path.parent) as tmp:
        staged = Path(tmp)
        if settings.engine == "postgresql":
            member, database = PG_MEMBER, staged / "auditrail.pgdump"
            rows, head, keyed_from = await _pg_snapshot(settings.database_url, database)
            source = (f"pg_dump --format=custom of {redacted(settings.database_url)}, "
                      f"one snapshot, {at}")
        else:
            member, database = SQLITE_MEMBER, staged / "auditrail.sqlite3"
            rows, head, keyed_from = await asyncio.to_thread(
                _sqlite_snapshot, settings.sqlite_path, database)
            source = f"SQLite online backup of {settings.sqlite_path}, {at}"
        partial = staged / "archive.tar"
        result = BackupResult(path=path, rows=rows, head=head)
        await asyncio.to_thread(
            _write, partial, settings, member, database, source, secret_source, rows, head,
            keyed_from, key, at, result)
        os.replace(partial, path)
        _fsync_dir(path.parent)
    result.seconds = time.perf_counter() - started
    return result


def _write(partial: Path, settings: Settings, member: str, database: Path, source: str,
           secret_source: str, rows: int, head: str, keyed_from: int | None, key: ChainKey, at: str,
           result: BackupResult) -> None:
    archive = _Archive(partial)
    try:
        archive.add_file(member, database, source)
        for photo in _photos(settings.data_dir):
            rel = photo.relative_to(settings.data_dir).as_posix()
            archive.add_file(rel, photo, str(photo))
        archive.add_bytes(SECRET_MEMBER, settings.secret_key.encode(), secret_source)
        if rows:
            point = anchor.make(rows, head, keyed_from, key)
            archive.add_bytes(CHECKPOINT_MEMBER, anchor.encode(point, key),
                              "the change log's head in the database snapshot")
        manifest = {
            "format": FORMAT,
            "app": f"auditrail {__version__}",
            "created_at": at,
            "engine": settings.engine,
            "database": (redacted(settings.database_url) if settings.engine == "postgresql"
                         else str(settings.sqlite_path)),
            "change_log": {"rows": rows, "head": head, "keyed_from": keyed_from},
            "members": [asdict(m) for m in archive.members],
        }
        data = json.dumps(manifest, indent=1, ensure_ascii=False).encode() + b"\n"
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        archive.tar.addfile(info, io.BytesIO(data))
    finally:
        archive.tar.close()
    _fsync(partial)
    result.members = archive.members
