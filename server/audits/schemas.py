"""What the audit pages and the audit API take."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from msgspec import Struct

from server.core.inputs import Verbatim


class StartAudit(Struct, forbid_unknown_fields=True):
    """POST /api/v1/audits."""

    checklist: str
    version: int | None = None
    title: str = ""
    org_unit: int | None = None
    project: int | None = None
    asset: str | None = None  # an asset code: starts an inspection of it


class AnswerIn(Struct, forbid_unknown_fields=True):
    """PUT /api/v1/audits/{id}/answers/{item}."""

    value: Any = None
    comment: str | None = None
    base_version: int | None = None


class BatchAnswer(Struct, forbid_unknown_fields=True):
    """One answer of a batch: what AnswerIn takes, for one item; `keep_value` saves the
    comment alone (the form's comment field)."""

    item_id: str
    value: Any = None
    comment: str | None = None
    base_version: int | None = None
    keep_value: bool = False


class AnswerBatch(Struct, forbid_unknown_fields=True):
    """POST /api/v1/audits/{id}/answers:batch: a device's queued answers, in order."""

    answers: list[BatchAnswer] = []


class AnswerForm(Struct):
    """The form's autosave of one item: one value, or several (`multi`) for a
    multiple-choice item; mode "comment" saves the comment alone."""

    value: list[Verbatim] = []
    multi: bool = False
    mode: str = "value"
    base_version: int | None = None
    comment: Verbatim | None = None

    def answer(self) -> Any:
        if self.multi or len(self.value) > 1:
            return list(self.value)
        return self.value[0] if self.value else None


class StartForm(Struct):
    """Starting a run from the catalogue."""

    checklist: str = ""
    org_unit: int | None = None
    project: int | None = None
    title: str = ""


class PlanForm(Struct):
    """Planning an audit into a half-year's programme, or changing a planned one."""

    half: str = ""
    checklist: str = ""
    org_unit: int | None = None
    project: int | None = None
    lead_auditor: int | None = None
    team: list[int] = []
    planned_date: date | None = None
    # Why the lead may audit their own department (they are warned; the reason is logged).
    override_reason: str = ""
    reason: str = ""


class CancelForm(Struct):
    reason: str = ""


class SignForm(Struct):
    password: Verbatim = Verbatim("")


class CloseForm(Struct):
    note: str = ""


MAX_PAGE = 500


class RunQuery(Struct, forbid_unknown_fields=True):
    """GET /api/v1/audits: every filter optional; a misspelt one is refused, not ignored
    (an integrator would otherwise get every run and not know it)."""

    kind: str | None = None
    status: str | None = None
    checklist: str | None = None
    org_unit: int | None = None
    project: int | None = None
    asset: str | None = None  # an asset code, as on its label
    period: str | None = None  # a half-year: 2026-H1
    updated_since: datetime | None = None
    limit: int = 100
    offset: int = 0
