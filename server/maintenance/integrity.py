"""Everything `auditrail log verify` proves: the chain and its checkpoint, the records
against the state the log implies, each stored checklist version against its content
hash, and each photo file against the SHA-256 in its row."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.audits.tables import Photo
from server.changelog.replay import Replay
from server.changelog.verify import VerifyReport, anchor_at, verify_log
from server.checklists.tables import ChecklistVersion
from server.core.settings import Settings
from server.db.engine import read_snapshot
from server.evidence import storage

BATCH = 1000


@dataclass
class IntegrityReport:
    log: VerifyReport
    records: list[str] = field(default_factory=list)
    checklists: list[str] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return self.log.problems + self.records + self.checklists + self.photos

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_all(settings: Settings) -> IntegrityReport:
    """The full check; a clean one moves the checkpoint to the verified head. It reads one
    snapshot, so it can run beside a serving app: a save between reading the log and
    reading the records must not look like an edit behind the log's back."""
    replay = Replay()
    async with read_snapshot():
        report = IntegrityReport(log=await verify_log(replay, anchor_after=False))
        report.records = await replay.compare()
        report.checklists, report.counted["checklist versions"] = await check_definitions()
        report.photos, report.counted["photo files"] = await check_photos(settings.data_dir)
        attached, report.counted["attachment files"] = await check_photos(
            settings.data_dir, "nc_attachment")
        report.photos += attached
    report.counted["answers"] = len(replay.answers)
    for table, state in replay.records.items():
        report.counted[table] = sum(1 for v in state.values() if v is not None)
    if report.ok:
        anchor_at(report.log)
    return report


def definition_hash(definition: Any) -> str:
    """The content hash of a stored definition: checklists.loader.content_hash's canonical
    form (sorted keys, default separators) of the JSON as stored. PostgreSQL's JSONB
    reorders keys, so the text as stored is not the thing to hash."""
    data = json.loads(definition) if isinstance(definition, str) else definition
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def check_definitions() -> tuple[list[str], int]:
    problems: list[str] = []
    count, last = 0, 0
    while True:
        rows = await ChecklistVersion.raw(
            "SELECT id, key, version, content_hash, definition FROM checklist_version"
            f" WHERE id > {{}} ORDER BY id LIMIT {BATCH}", last)
        if not rows:
            break
        last = int(rows[-1]["id"])
        for row in rows:
            count += 1
            try:
                digest = definition_hash(row["definition"])
            except ValueError:
                digest = "unreadable JSON"
            if digest != row["content_hash"]:
                problems.append(
                    f"checklist_version {row['key']} v{row['version']}: the stored definition "
                    f"does not match its content hash (stored {row['content_hash']}, "
                    f"definition {digest})")
    return problems, count


def _file_problem(data_dir: Path, row: dict[str, Any], root: str = storage.PHOTOS
                  ) -> str | None:
    kind = "photo" if root == storage.PHOTOS else "attachment"
    where = f"{kind} {row['id']} ({row['path']})"
    try:
        path = storage.resolve(data_dir, row["path"], root)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except ValueError:
        return f"{where}: the stored path lies outside the {root} folder"
    except FileNotFoundError:
        return f"{where}: the file is missing"
    except OSError as exc:
        return f"{where}: the file cannot be read ({exc.strerror})"
    if digest.hexdigest() != row["sha256"]:
        return (f"{where}: the file does not match its SHA-256 (stored {row['sha256']}, "
                f"file {digest.hexdigest()})")
    return None


def _files_problems(data_dir: Path, rows: list[dict[str, Any]], root: str = storage.PHOTOS
                    ) -> list[str]:
    return [p for p in (_file_problem(data_dir, row, root) for row in rows) if p]


async def check_photos(data_dir: Path, table: str = "photo") -> tuple[list[str], int]:
    """Every stored file of `table` (photo, or nc_attachment) against its SHA-256."""
    root = storage.PHOTOS if table == "photo" else storage.ATTACHMENTS
    problems: list[str] = []
    count, last = 0, 0
    while True:
        rows = await Photo.raw(
            f"SELECT id, path, sha256 FROM {table} WHERE id > {{}} ORDER BY id LIMIT {BATCH}",
            last)
        if not rows:
            break
        last = int(rows[-1]["id"])
        count += len(rows)
        # Reading and hashing files blocks: one thread hop per batch, not per file.
        problems += await asyncio.to_thread(_files_problems, data_dir, rows, root)
    return problems, count
