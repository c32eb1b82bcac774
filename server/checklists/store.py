"""Reading stored checklist versions. Versions are immutable, so parsed
definitions are cached by (key, version) for the life of the process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.checklists.model import Checklist
from server.checklists.tables import ChecklistVersion

_cache: dict[tuple[str, int], Checklist] = {}


@dataclass(frozen=True)
class Summary:
    key: str
    version: int
    kind: str
    title_zh: str
    title_en: str
    items: int

    def title(self, lang: str) -> str:
        return self.title_zh if lang.startswith("zh") else self.title_en


def _summary(row: dict[str, Any]) -> Summary:
    return Summary(
        row["key"], row["version"], row["kind"], row["title_zh"], row["title_en"], row["item_count"]
    )


_SUMMARY_COLUMNS = (
    ChecklistVersion.key,
    ChecklistVersion.version,
    ChecklistVersion.kind,
    ChecklistVersion.title_zh,
    ChecklistVersion.title_en,
    ChecklistVersion.item_count,
)


async def latest_summaries(kind: str | None = None) -> list[Summary]:
    """The newest version of every checklist, ordered by kind then key."""
    query = ChecklistVersion.select(*_SUMMARY_COLUMNS).order_by(
        ChecklistVersion.kind, ChecklistVersion.key, ChecklistVersion.version
    )
    if kind:
        query = query.where(ChecklistVersion.kind == kind)
    newest: dict[str, Summary] = {}
    for row in await query:
        newest[row["key"]] = _summary(row)  # ordered by version, so the last one wins
    return list(newest.values())


async def latest_summary(key: str) -> Summary | None:
    """The newest version's summary of one checklist."""
    row = await ChecklistVersion.select(*_SUMMARY_COLUMNS).where(
        ChecklistVersion.key == key).order_by(ChecklistVersion.version, ascending=False).first()
    return None if row is None else _summary(row)


async def count_keys() -> int:
    rows = await ChecklistVersion.select(ChecklistVersion.key).distinct()
    return len(rows)


async def versions_of(key: str) -> list[int]:
    rows = (
        await ChecklistVersion.select(ChecklistVersion.version)
        .where(ChecklistVersion.key == key)
        .order_by(ChecklistVersion.version)
    )
    return [r["version"] for r in rows]


async def get(key: str, version: int | None = None) -> Checklist | None:
    """A checklist version (the newest when version is None), or None."""
    if version is None:
        versions = await versions_of(key)
        if not versions:
            return None
        version = versions[-1]
    cached = _cache.get((key, version))
    if cached is not None:
        return cached
    row = (
        await ChecklistVersion.select(ChecklistVersion.definition)
        .where((ChecklistVersion.key == key) & (ChecklistVersion.version == version))
        .first()
    )
    if row is None:
        return None
    definition = row["definition"]
    checklist = (
        Checklist.model_validate_json(definition)
        if isinstance(definition, str)
        else (Checklist.model_validate(definition))
    )
    _cache[(key, version)] = checklist
    return checklist
