"""Audit programmes, audit and inspection runs, answers and evidence."""

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from server.accounts.tables import User
from server.org.tables import OrgUnit, Project

# A run may be the inspection of an asset; the asset domain sits above this one (its due
# lists read runs), so the reference is resolved by name when the schema is complete.
ASSET = LazyTableReference("Asset", module_path="server.assets.tables")


class Programme(Table, tablename="programme"):
    """The audit plan of one half-year (H1 or H2)."""

    year = Integer()
    half = Integer()  # 1 or 2
    title = Varchar(length=200, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    # The management representative approves the plan (004 §4.1).
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    approved_at = Timestamptz(null=True, default=None)


class Audit(Table, tablename="audit"):
    """One run of one exact checklist version: an audit, inspection, acceptance or survey."""

    checklist_key = Varchar(length=80, index=True)
    checklist_version = Integer()
    kind = Varchar(length=20, index=True)
    title = Varchar(length=300, default="")
    programme = ForeignKey(Programme, null=True, on_delete=OnDelete.restrict, index=True)
    org_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.restrict, index=True)
    project = ForeignKey(Project, null=True, on_delete=OnDelete.restrict, index=True)
    asset = ForeignKey(ASSET, null=True, on_delete=OnDelete.restrict, index=True)
    lead_auditor = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    planned_date = Date(null=True, default=None)
    # planned -> in_progress -> submitted -> closed; a planned audit may be cancelled
    status = Varchar(length=20, default="in_progress", index=True)
    cancel_reason = Text(default="")
    started_at = Timestamptz(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None, index=True)
    closed_at = Timestamptz(null=True, default=None)
    score_percent = Real(null=True, default=None)
    passed = Boolean(null=True, default=None)
    score = JSON(default="{}")  # sections, failed items, critical failures at submit
    signed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    signer_name = Varchar(length=200, default="")
    signed_at = Timestamptz(null=True, default=None)
    signature_meaning = Varchar(length=300, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())


class AuditMember(Table, tablename="audit_member"):
    """The audit team beside the lead auditor."""

    audit = ForeignKey(Audit, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.restrict)


class Answer(Table, tablename="answer"):
    """The current answer to one item. `version` rises with every save (optimistic locking)."""

    audit = ForeignKey(Audit, on_delete=OnDelete.cascade)
    item_id = Varchar(length=32)
    value = JSON(null=True, default=None)
    comment = Text(default="")
    result = Varchar(length=4, null=True, default=None)  # pass | fail | na | None
    version = Integer(default=0)
    updated_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    updated_at = Timestamptz(default=TimestamptzNow())


class Photo(Table, tablename="photo"):
    """A stored image of evidence (or a drawn signature) for one item of one audit."""

    audit = ForeignKey(Audit, on_delete=OnDelete.restrict, index=True)
    item_id = Varchar(length=32)
    kind = Varchar(length=12, default="photo")  # photo | signature
    path = Varchar(length=300)
    thumb_path = Varchar(length=300)
    sha256 = Varchar(length=64)
    content_type = Varchar(length=30)
    width = Integer()
    height = Integer()
    size_bytes = Integer()
    captured_at = Timestamptz(null=True, default=None)
    uploaded_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    removed_at = Timestamptz(null=True, default=None)
