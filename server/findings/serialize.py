"""NCs as JSON for the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from server.checklists.labels import label
from server.core import clock
from server.core.i18n import gettext as _
from server.core.i18n import written_in
from server.findings.labels import (
    action_kind_label,
    action_status_label,
    incident_level_definition,
    incident_level_label,
    source_label,
)
from server.findings.queries import detail
from server.findings.views import facts_from
from server.findings.workflow import Who, WorkflowError, available, state_label


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "ref": row["ref"],
        "title": row["title"],
        # Raised from an item: the title in both languages (null once rewritten by hand);
        # otherwise the language the title was written in.
        "titles": {"zh-CN": row["title_zh"], "en": row["title_en"]}
        if row.get("title_zh") or row.get("title_en") else None,
        "title_language": written_in(row["title"]),
        "severity": row["severity"],
        "severity_label": label("severity", row["severity"]),
        "state": row["state"],
        "state_label": state_label(row["state"]),
        "source": row["source"],
        "source_label": source_label(row["source"]),
        "audit": row["audit"],
        "owner": {"id": row["owner"], "login": row.get("owner_login"),
                  "name": row.get("owner_name")} if row.get("owner") else None,
        "project": row.get("project_code") if row.get("project") else None,
        "org_unit": row.get("org_code") if row.get("org_unit") else None,
        "due_date": _iso(row.get("due_date")),
        "overdue": bool(row.get("overdue")),
        "days_overdue": row.get("days_overdue", 0),
        "raised_at": _iso(row.get("raised_at")),
        "issued_at": _iso(row.get("issued_at")),
        "closed_at": _iso(row.get("closed_at")),
        "concession": row.get("concession"),
        "reopen_count": row.get("reopen_count") or 0,
        "incident_level": row.get("incident_level"),
        "incident_level_label": incident_level_label(row["incident_level"])
        if row.get("incident_level") else None,
        "version": row.get("version") or 0,
    }


def action(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": a["id"],
        "kind": a["kind"],
        "kind_label": action_kind_label(a["kind"]),
        "description": a["description"],
        "owner": {"id": a["owner"], "login": a.get("owner_login"), "name": a.get("owner_name")}
        if a.get("owner") else None,
        "due_date": _iso(a["due_date"]),
        "status": a["status"],
        "status_label": action_status_label(a["status"]),
        "overdue": bool(a.get("overdue")),
        "done_at": _iso(a.get("done_at")),
        "done_note": a.get("done_note") or "",
    }


def attachment(nc_id: int, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": a["id"], "step": a["step"], "step_label": a["step_label"],
        "action": a.get("action"), "filename": a["filename"], "kind": a["kind"],
        "content_type": a["content_type"], "size_bytes": a["size_bytes"],
        "sha256": a["sha256"], "uploaded_by": a.get("uploaded_by_login"),
        "uploaded_at": _iso(a.get("uploaded_at")),
        "url": f"/api/v1/nonconformances/{nc_id}/attachments/{a['id']}",
    }


def history_row(h: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": _iso(h["at"]),
        "actor": h["actor_login"],
        "action": h["action"],
        "changes": {k: [_iso(v) for v in pair] for k, pair in (h.get("changes") or {}).items()},
        "reason": h.get("reason") or "",
    }


def _evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """The stored evidence, each answer also in words (`value_label`)."""
    items = [{**item, "value_label": str(item["value_label"])} if "value_label" in item else item
             for item in evidence.get("items", [])]
    return {**evidence, "items": items} if "items" in evidence else evidence


def full(nc: dict[str, Any], transitions: list[str]) -> dict[str, Any]:
    out = summary(nc)
    out.update({
        "description": nc.get("description") or "",
        "requirement": nc.get("requirement") or {},
        "evidence": _evidence(nc.get("evidence") or {}),
        "severity_reason": nc.get("severity_reason") or "",
        "containment": nc.get("containment") or "",
        "root_cause": nc.get("root_cause") or "",
        "cause_category": nc.get("cause_category") or "",
        "five_whys": nc.get("five_whys") or [],
        "similar_elsewhere": nc.get("similar_elsewhere") or "",
        "verification_standard": nc.get("verification_standard") or "",
        "verification_note": nc.get("verification_note") or "",
        "verified_by": nc.get("verified_by_login"),
        "verified_at": _iso(nc.get("verified_at")),
        "plan_approved_by": nc.get("approved_by_login"),
        "plan_approved_at": _iso(nc.get("plan_approved_at")),
        "disposition": nc.get("disposition") or "",
        "cancel_reason": nc.get("cancel_reason") or "",
        "raised_by": nc.get("raised_by_login"),
        "photos": [
            {"id": p["id"], "audit": p["audit"], "item_id": p["item_id"],
             "thumb": f"/audits/{p['audit']}/photos/{p['id']}/thumb"}
            for p in nc.get("photos", [])
        ],
        "sources": [{"audit": s["audit"], "item_id": s["item_id"]}
                    for s in nc.get("sources", [])],
        "actions": [action(a) for a in nc.get("actions", [])],
        "incident_level_definition": incident_level_definition(nc.get("incident_level"))
        or None,
        "attachments": [attachment(nc["id"], a) for a in nc.get("attachments", [])],
        "history": [history_row(h) for h in nc.get("history", [])],
        "transitions": transitions,
    })
    return out


async def full_json(nc_id: int, reader: Any) -> dict[str, Any]:
    """One NC as the API shows it, with the states this person could move it to."""
    nc = await detail(nc_id, clock.today())
    if nc is None:
        raise WorkflowError(404, _("No such nonconformance."))
    return full(nc, [t.target for t in available(facts_from(nc), Who.of(reader))])
