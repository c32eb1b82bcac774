"""The append-only change log. Rows are chained by hash; the app never updates
or deletes them (and database triggers refuse it)."""

from piccolo.columns import JSON, BigSerial, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class ChangeLog(Table, tablename="change_log"):
    id = BigSerial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow())
    actor_id = Integer(null=True, default=None)  # no FK: history outlives its actors
    actor_login = Varchar(length=80, default="system")
    action = Varchar(length=40)
    record_table = Varchar(length=60)
    record_id = Varchar(length=60)
    changes = JSON(default="{}")
    reason = Text(default="")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
