"""Hand-written: composite indexes Piccolo cannot declare. One answer per item per
audit is an invariant; the others serve the hot queries (due lists, registers)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes for answers, audits and nonconformances"


class Answer(Table, tablename="answer"):
    pass


INDEXES = [
    "CREATE UNIQUE INDEX answer_audit_item ON answer (audit, item_id)",
    "CREATE UNIQUE INDEX nc_year_seq ON nonconformance (year, seq)",
    "CREATE INDEX nc_state_due ON nonconformance (state, due_date)",
    "CREATE INDEX audit_asset_checklist ON audit (asset, checklist_key, status)",
    "CREATE INDEX photo_audit_item ON photo (audit, item_id)",
    "CREATE INDEX nc_source_item_audit_item ON nc_source_item (audit, item_id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_indexes() -> None:
        for sql in INDEXES:
            await Answer.raw(sql)

    manager.add_raw(create_indexes)
    return manager
