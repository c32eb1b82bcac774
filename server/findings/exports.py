"""The NC register with its actions and history, as CSV and XLSX, in the reader's
language. CSV: one row per NC, actions and history as multi-line cells (opens in
Excel: UTF-8 with a byte-order mark). XLSX: three sheets, one row per NC, per action
and per history entry."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

from server import i18n
from server.changelog.tables import ChangeLog
from server.checklists.labels import label
from server.clock import local_zone
from server.findings.queries import actions_of, rows_by_ids
from server.findings.service import since_creation
from server.findings.tables import loads
from server.findings.workflow import cause_label, state_label
from server.i18n import gettext as _

MAX_ROWS = 100_000


def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get("zh-CN" if lang == "zh_CN" else "en") or "")
    return "" if value is None else str(value)


def requirement_text(requirement: Any, lang: str) -> str:
    doc = loads(requirement) or {}
    lines = []
    for item in doc.get("items", []):
        line = f"{item.get('item_id', '')} {_text(item.get('prompt'), lang)}".strip()
        guidance = _text(item.get("guidance"), lang)
        if guidance:
            line += f" ({guidance})"
        lines.append(line)
    if doc.get("text"):
        lines.append(str(doc["text"]))
    return "\n".join(lines)


def evidence_text(evidence: Any) -> str:
    doc = loads(evidence) or {}
    lines = []
    for item in doc.get("items", []):
        value = item.get("value")
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        line = f"{item.get('item_id', '')}: {shown if shown is not None else ''}"
        if item.get("comment"):
            line += f" — {item['comment']}"
        lines.append(line)
    if doc.get("text"):
        lines.append(str(doc["text"]))
    return "\n".join(lines)


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _org(row: dict[str, Any], prefix: str, lang: str) -> str:
    code = row.get(f"{prefix}_code")
    if not code:
        return ""
    name = row.get(f"{prefix}_zh" if lang == "zh_CN" else f"{prefix}_en") or ""
    return f"{code} {name}".strip()


async def history_of(nc_ids: list[int], action_ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for table, ids in (("nonconformance", nc_ids), ("corrective_action", action_ids)):
        keys = [str(i) for i in ids]
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows += await ChangeLog.select().where(
                (ChangeLog.record_table == table) & ChangeLog.record_id.is_in(chunk)
            )
    rows.sort(key=lambda r: r["id"])
    by_record: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        row["changes"] = loads(row["changes"]) or {}
        by_record.setdefault((row["record_table"], row["record_id"]), []).append(row)
    kept = [r for group in by_record.values() for r in since_creation(group)]
    kept.sort(key=lambda r: r["id"])
    return kept


def _changes_text(changes: dict[str, Any]) -> str:
    parts = []
    for field, pair in changes.items():
        if field == "version":
            continue
        before, after = ([*pair, None, None])[:2] if isinstance(pair, list) else (None, pair)
        parts.append(f"{field}: {_short(before)} → {_short(after)}")
    return "; ".join(parts)


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."


async def collect(ids: list[int], today: date) -> dict[str, Any]:
    """Everything the exports need, for these NC ids (already scoped and filtered)."""
    ncs = await rows_by_ids(ids[:MAX_ROWS], today)
    actions = await actions_of([n["id"] for n in ncs], today)
    history = await history_of([n["id"] for n in ncs], [a["id"] for a in actions])
    action_nc = {a["id"]: a["nc"] for a in actions}
    ref_of = {n["id"]: n["ref"] for n in ncs}
    for h in history:
        if h["record_table"] == "corrective_action":
            h["nc"] = action_nc.get(int(h["record_id"]))
            h["what"] = f"action #{h['record_id']}: {h['action']}"
        else:
            h["nc"] = int(h["record_id"])
            h["what"] = h["action"]
        h["ref"] = ref_of.get(h["nc"], "")
    return {"ncs": ncs, "actions": actions, "history": history}


def register_header() -> list[str]:
    return [
        _("Reference"), _("Title"), _("Severity"), _("State"), _("Source"), _("Audit"),
        _("Project"), _("Department"), _("Owner"), _("Raised by"), _("Raised at"),
        _("Issued at"), _("Due date"), _("Days overdue"), _("Closed at"), _("Description"),
        _("Requirement"), _("Evidence"), _("Containment"), _("Root cause"),
        _("Cause category"), _("Five whys"), _("Similar problems elsewhere?"),
        _("Verification standard"), _("Verification result"), _("Verified by"),
        _("Disposition"), _("Concession"), _("Reopened"), _("Cancel reason"),
    ]


def register_row(n: dict[str, Any], lang: str) -> list[Any]:
    concession = loads(n.get("concession"))
    conc = ""
    if isinstance(concession, dict):
        conc = f"{concession.get('status', '')} {concession.get('until', '')}: " \
               f"{concession.get('plan', '')}"
    source = n["source"]
    return [
        n["ref"], n["title"], label("severity", n["severity"]), state_label(n["state"]),
        source, n.get("audit_title") or (n["audit"] or ""),
        _org(n, "project", lang), _org(n, "org", lang), n.get("owner_name") or "",
        n.get("raised_by_login") or "", _when(n["raised_at"]), _when(n["issued_at"]),
        _when(n["due_date"]), n["days_overdue"] or "", _when(n["closed_at"]),
        n.get("description") or "", requirement_text(n.get("requirement"), lang),
        evidence_text(n.get("evidence")), n.get("containment") or "", n.get("root_cause") or "",
        cause_label(n["cause_category"]) if n.get("cause_category") else "",
        "\n".join(loads(n.get("five_whys")) or []), n.get("similar_elsewhere") or "",
        n.get("verification_standard") or "", n.get("verification_note") or "",
        n.get("verified_by_login") or "", n.get("disposition") or "", conc,
        n.get("reopen_count") or 0, n.get("cancel_reason") or "",
    ]


def action_header() -> list[str]:
    return [_("Reference"), _("Action"), _("Kind"), _("Description"), _("Owner"), _("Due date"),
            _("Status"), _("Overdue"), _("Done at"), _("Note")]


def _kind(kind: str) -> str:
    return {"correction": _("Correction"), "corrective": _("Corrective action"),
            "preventive": _("Preventive action")}.get(kind, kind)


def _status(status: str) -> str:
    labels = {"open": _("Not done"), "done": _("Done"), "cancelled": _("Withdrawn")}
    return labels.get(status, status)


def action_row(a: dict[str, Any], ref: str) -> list[Any]:
    return [ref, a["id"], _kind(a["kind"]), a["description"], a.get("owner_name") or "",
            _when(a["due_date"]), _status(a["status"]), _("yes") if a["overdue"] else "",
            _when(a["done_at"]), a.get("done_note") or ""]


def history_header() -> list[str]:
    return [_("Reference"), _("When"), _("Who"), _("What"), _("Changes"), _("Reason")]


def history_row(h: dict[str, Any]) -> list[Any]:
    return [h["ref"], _when(h["at"]), h["actor_login"], h["what"],
            _changes_text(h["changes"]), h.get("reason") or ""]


def _safe(value: Any) -> Any:
    """Spreadsheet formula injection: a cell starting with = + - @ is shown as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(data: dict[str, Any]) -> bytes:
    lang = i18n.current_language.get()
    by_nc_actions: dict[int, list[str]] = {}
    for a in data["actions"]:
        by_nc_actions.setdefault(a["nc"], []).append(
            f"#{a['id']} [{_kind(a['kind'])}] {a['description']} — "
            f"{a.get('owner_name') or ''}, {_when(a['due_date'])}, {_status(a['status'])}"
        )
    by_nc_history: dict[int, list[str]] = {}
    for h in data["history"]:
        if h["nc"] is None:
            continue
        line = f"{_when(h['at'])} {h['actor_login']} {h['what']}"
        changes = _changes_text(h["changes"])
        if changes:
            line += f" ({changes})"
        if h.get("reason"):
            line += f" — {h['reason']}"
        by_nc_history.setdefault(h["nc"], []).append(line)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*register_header(), _("Actions"), _("History")])
    for n in data["ncs"]:
        row = register_row(n, lang)
        row += ["\n".join(by_nc_actions.get(n["id"], [])),
                "\n".join(by_nc_history.get(n["id"], []))]
        writer.writerow([_safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    lang = i18n.current_language.get()
    refs = {n["id"]: n["ref"] for n in data["ncs"]}
    wb = Workbook(write_only=True)
    sheets = (
        (_("Nonconformances"), register_header(),
         (register_row(n, lang) for n in data["ncs"])),
        (_("Actions"), action_header(),
         (action_row(a, refs.get(a["nc"], "")) for a in data["actions"])),
        (_("History"), history_header(), (history_row(h) for h in data["history"])),
    )
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.freeze_panes = "A2"
        ws.append(header)
        for row in rows:
            ws.append([_safe(v) for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
