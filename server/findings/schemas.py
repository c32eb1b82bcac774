"""What the NC pages and the NC API take. Every field is optional here: which ones a
step needs is the workflow's business (workflow.py), which names them when missing.
Handlers pass on only the fields that were sent (inputs.sent), so "not sent" and
"sent empty" stay apart (issuing a draft keeps its owner unless one is sent)."""

from __future__ import annotations

from datetime import date
from typing import Any

from msgspec import Struct


class NcFields(Struct):
    """The fields of an NC and of its workflow steps."""

    title: str = ""
    description: str = ""
    source: str = ""
    severity: str = ""
    severity_reason: str = ""
    incident_level: int | None = None
    owner: int | None = None
    project: int | None = None
    org_unit: int | None = None
    asset: int | None = None
    requirement: str = ""
    evidence: str = ""
    recurrence_of: str = ""
    verification_standard: str = ""
    containment: str = ""
    root_cause: str = ""
    cause_category: str = ""
    five_whys: Any = None  # a list of up to five lines, or text with one per line
    similar_elsewhere: str = ""
    verification_note: str = ""
    disposition: str = ""
    comment: str = ""
    reason: str = ""
    version: int | None = None
    to: str = ""  # a transition's target state
    step: str = ""  # a step taken only by name: "fix_on_spot"
    issue: bool = False  # raise and issue at once (API)


class ActionFields(Struct):
    kind: str = ""
    description: str = ""
    owner: int | None = None
    due_date: date | None = None
    note: str = ""
    reason: str = ""


class ConcessionFields(Struct):
    plan: str = ""
    until: date | None = None
    client_name: str = ""  # the client (or its supervisor) who approved
    approved_on: date | None = None  # the date on the signed approval
    approval_attachment: int | None = None  # the signed approval, attached before (API)
    client_contact: str = ""
    comment: str = ""
    done: bool = False
    note: str = ""
    version: int | None = None


class MergeFields(Struct):
    keep: int | None = None
    other: int | None = None


class AttachmentFields(Struct):
    """An attachment's form or multipart fields besides the file itself."""

    step: str = ""  # containment | action | verification | concession | on_the_spot
    action: int | None = None  # for step "action": which action
