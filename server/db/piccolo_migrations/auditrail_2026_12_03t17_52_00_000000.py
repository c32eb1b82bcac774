"""Hand-written: NCs raised from an item before titles had both languages get them from
the prompts stored in their requirement, when the title is still the generated one
("<item> <prompt>" in either language); a title a person rewrote stays theirs alone.

Forwards fills only empty pairs and backwards empties them, so each can run again."""

import json
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-03T17:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "both languages for the titles of NCs raised from an item"

LIMIT = 300


def titles(title: str, requirement: Any) -> tuple[str, str] | None:
    """(zh, en) for a generated title of a one-item NC, else None."""
    try:
        items = json.loads(requirement or "{}").get("items") or []
    except (TypeError, ValueError, AttributeError):
        return None
    if len(items) != 1 or not isinstance(items[0].get("prompt"), dict):
        return None
    item, prompt = str(items[0].get("item_id", "")), items[0]["prompt"]
    zh = f"{item} {prompt.get('zh-CN', '')}"[:LIMIT]
    en = f"{item} {prompt.get('en', '')}"[:LIMIT]
    return (zh, en) if title in (zh, en) else None


async def _db() -> Any:
    # Looked up when the step runs, so it joins the migration's transaction.
    db = engine_finder()
    assert db is not None
    return db


async def fill() -> None:
    db = await _db()
    rows = await db.run_querystring(QueryString(
        "SELECT id, title, requirement FROM nonconformance "
        "WHERE title_zh = '' AND title_en = ''"))
    for row in rows:
        pair = titles(row["title"], row["requirement"])
        if pair:
            await db.run_querystring(QueryString(
                "UPDATE nonconformance SET title_zh = {}, title_en = {} WHERE id = {}",
                pair[0], pair[1], row["id"]))


async def empty() -> None:
    db = await _db()
    await db.run_querystring(QueryString(
        "UPDATE nonconformance SET title_zh = '', title_en = ''"))


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)
    manager.add_raw(fill)
    manager.add_raw_backwards(empty)
    return manager
