"""Hand-written: composite indexes Piccolo cannot declare. One answer per item per
audit is an invariant; the others serve the hot queries (due lists, registers).

Each step can run again without failing (IF [NOT] EXISTS): a half-applied or repeated
migration must not stop an upgrade or a rollback."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes for answers, audits and nonconformances"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS answer_audit_item ON answer (audit, item_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS nc_year_seq ON nonconformance (year, seq)",
    "CREATE INDEX IF NOT EXISTS nc_state_due ON nonconformance (state, due_date)",
    "CREATE INDEX IF NOT EXISTS audit_asset_checklist ON audit (asset, checklist_key, status)",
    "CREATE INDEX IF NOT EXISTS photo_audit_item ON photo (audit, item_id)",
    "CREATE INDEX IF NOT EXISTS nc_source_item_audit_item ON nc_source_item (audit, item_id)",
]
BACKWARDS = [
    "DROP INDEX IF EXISTS nc_source_item_audit_item",
    "DROP INDEX IF EXISTS photo_audit_item",
    "DROP INDEX IF EXISTS audit_asset_checklist",
    "DROP INDEX IF EXISTS nc_state_due",
    "DROP INDEX IF EXISTS nc_year_seq",
    "DROP INDEX IF EXISTS answer_audit_item",
]


async def _run(statements: list[str]) -> None:
    # The engine is looked up when the step runs (not cached on a table class at first
    # use), so the statements join the migration's transaction on the current database.
    db = engine_finder()
    assert db is not None
    for sql in statements:
        await db.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_indexes() -> None:
        await _run(INDEXES)

    async def drop_indexes() -> None:
        await _run(BACKWARDS)

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
