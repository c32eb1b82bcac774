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

from server.changelog.tables import ChangeLog
from server.checklists.labels import label
from server.core import i18n, workbook
from server.core.cells import safe_cell
from server.core.clock import local_zone
from server.core.i18n import gettext as _
from server.findings.history import ACTION, NC
from server.findings.labels import (
    action_kind_label,
    action_status_label,
    concession_status_label,
    nc_title,
    source_label,
)
from server.findings.queries import (
    Filters,
    actions_of,
    all_matching_ids,
    answers_in_words,
    read_snapshot,
    rows_by_ids,
)
from server.findings.tables import loads
from server.findings.workflow import cause_label, state_label
from server.history.readable import Entry, readable

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
        shown = item.get("value_label") or (
            json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value)
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
    for row in rows:
        row["changes"] = loads(row["changes"]) or {}
    return rows


async def collect(ids: list[int], today: date) -> dict[str, Any]:
    """Everything the exports need, for these NC ids (already scoped and filtered)."""
    ncs = await rows_by_ids(ids[:MAX_ROWS], today)
    actions = await actions_of([n["id"] for n in ncs], today)
    for n in ncs:
        n["evidence"] = loads(n.get("evidence")) or {}
        n["requirement"] = loads(n.get("requirement")) or {}
        await answers_in_words(n)
    rows = await history_of([n["id"] for n in ncs], [a["id"] for a in actions])
    entries = await readable([(ACTION if r["record_table"] == "corrective_action" else NC, r)
                              for r in rows])
    action_nc = {a["id"]: a["nc"] for a in actions}
    ref_of = {n["id"]: n["ref"] for n in ncs}
    history = []
    for row, entry in zip(rows, entries, strict=True):  # both in log order
        nc = (action_nc.get(int(row["record_id"])) if row["record_table"] == "corrective_action"
              else int(row["record_id"]))
        history.append({"nc": nc, "ref": ref_of.get(nc, ""), "entry": entry})
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
        until = concession.get("until")
        conc = f"{concession_status_label(str(concession.get('status', '')))}" \
               f"{' ' + _when(until) if until else ''}: {concession.get('plan', '')}"
    source = source_label(n["source"])
    return [
        n["ref"], nc_title(n, lang), label("severity", n["severity"]), state_label(n["state"]),
        source, n.get("audit_title") or (n["audit"] or ""),
        _org(n, "project", lang), _org(n, "org", lang), n.get("owner_name") or "",
        n.get("raised_by_name") or "", n["raised_at"], n["issued_at"],
        n["due_date"], n["days_overdue"] or "", n["closed_at"],
        n.get("description") or "", requirement_text(n.get("requirement"), lang),
        evidence_text(n.get("evidence")), n.get("containment") or "", n.get("root_cause") or "",
        cause_label(n["cause_category"]) if n.get("cause_category") else "",
        "\n".join(loads(n.get("five_whys")) or []), n.get("similar_elsewhere") or "",
        n.get("verification_standard") or "", n.get("verification_note") or "",
        n.get("verified_by_name") or "", n.get("disposition") or "", conc,
        n.get("reopen_count") or 0, n.get("cancel_reason") or "",
    ]


def action_header() -> list[str]:
    return [_("Reference"), _("Action"), _("Kind"), _("Description"), _("Owner"), _("Due date"),
            _("Status"), _("Overdue"), _("Done at"), _("Note")]


def action_row(a: dict[str, Any], ref: str) -> list[Any]:
    return [ref, a["id"], action_kind_label(a["kind"]), a["description"],
            a.get("owner_name") or "", a["due_date"], action_status_label(a["status"]),
            _("yes") if a["overdue"] else "", a["done_at"], a.get("done_note") or ""]


def history_header() -> list[str]:
    return [_("Reference"), _("When"), _("Who"), _("What"), _("Changes"), _("Reason")]


def history_row(h: dict[str, Any]) -> list[Any]:
    entry: Entry = h["entry"]
    what = f"{entry.subject}: {entry.what}" if entry.subject else entry.what
    changes = "; ".join(f"{c.label}: {c.after}" if c.added else f"{c.label}: {c.before} → {c.after}"
                        for c in entry.changes)
    return [h["ref"], entry.at, entry.who, what, changes, entry.reason]


def to_csv(data: dict[str, Any]) -> bytes:
    lang = i18n.current_language.get()
    by_nc_actions: dict[int, list[str]] = {}
    for a in data["actions"]:
        by_nc_actions.setdefault(a["nc"], []).append(
            f"#{a['id']} [{action_kind_label(a['kind'])}] {a['description']} — "
            f"{a.get('owner_name') or ''}, {_when(a['due_date'])}, "
            f"{action_status_label(a['status'])}"
        )
    by_nc_history: dict[int, list[str]] = {}
    for h in data["history"]:
        if h["nc"] is None:
            continue
        entry: Entry = h["entry"]
        line = entry.line() + (f" — {entry.reason}" if entry.reason else "")
        by_nc_history.setdefault(h["nc"], []).append(line)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*register_header(), _("Actions"), _("History")])
    for n in data["ncs"]:
        row = [_when(v) for v in register_row(n, lang)]
        row += ["\n".join(by_nc_actions.get(n["id"], [])),
                "\n".join(by_nc_history.get(n["id"], []))]
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(data: dict[str, Any]) -> bytes:
    """Three sheets; dates and times as real cells on the organisation's clock."""
    lang = i18n.current_language.get()
    refs = {n["id"]: n["ref"] for n in data["ncs"]}
    return workbook.write([
        workbook.Tab(_("Nonconformances"), register_header(),
                     (register_row(n, lang) for n in data["ncs"])),
        workbook.Tab(_("Actions"), action_header(),
                     (action_row(a, refs.get(a["nc"], "")) for a in data["actions"])),
        workbook.Tab(_("History"), history_header(), (history_row(h) for h in data["history"])),
    ])


async def export(filters: Filters, user: Any, today: date, fmt: str) -> bytes:
    """The NCs this person sees with these filters, as CSV or XLSX (with actions and
    history), read in one snapshot."""
    async with read_snapshot():
        ids = await all_matching_ids(filters, user, today, MAX_ROWS)
        data = await collect(ids, today)
    return to_csv(data) if fmt == "csv" else to_xlsx(data)
