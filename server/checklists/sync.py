"""Loading checklist files into the database, enforcing immutable versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from server.checklists.loader import content_hash, load_tree
from server.checklists.model import dump
from server.checklists.tables import ChecklistVersion
from server.db.engine import write_transaction


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


async def sync_checklists(
    directory: Path, progress: Callable[[str], None] | None = None
) -> SyncReport:
    """Store every valid checklist version not yet stored.

    A file whose (key, version) is stored with different content is refused:
    records point at versions, so a version's meaning must never change.
    """
    report = SyncReport()
    root = directory.parent
    results = load_tree([directory], root)
    stored = {
        (r["key"], r["version"]): r["content_hash"]
        for r in await ChecklistVersion.select(
            ChecklistVersion.key, ChecklistVersion.version, ChecklistVersion.content_hash
        )
    }
    new_rows: list[ChecklistVersion] = []
    for result in results:
        if progress:
            progress(result.file)
        report.errors.extend(str(p) for p in result.problems)
        checklist = result.checklist
        if checklist is None:
            continue
        label = f"{checklist.key} v{checklist.version}"
        digest = content_hash(checklist)
        known = stored.get((checklist.key, checklist.version))
        if known == digest:
            report.unchanged.append(label)
            continue
        if known is not None:
            report.errors.append(
                f"{result.file}:1: {label} is already stored with other content; "
                "raise `version` to publish a change"
            )
            continue
        new_rows.append(
            ChecklistVersion(
                key=checklist.key,
                version=checklist.version,
                kind=checklist.kind.value,
                title_zh=checklist.title.zh_CN,
                title_en=checklist.title.en,
                item_count=len(checklist.items()),
                content_hash=digest,
                definition=json.dumps(dump(checklist), ensure_ascii=False),
                source_file=result.file,
            )
        )
        report.added.append(label)
    if new_rows:
        async with write_transaction():
            await ChecklistVersion.insert(*new_rows)
    return report
