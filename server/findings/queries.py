"""Reading NCs: the register (filtered, scoped, paged), one NC with its actions,
evidence photos and history. Aggregates live in dashboard.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from markupsafe import escape

from server.audits.tables import Photo
from server.changelog.record import history
from server.checklists import store
from server.checklists.presenting import answer_text
from server.core.clock import local_zone
from server.db.engine import engine, engine_name
from server.findings.access import scope_sql
from server.findings.policy import ACTIVE_STATES, is_overdue
from server.findings.tables import (
    CorrectiveAction,
    NcAttachment,
    NcSourceItem,
    Nonconformance,
    loads,
)
from server.findings.workflow import SEVERITIES, STATES, attachment_label, int_of

PAGE_SIZE = 50
STATE_FILTERS = ("active", "all", "any", *STATES)


@dataclass(frozen=True)
class Filters:
    # "active" (open to verification) | "all" (every issued NC) | "any" (drafts too) | a state
    state: str = ""
    severity: str = ""
    owner: int | None = None
    overdue: bool = False
    audit: int | None = None
    project: int | None = None
    org_unit: int | None = None
    concession: bool = False
    q: str = ""
    page: int = 1
    limit: int = PAGE_SIZE

    @classmethod
    def parse(cls, params: Any, default_state: str = "active", max_limit: int = 500) -> Filters:
        """From query parameters; unknown or malformed values are ignored."""
        def get(name: str) -> str:
            value = params.get(name) if params is not None else None
            return str(value).strip() if value is not None else ""

        state = get("state") or default_state
        severity = get("severity")
        limit = int_of(get("limit")) or PAGE_SIZE
        page = int_of(get("page")) or 1
        offset = int_of(get("offset"))
        limit = max(1, min(limit, max_limit))
        if offset is not None and offset >= 0:
            page = offset // limit + 1
        return cls(
            state=state if state in STATE_FILTERS else default_state,
            severity=severity if severity in SEVERITIES else "",
            owner=int_of(get("owner")),
            overdue=get("overdue").lower() in ("1", "true", "yes", "on"),
            audit=int_of(get("audit")),
            project=int_of(get("project")),
            org_unit=int_of(get("org_unit")) or int_of(get("department")),
            concession=get("concession").lower() in ("1", "true", "yes", "on"),
            q=get("q")[:100],
            page=max(1, page),
            limit=limit,
        )

    def query(self, **changes: Any) -> str:
        """These filters as a query string (for links: pages, exports)."""
        from urllib.parse import urlencode

        current = replace(self, **changes)
        pairs = []
        for f in fields(current):
            value = getattr(current, f.name)
            if f.name == "limit" and value == PAGE_SIZE:
                continue
            if f.name == "page" and value == 1:
                continue
            if value in (None, "", False):
                continue
            pairs.append((f.name, "true" if value is True else str(value)))
        return urlencode(pairs)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@asynccontextmanager
async def read_snapshot() -> AsyncIterator[None]:
    """Run a page's reads in one transaction: one consistent snapshot; on SQLite one
    connection whose page cache the later queries reuse; on PostgreSQL custom plans.

    asyncpg prepares statements, and after five runs PostgreSQL may switch to a
    generic plan that cannot see the dates and picks the wrong index (measured on the
    overdue list: 4 ms -> 200 ms). These statements are cheap to plan each time."""
    async with engine().transaction():
        if engine_name() == "sqlite":
            # Per connection; Piccolo opens one per transaction. 32 MiB holds the pages
            # a dashboard reads, so each is read from disk once per request.
            await Nonconformance.raw("PRAGMA cache_size = -32768")
            # Grouping and materialised CTEs build temporary b-trees: keep them in memory.
            await Nonconformance.raw("PRAGMA temp_store = MEMORY")
        else:
            await Nonconformance.raw("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def state_index() -> str:
    """An index hint for queries that select NCs by state. SQLite's planner, left alone,
    prefers walking a GROUP BY or ORDER BY column's index and reading every row; the
    (state, due_date) index reads only the rows of the states asked for."""
    return "" if engine_name() == "postgresql" else " INDEXED BY nc_state_due"


def _placeholders(values: tuple[Any, ...] | list[Any]) -> str:
    return ", ".join("{}" for _ in values)


def where_sql(filters: Filters, user: Any, today: date) -> tuple[str, list[Any]]:
    """The WHERE clause (alias n) for these filters and this person's scope."""
    scope, args = scope_sql(user)
    parts = [scope]
    state = filters.state
    if state == "active":
        parts.append(f"n.state IN ({_placeholders(ACTIVE_STATES)})")
        args += list(ACTIVE_STATES)
    elif state == "all":
        parts.append("n.state <> 'draft'")
    elif state in STATES:
        parts.append("n.state = {}")
        args.append(state)
    if filters.severity:
        parts.append("n.severity = {}")
        args.append(filters.severity)
    for name in ("owner", "audit", "project", "org_unit"):
        value = getattr(filters, name)
        if value is not None:
            parts.append(f"n.{name} = {{}}")
            args.append(value)
    if filters.overdue:
        parts.append(f"n.state IN ({_placeholders(ACTIVE_STATES)}) AND n.due_date < {{}}")
        args += [*ACTIVE_STATES, today]
    if filters.concession:
        parts.append("n.concession IS NOT NULL AND n.state <> 'cancelled'")
    if filters.q:
        # SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE.
        like = "ILIKE" if engine_name() == "postgresql" else "LIKE"
        parts.append(f"(n.ref {like} {{}} OR n.title {like} {{}} OR n.title_zh {like} {{}}"
                     f" OR n.title_en {like} {{}})")
        needle = "%" + filters.q.replace("%", "").replace("_", "") + "%"
        args += [needle] * 4
    return " AND ".join(f"({p})" for p in parts), args


LIST_COLUMNS = """
    n.id, n.ref, n.title, n.title_zh, n.title_en, n.severity, n.state, n.source, n.due_date,
    n.raised_at,    n.issued_at, n.closed_at, n.audit, n.owner, n.project, n.org_unit, n.concession,
    n.reopen_count, n.incident_level, n.version,
    u.name AS owner_name, u.login AS owner_login,
    p.code AS project_code, p.name_zh AS project_zh, p.name_en AS project_en,
    o.code AS org_code, o.name_zh AS org_zh, o.name_en AS org_en
"""
LIST_JOINS = """
    LEFT JOIN app_user u ON u.id = n.owner
    LEFT JOIN project p ON p.id = n.project
    LEFT JOIN org_unit o ON o.id = n.org_unit
"""


TIMESTAMPS = ("raised_at", "issued_at", "closed_at", "plan_approved_at", "verified_at", "done_at",
              "created_at", "at", "uploaded_at")


def localise(row: dict[str, Any]) -> dict[str, Any]:
    """Timestamps in the organisation's time zone, so pages show local times."""
    zone = local_zone()
    for name in TIMESTAMPS:
        value = row.get(name)
        if isinstance(value, datetime) and value.tzinfo is not None:
            row[name] = value.astimezone(zone)
    return row


def _decorate(row: dict[str, Any], today: date) -> dict[str, Any]:
    localise(row)
    row["concession"] = loads(row.get("concession"))
    row["overdue"] = is_overdue(row.get("due_date"), row["state"], today)
    row["days_overdue"] = (today - row["due_date"]).days if row["overdue"] else 0
    return row


async def register(filters: Filters, user: Any, today: date, *, count: bool = True
                   ) -> tuple[list[dict[str, Any]], int]:
    """One page of the register and the total number of matches."""
    where, args = where_sql(filters, user, today)
    total = 0
    if count:
        counted = await Nonconformance.raw(
            f"SELECT count(*) AS total FROM nonconformance n WHERE {where}", *args
        )
        total = int(counted[0]["total"])
    # Page the ids first on the narrow table, then join only those rows.
    rows = await Nonconformance.raw(
        f"SELECT {LIST_COLUMNS} FROM (SELECT n.id FROM nonconformance n WHERE {where} "
        f"ORDER BY n.id DESC LIMIT {int(filters.limit)} OFFSET {int(filters.offset)}) AS page "
        f"JOIN nonconformance n ON n.id = page.id {LIST_JOINS} ORDER BY n.id DESC",
        *args,
    )
    return [_decorate(r, today) for r in rows], total


async def all_matching_ids(filters: Filters, user: Any, today: date, cap: int) -> list[int]:
    where, args = where_sql(filters, user, today)
    rows = await Nonconformance.raw(
        f"SELECT n.id FROM nonconformance n WHERE {where} ORDER BY n.id LIMIT {int(cap)}", *args
    )
    return [r["id"] for r in rows]


async def rows_by_ids(ids: list[int], today: date) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await Nonconformance.raw(
            f"SELECT {LIST_COLUMNS}, n.description, n.requirement, n.evidence, n.severity_reason,"
            " n.containment, n.root_cause, n.cause_category, n.five_whys, n.similar_elsewhere,"
            " n.verification_standard, n.verification_note, n.disposition, n.cancel_reason,"
            " n.plan_approved_at, n.verified_at, n.asset, n.raised_by,"
            " rb.login AS raised_by_login, vb.login AS verified_by_login,"
            " ab.login AS approved_by_login, au.title AS audit_title,"
            # people read names; the API keeps the logins
            " rb.name AS raised_by_name, vb.name AS verified_by_name, ab.name AS approved_by_name"
            f" FROM nonconformance n {LIST_JOINS}"
            " LEFT JOIN app_user rb ON rb.id = n.raised_by"
            " LEFT JOIN app_user vb ON vb.id = n.verified_by"
            " LEFT JOIN app_user ab ON ab.id = n.plan_approved_by"
            " LEFT JOIN audit au ON au.id = n.audit"
            f" WHERE n.id IN ({_placeholders(chunk)}) ORDER BY n.id",
            *chunk,
        )
        out += [_decorate(r, today) for r in rows]
    return out


async def actions_of(nc_ids: list[int], today: date) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(nc_ids), 500):
        chunk = nc_ids[start : start + 500]
        out += await CorrectiveAction.raw(
            "SELECT a.id, a.nc, a.kind, a.description, a.owner, a.due_date, a.status, a.done_at,"
            " a.done_note, a.created_at, u.name AS owner_name, u.login AS owner_login"
            " FROM corrective_action a LEFT JOIN app_user u ON u.id = a.owner"
            f" WHERE a.nc IN ({_placeholders(chunk)}) ORDER BY a.nc, a.due_date, a.id",
            *chunk,
        )
    for a in out:
        localise(a)
        a["overdue"] = a["status"] == "open" and a["due_date"] is not None and a["due_date"] < today
    return out


async def nc_history(nc_id: int, action_ids: list[int]) -> list[dict[str, Any]]:
    """The NC's change log with its actions' entries, in order."""
    rows = await history("nonconformance", nc_id)
    for action_id in action_ids:
        for row in await history("corrective_action", action_id):
            row["action"] = f"action #{action_id}: {row['action']}"
            rows.append(row)
    rows.sort(key=lambda r: r["id"])
    for row in rows:
        # The optimistic-locking counter is noise for a reader.
        row["changes"] = {k: v for k, v in (row.get("changes") or {}).items() if k != "version"}
    return [localise(r) for r in rows]


async def photos_of(nc_id: int) -> list[dict[str, Any]]:
    """Evidence photos of the NC's failed items: linked by (audit, item), never copied."""
    links = await NcSourceItem.select(NcSourceItem.audit, NcSourceItem.item_id).where(
        NcSourceItem.nc == nc_id
    )
    photos: list[dict[str, Any]] = []
    for link in links:
        photos += (
            await Photo.select(
                Photo.id, Photo.audit, Photo.item_id, Photo.thumb_path, Photo.width, Photo.height
            )
            .where(
                (Photo.audit == link["audit"])
                & (Photo.item_id == link["item_id"])
                & (Photo.kind == "photo")
                & Photo.removed_at.is_null()
            )
            .order_by(Photo.id)
        )
    return photos


async def attachments_of(nc_id: int) -> list[dict[str, Any]]:
    """The NC's attachments in the order attached, with who attached them."""
    rows = await NcAttachment.raw(
        "SELECT a.id, a.step, a.action, a.filename, a.kind, a.content_type, a.size_bytes,"
        " a.sha256, a.uploaded_at, u.name AS uploaded_by_name, u.login AS uploaded_by_login"
        " FROM nc_attachment a LEFT JOIN app_user u ON u.id = a.uploaded_by"
        " WHERE a.nc = {} ORDER BY a.id", nc_id)
    for row in rows:
        localise(row)
        row["step_label"] = attachment_label(row["step"])
    return rows


async def detail(nc_id: int, today: date) -> dict[str, Any] | None:
    rows = await rows_by_ids([nc_id], today)
    if not rows:
        return None
    nc = rows[0]
    for name in ("requirement", "evidence", "five_whys"):
        nc[name] = loads(nc.get(name)) or ({} if name != "five_whys" else [])
    await answers_in_words(nc)
    actions = await actions_of([nc_id], today)
    nc["actions"] = actions
    nc["photos"] = await photos_of(nc_id)
    nc["attachments"] = await attachments_of(nc_id)
    nc["sources"] = await NcSourceItem.select(NcSourceItem.audit, NcSourceItem.item_id).where(
        NcSourceItem.nc == nc_id
    )
    nc["history"] = await nc_history(nc_id, [a["id"] for a in actions])
    return nc


class _Answer:
    """An evidence answer in words, worded when the page or PDF shows it (in the
    language it is rendered in, which for a PDF may not be the request's)."""

    def __init__(self, checklist: Any, item: Any, value: Any) -> None:
        self.checklist, self.item, self.value = checklist, item, value

    def __str__(self) -> str:
        if self.item is None:
            return "—" if self.value is None else str(self.value)
        return answer_text(self.checklist, self.item, self.value) or "—"

    def __html__(self) -> str:
        return str(escape(str(self)))


async def answers_in_words(nc: dict[str, Any]) -> None:
    """Each evidence item gets `value_label`: its value as the checklist's words (Yes, No,
    a choice's label, a number with its unit), never the stored code."""
    versions = {(r.get("audit"), r.get("item_id")): (r.get("checklist"), r.get("version"))
                for r in (nc.get("requirement") or {}).get("items", [])}
    for item in (nc.get("evidence") or {}).get("items", []):
        key, version = versions.get((item.get("audit"), item.get("item_id")), (None, None))
        checklist = await store.get(key, version) if key and version else None
        found = checklist.item(item.get("item_id", "")) if checklist else None
        item["value_label"] = _Answer(checklist, found, item.get("value"))


async def owns_nc_of(user_id: int, audit_id: int) -> bool:
    """Whether the person owns an NC raised from this run (they may then read the run)."""
    return bool(await Nonconformance.exists().where(
        (Nonconformance.audit == audit_id) & (Nonconformance.owner == user_id)))


async def runs_with_nc_of(user_id: int) -> set[int]:
    """The runs that raised an NC this person owns."""
    rows = await Nonconformance.select(Nonconformance.audit).where(
        (Nonconformance.owner == user_id) & Nonconformance.audit.is_not_null())
    return {r["audit"] for r in rows}


async def ncs_of_audit(audit_id: int) -> list[dict[str, Any]]:
    """The NCs a run raised, in the order they were raised."""
    return await Nonconformance.select(
        Nonconformance.id, Nonconformance.ref, Nonconformance.title,
        Nonconformance.title_zh, Nonconformance.title_en, Nonconformance.severity,
        Nonconformance.state,
    ).where(Nonconformance.audit == audit_id).order_by(Nonconformance.id)


async def open_ncs_of_asset(asset_id: int) -> list[dict[str, Any]]:
    """The issued NCs about an asset that are not closed, newest first."""
    return await Nonconformance.select(
        Nonconformance.id, Nonconformance.ref, Nonconformance.title,
        Nonconformance.title_zh, Nonconformance.title_en, Nonconformance.severity,
        Nonconformance.state, Nonconformance.due_date,
    ).where(
        (Nonconformance.asset == asset_id)
        & Nonconformance.state.not_in(["closed", "cancelled", "draft"])
    ).order_by(Nonconformance.raised_at, ascending=False)


async def visible_ids_of_audit(audit_id: int, user: Any, state: str | None = None
                               ) -> list[int]:
    """The ids of an audit's NCs that this person sees (of one state, or all)."""
    scope, args = scope_sql(user)
    extra = " AND n.state = {}" if state else ""
    rows = await Nonconformance.raw(
        f"SELECT n.id FROM nonconformance n WHERE n.audit = {{}}{extra} AND {scope}"
        " ORDER BY n.id", audit_id, *([state] if state else []), *args)
    return [r["id"] for r in rows]


async def read_register(filters: Filters, user: Any, today: date
                        ) -> tuple[list[dict[str, Any]], int]:
    """register() in one snapshot, as a page reads it."""
    async with read_snapshot():
        return await register(filters, user, today)
