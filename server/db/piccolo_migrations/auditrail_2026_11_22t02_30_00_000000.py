"""Hand-written: Piccolo has no composite unique constraint, and a manager's raw
steps run before its table steps, so the index gets a migration of its own.

Each step can run again without failing (IF [NOT] EXISTS): a half-applied or repeated
migration must not stop an upgrade or a rollback."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-22T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "a checklist version is identified by (key, version)"

FORWARDS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS checklist_version_key_version "
    "ON checklist_version (key, version)",
]
BACKWARDS = ["DROP INDEX IF EXISTS checklist_version_key_version"]


async def _run(statements: list[str]) -> None:
    # The engine is looked up when the step runs (not cached on a table class at first
    # use), so the statements join the migration's transaction on the current database.
    db = engine_finder()
    assert db is not None
    for sql in statements:
        await db.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_index() -> None:
        await _run(FORWARDS)

    async def drop_index() -> None:
        await _run(BACKWARDS)

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
