"""Hand-written: the database itself refuses to update or delete change-log rows,
so an application bug cannot rewrite history (tampering needs deliberate DDL,
and `auditrail log verify` still catches it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T02:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "change log is append-only"


class ChangeLog(Table, tablename="change_log"):
    pass


SQLITE = [
    "CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END",
    "CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log "
    "BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END",
]
POSTGRES = [
    "CREATE FUNCTION change_log_refuse() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'change_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log "
    "FOR EACH ROW EXECUTE FUNCTION change_log_refuse()",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="auditrail", description=DESCRIPTION)

    async def create_triggers() -> None:
        statements = POSTGRES if ChangeLog._meta.db.engine_type == "postgres" else SQLITE
        for sql in statements:
            await ChangeLog.raw(sql)

    manager.add_raw(create_triggers)
    return manager
