"""Nonconformances (NCs) and their corrective actions."""

import json
from typing import Any

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import User
from server.assets.tables import Asset
from server.audits.tables import Audit
from server.org.tables import OrgUnit, Project


class Nonconformance(Table, tablename="nonconformance"):
    ref = Varchar(length=20, unique=True)  # NC-2026-0001
    year = Integer()
    seq = Integer()
    # audit | inspection | manual | random_check | complaint | incident
    source = Varchar(length=20, index=True)
    audit = ForeignKey(Audit, null=True, on_delete=OnDelete.restrict, index=True)
    asset = ForeignKey(Asset, null=True, on_delete=OnDelete.restrict, index=True)
    project = ForeignKey(Project, null=True, on_delete=OnDelete.restrict, index=True)
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=300)  # as written; raised from an item, in the raiser's language
    # Raised from an item: the title in both languages, from its prompts; empty once a
    # person rewrites the title (then `title` is theirs, in the language they wrote).
    title_zh = Varchar(length=300, default="")
    title_en = Varchar(length=300, default="")
    requirement = JSON(default="{}")  # the item's prompt and guidance, both languages
    description = Text(default="")
    evidence = JSON(default="{}")  # answers and comments of the source items
    severity = Varchar(length=12, index=True)  # major | minor | observation
    severity_reason = Text(default="")
    incident_level = Integer(null=True, default=None)  # 1, 2 or 3 for quality incidents
    # draft | open | containment | root_cause | action_plan | plan_approved | implementing
    # | verification | closed | cancelled
    state = Varchar(length=20, index=True)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    raised_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    raised_at = Timestamptz(default=TimestamptzNow(), index=True)
    issued_at = Timestamptz(null=True, default=None)
    due_date = Date(null=True, default=None, index=True)  # the next deadline in force
    containment = Text(default="")
    root_cause = Text(default="")
    cause_category = Varchar(length=40, default="")
    five_whys = JSON(default="[]")
    similar_elsewhere = Text(default="")
    verification_standard = Text(default="")
    plan_approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    plan_approved_at = Timestamptz(null=True, default=None)
    verified_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    verified_at = Timestamptz(null=True, default=None)
    verification_note = Text(default="")
    disposition = Text(default="")
    concession = JSON(null=True, default=None)  # {"plan", "until", "client_contact"}
    closed_at = Timestamptz(null=True, default=None, index=True)
    cancel_reason = Text(default="")
    recurrence_of = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    reopen_count = Integer(default=0)
    version = Integer(default=0)


class NcSourceItem(Table, tablename="nc_source_item"):
    """The failed items an NC stands for (several when failures were merged)."""

    nc = ForeignKey(Nonconformance, on_delete=OnDelete.cascade, index=True)
    audit = ForeignKey(Audit, on_delete=OnDelete.restrict, index=True)
    item_id = Varchar(length=32)


class CorrectiveAction(Table, tablename="corrective_action"):
    nc = ForeignKey(Nonconformance, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=12)  # correction | corrective | preventive
    description = Text()
    owner = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    due_date = Date(index=True)
    status = Varchar(length=12, default="open", index=True)  # open | done | cancelled
    done_at = Timestamptz(null=True, default=None)
    done_note = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())


class NcAttachment(Table, tablename="nc_attachment"):
    """A file kept as evidence of one step of an NC (a photo, a PDF, a Word or Excel
    file), checked by its content. The file lies under <data_dir>/attachments/<nc id>/;
    `sha256` is of the stored bytes, so a changed file is found by the integrity check."""

    nc = ForeignKey(Nonconformance, on_delete=OnDelete.restrict, index=True)
    # containment | action | verification | concession | on_the_spot
    step = Varchar(length=20)
    action = ForeignKey(CorrectiveAction, null=True, on_delete=OnDelete.restrict)
    filename = Varchar(length=200)  # as uploaded, cleaned: shown and offered on download
    kind = Varchar(length=12)  # photo | pdf | docx | xlsx
    content_type = Varchar(length=120)
    path = Varchar(length=300)  # relative to the data directory
    size_bytes = Integer()
    sha256 = Varchar(length=64)
    uploaded_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    uploaded_at = Timestamptz(default=TimestamptzNow())


class ReminderSent(Table, tablename="reminder_sent"):
    """One row per reminder mailed, so a reminder is not sent twice."""

    nc = ForeignKey(Nonconformance, on_delete=OnDelete.cascade, index=True)
    action = ForeignKey(CorrectiveAction, null=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)  # due_soon | overdue
    recipient = Varchar(length=200)
    due_date = Date()
    sent_at = Timestamptz(default=TimestamptzNow())
    ok = Boolean(default=True)


class AppSetting(Table, tablename="app_setting"):
    """Small configurable policies (e.g. the NC due-date policy), as JSON by key."""

    key = Varchar(length=80, unique=True)
    value = JSON(default="{}")
    updated_at = Timestamptz(default=TimestamptzNow())


def loads(value: Any) -> Any:
    """A JSON column's value: PostgreSQL returns it parsed, SQLite as text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
