"""Stored checklist versions. A (key, version) row never changes once written."""

from piccolo.columns import JSONB, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class ChecklistVersion(Table, tablename="checklist_version"):
    key = Varchar(length=80, index=True)
    version = Integer()
    kind = Varchar(length=20, index=True)
    title_zh = Varchar(length=300)
    title_en = Varchar(length=300)
    item_count = Integer()
    content_hash = Varchar(length=64)
    definition = JSONB()
    source_file = Varchar(length=300)
    loaded_at = Timestamptz(default=TimestamptzNow())
