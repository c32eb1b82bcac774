"""NCs as JSON for the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "ref": row["ref"],
        "title": row["title"],
        "severity": row["severity"],
        "state": row["state"],
        "source": row["source"],
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
        "version": row.get("version") or 0,
    }


def action(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": a["id"],
        "kind": a["kind"],
        "description": a["description"],
        "owner": {"id": a["owner"], "login": a.get("owner_login"), "name": a.get("owner_name")}
        if a.get("owner") else None,
        "due_date": _iso(a["due_date"]),
        "status": a["status"],
        "overdue": bool(a.get("overdue")),
        "done_at": _iso(a.get("done_at")),
        "done_note": a.get("done_note") or "",
    }


def history_row(h: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": _iso(h["at"]),
        "actor": h["actor_login"],
        "action": h["action"],
        "changes": {k: [_iso(v) for v in pair] for k, pair in (h.get("changes") or {}).items()},
        "reason": h.get("reason") or "",
    }


def full(nc: dict[str, Any], transitions: list[str]) -> dict[str, Any]:
    out = summary(nc)
    out.update({
        "description": nc.get("description") or "",
        "requirement": nc.get("requirement") or {},
        "evidence": nc.get("evidence") or {},
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
        "history": [history_row(h) for h in nc.get("history", [])],
        "transitions": transitions,
    })
    return out
