"""The quality manager's dashboard: every figure is aggregated by the database
(GROUP BY over indexed columns), so it stays fast with 100,000 NCs; Python only
arranges the few dozen result rows for the page.

Definitions (also shown on the page):
- open: issued and not closed or cancelled (states open ... verification);
- overdue: open and the due date in force has passed;
- age: days since the NC was raised;
- closure rate: of the NCs raised in the period (drafts and cancelled ones left out), the
  share closed by now; mean days to close: over those closed, from issue to closure;
- recurrences: NCs of the period reopened after closure, or raised as a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.core.clock import day_start
from server.core.i18n import gettext as _
from server.db.engine import engine_name
from server.findings import charts
from server.findings.policy import ACTIVE_STATES
from server.findings.queries import (
    LIST_COLUMNS,
    LIST_JOINS,
    _decorate,
    read_snapshot,
    state_index,
)
from server.findings.tables import Nonconformance, loads
from server.findings.workflow import SEVERITIES, int_of

AGE_BUCKETS = ((0, 30), (31, 60), (61, 90), (91, None))
PERIODS = (3, 6, 12, 24, 0)  # months; 0 = everything
SCORE_KINDS = {
    "audits": ("org_audit", "project_audit"),
    "inspections": ("inspection",),
    "all": ("org_audit", "project_audit", "inspection", "acceptance", "survey"),
}
TOP = 12


@dataclass(frozen=True)
class DashFilters:
    org_unit: int | None = None
    project: int | None = None
    severity: str = ""
    months: int = 12
    scores_by: str = "org_unit"  # org_unit | project
    score_kind: str = "audits"

    @classmethod
    def parse(cls, params: Any) -> DashFilters:
        def get(name: str) -> str:
            value = params.get(name) if params is not None else None
            return str(value).strip() if value is not None else ""

        months = int_of(get("months"))
        return cls(
            org_unit=int_of(get("org_unit")),
            project=int_of(get("project")),
            severity=get("severity") if get("severity") in SEVERITIES else "",
            months=months if months in PERIODS else 12,
            scores_by="project" if get("scores_by") == "project" else "org_unit",
            score_kind=get("score_kind") if get("score_kind") in SCORE_KINDS else "audits",
        )

    def query(self, **changes: Any) -> str:
        from urllib.parse import urlencode

        f = replace(self, **changes)
        pairs = [(k, str(v)) for k, v in (
            ("org_unit", f.org_unit), ("project", f.project), ("severity", f.severity),
            ("months", f.months), ("scores_by", f.scores_by), ("score_kind", f.score_kind),
        ) if v not in (None, "")]
        return urlencode(pairs)


def _ph(values: tuple[Any, ...] | list[Any]) -> str:
    return ", ".join("{}" for _ in values)


def _filters_sql(f: DashFilters, alias: str = "n") -> tuple[str, list[Any]]:
    parts, args = ["1 = 1"], []
    for name in ("org_unit", "project"):
        value = getattr(f, name)
        if value is not None:
            parts.append(f"{alias}.{name} = {{}}")
            args.append(value)
    if f.severity:
        parts.append(f"{alias}.severity = {{}}")
        args.append(f.severity)
    return " AND ".join(parts), args


def _active(alias: str = "n") -> tuple[str, list[Any]]:
    return f"{alias}.state IN ({_ph(ACTIVE_STATES)})", list(ACTIVE_STATES)


def half_years(today: date, count: int = 6) -> list[tuple[int, int]]:
    """The last `count` half-years up to today's, oldest first."""
    year, half = today.year, 1 if today.month <= 6 else 2
    out = []
    for _i in range(count):
        out.append((year, half))
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    return out[::-1]


def _half_start(year: int, half: int) -> date:
    return date(year, 1 if half == 1 else 7, 1)


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await Nonconformance.raw(sql, *args)


# The per-row values the open-NC summary groups on (a CTE's or subquery's columns).
_OPEN_ROW = (
    "SELECT n.id, n.severity, n.state, n.org_unit, n.project, n.owner,"
    " CASE WHEN n.due_date < {} THEN 1 ELSE 0 END AS late,"
    " CASE WHEN n.raised_at >= {} THEN 0 WHEN n.raised_at >= {} THEN 1"
    " WHEN n.raised_at >= {} THEN 2 ELSE 3 END AS age,"
    " CASE WHEN n.concession IS NULL THEN NULL ELSE n.id END AS conc"
)


async def active_summary(f: DashFilters, today: date, now: datetime) -> dict[str, Any]:
    """Everything about the open NCs in one read of them: counts by severity, state and
    age (with overdue), by department, project and owner, and the concessions.
    PostgreSQL groups them in one pass (GROUPING SETS); SQLite, which has no grouping
    sets, reads the narrow open rows once into a materialised CTE and groups that."""
    active, a_args = _active()
    where, w_args = _filters_sql(f)
    cut = [now - timedelta(days=d) for d in (31, 61, 91)]
    args = [today, *cut, *a_args, *w_args]
    if engine_name() == "postgresql":
        rows = await _raw(
            "SELECT CASE WHEN GROUPING(severity) = 0 THEN 'm'"
            " WHEN GROUPING(org_unit) = 0 THEN 'org_unit'"
            " WHEN GROUPING(project) = 0 THEN 'project'"
            " WHEN GROUPING(owner) = 0 THEN 'owner' ELSE 'c' END AS dim,"
            " severity AS sev, state AS st, age,"
            " CASE WHEN GROUPING(org_unit) = 0 THEN org_unit"
            " WHEN GROUPING(project) = 0 THEN project"
            " WHEN GROUPING(owner) = 0 THEN owner ELSE conc END AS k,"
            " count(*) AS c, sum(late) AS o"
            f" FROM ({_OPEN_ROW} FROM nonconformance n WHERE {active} AND {where}) AS a"
            " GROUP BY GROUPING SETS ((severity, state, age), (org_unit), (project), (owner),"
            " (conc))",
            *args,
        )
        # The (conc) set has one group of the NCs without a concession: key NULL.
        rows = [r for r in rows if r["dim"] != "c" or r["k"] is not None]
    else:
        rows = await _raw(
            f"WITH a AS MATERIALIZED ({_OPEN_ROW}"
            f" FROM nonconformance n{state_index()} WHERE {active} AND {where})"
            " SELECT 'm' AS dim, severity AS sev, state AS st, age, NULL AS k, count(*) AS c,"
            " sum(late) AS o FROM a GROUP BY severity, state, age"
            " UNION ALL SELECT 'org_unit', NULL, NULL, NULL, org_unit, count(*), sum(late)"
            " FROM a GROUP BY org_unit"
            " UNION ALL SELECT 'project', NULL, NULL, NULL, project, count(*), sum(late)"
            " FROM a GROUP BY project"
            " UNION ALL SELECT 'owner', NULL, NULL, NULL, owner, count(*), sum(late)"
            " FROM a GROUP BY owner"
            " UNION ALL SELECT 'c', NULL, NULL, NULL, conc, 1, late FROM a"
            " WHERE conc IS NOT NULL",
            *args,
        )
    matrix = {s: {st: 0 for st in ACTIVE_STATES} for s in SEVERITIES}
    overdue = dict.fromkeys(SEVERITIES, 0)
    ageing = [0, 0, 0, 0]
    groups: dict[str, list[dict[str, Any]]] = {"org_unit": [], "project": [], "owner": []}
    concession_ids: list[int] = []
    for r in rows:
        dim, count, late = r["dim"], int(r["c"]), int(r["o"] or 0)
        if dim == "m":
            sev = r["sev"] if r["sev"] in matrix else "minor"
            matrix[sev][r["st"]] += count
            overdue[sev] += late
            ageing[int(r["age"])] += count
        elif dim == "c":
            concession_ids.append(int(r["k"]))
        else:
            groups[dim].append({"k": r["k"], "c": count, "overdue": late})
    by_severity = {s: sum(matrix[s].values()) for s in SEVERITIES}
    by_state = {st: sum(matrix[s][st] for s in SEVERITIES) for st in ACTIVE_STATES}
    return {
        "matrix": matrix,
        "by_severity": by_severity,
        "by_state": by_state,
        "overdue_by_severity": overdue,
        "open": sum(by_severity.values()),
        "overdue": sum(overdue.values()),
        "ageing": ageing,
        "groups": groups,
        "concession_ids": concession_ids,
    }


async def named(groups: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """The largest groups (open NCs, then overdue) with their names."""
    top = sorted(groups, key=lambda g: (-g["c"], -g["overdue"], g["k"] is None, g["k"] or 0))
    top = top[:TOP]
    keys = [g["k"] for g in top if g["k"] is not None]
    names: dict[int, dict[str, Any]] = {}
    if keys:
        table = {"org_unit": "org_unit", "project": "project", "owner": "app_user"}[column]
        # people by name alone: a login is an account's key, not what colleagues call them
        cols = "id, name AS name_zh, name AS name_en, '' AS code" if column == "owner" \
            else "id, name_zh, name_en, code"
        for n in await _raw(f"SELECT {cols} FROM {table} WHERE id IN ({_ph(keys)})", *keys):
            names[n["id"]] = n
    out = []
    for g in top:
        name = names.get(g["k"]) if g["k"] is not None else None
        out.append({
            "id": g["k"],
            "code": name["code"] if name else "",
            "name_zh": name["name_zh"] if name else "",
            "name_en": name["name_en"] if name else "",
            "open": g["c"],
            "overdue": g["overdue"],
        })
    return out


async def _rows_by_id(ids: list[int], today: date) -> list[dict[str, Any]]:
    """Those NCs, in the order given. (Sorted here: an ORDER BY would tempt the planner
    into walking that column's index instead of fetching the few ids.)"""
    if not ids:
        return []
    rows = await _raw(
        f"SELECT {LIST_COLUMNS} FROM nonconformance n {LIST_JOINS} WHERE n.id IN ({_ph(ids)})",
        *ids,
    )
    position = {nc_id: i for i, nc_id in enumerate(ids)}
    rows.sort(key=lambda r: position[r["id"]])
    return [_decorate(r, today) for r in rows]


async def overdue_list(f: DashFilters, today: date, limit: int = 15) -> list[dict[str, Any]]:
    """The longest overdue first: the first few of each state through the (state,
    due_date) index, merged. (Ordering all NCs by due date instead walks the due-date
    index through years of closed NCs.)"""
    where, w_args = _filters_sql(f)
    # On PostgreSQL "ORDER BY due_date LIMIT" tempts the planner to walk the due-date
    # index through years of closed NCs hoping to meet the state soon (measured: 25 ms
    # per state). Ordering by an expression leaves it the (state, due_date) index.
    order = "n.due_date + 0, n.id" if engine_name() == "postgresql" else "n.due_date, n.id"
    branch = (f"SELECT * FROM (SELECT n.id, n.due_date FROM nonconformance n"
              f" WHERE n.state = {{}} AND n.due_date < {{}} AND {where}"
              f" ORDER BY {order} LIMIT {int(limit)}) AS s")
    args: list[Any] = []
    for state in ACTIVE_STATES:
        args += [state, today, *w_args]
    ids = await _raw(
        f"SELECT id FROM ({' UNION ALL '.join(branch for _s in ACTIVE_STATES)}) AS u"
        f" ORDER BY due_date, id LIMIT {int(limit)}",
        *args,
    )
    return await _rows_by_id([r["id"] for r in ids], today)


def period_start(months: int, now: datetime) -> datetime:
    if not months:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return now - timedelta(days=round(months * 30.44))


def _mean_days(later: str, earlier: str, condition: str) -> str:
    """The mean of (later - earlier) in days over the rows meeting `condition`."""
    if engine_name() == "postgresql":
        return (f"EXTRACT(EPOCH FROM avg({later} - {earlier}) FILTER (WHERE {condition}))"
                " / 86400.0")
    return f"avg(julianday({later}) - julianday({earlier})) FILTER (WHERE {condition})"


async def closure(f: DashFilters, now: datetime) -> dict[str, Any]:
    """Closure figures for the NCs raised in the period (read through raised_at's index)."""
    where, w_args = _filters_sql(f)
    since = period_start(f.months, now)
    mean = _mean_days("n.closed_at", "n.issued_at", "n.state = 'closed'")
    rows = await _raw(
        "SELECT count(*) FILTER (WHERE n.state NOT IN ('draft', 'cancelled')) AS issued,"
        " count(*) FILTER (WHERE n.state = 'closed') AS closed,"
        f" {mean} AS mean_days,"
        " count(*) FILTER (WHERE n.reopen_count > 0) AS reopened,"
        " count(*) FILTER (WHERE n.recurrence_of IS NOT NULL) AS repeats"
        f" FROM nonconformance n WHERE n.raised_at >= {{}} AND {where}",
        since, *w_args,
    )
    drafts = await _raw(
        f"SELECT count(*) AS c FROM nonconformance n WHERE n.state = 'draft' AND {where}",
        *w_args,
    )
    r = rows[0] if rows else {}
    issued = int(r.get("issued") or 0)
    closed = int(r.get("closed") or 0)
    mean_days = r.get("mean_days")
    return {
        "issued": issued,
        "closed": closed,
        "rate": (100.0 * closed / issued) if issued else None,
        "mean_days": float(mean_days) if mean_days is not None else None,
        "reopened": int(r.get("reopened") or 0),
        "repeats": int(r.get("repeats") or 0),
        "drafts": int(drafts[0]["c"]) if drafts else 0,
    }


async def recurrences(f: DashFilters, today: date, now: datetime, limit: int = 10
                      ) -> list[dict[str, Any]]:
    """The latest NCs of the period that were reopened or raised as a repeat."""
    where, w_args = _filters_sql(f)
    rows = await _raw(
        f"SELECT {LIST_COLUMNS}, r.ref AS repeat_of_ref FROM nonconformance n {LIST_JOINS}"
        " LEFT JOIN nonconformance r ON r.id = n.recurrence_of"
        " WHERE n.raised_at >= {} AND (n.reopen_count > 0 OR n.recurrence_of IS NOT NULL)"
        f" AND {where} ORDER BY n.raised_at DESC, n.id DESC LIMIT {int(limit)}",
        period_start(f.months, now), *w_args,
    )
    return [_decorate(r, today) for r in rows]


async def concessions(ids: list[int], today: date, limit: int = 20) -> list[dict[str, Any]]:
    """Open NCs under an active concession: visible here until the agreed plan is done."""
    out = []
    for r in sorted(await _rows_by_id(ids, today),
                    key=lambda r: (r["due_date"] or date.max, r["id"])):
        concession = loads(r["concession"]) or {}
        if concession.get("status") == "active":
            r["concession"] = concession
            out.append(r)
    return out[:limit]




async def audit_scores(f: DashFilters, today: date) -> dict[str, Any]:
    """Mean audit score per department (or project) per half-year, last three years.
    Half-years start at local midnight; the bounds are computed here so the SQL is
    the same on both engines and needs no date functions."""
    halves = half_years(today)
    bounds = [day_start(_half_start(*h)) for h in halves]
    column = "a.project" if f.scores_by == "project" else "a.org_unit"
    kinds = SCORE_KINDS[f.score_kind]
    parts, args = ["1 = 1"], []
    for name in ("org_unit", "project"):
        value = getattr(f, name)
        if value is not None:
            parts.append(f"a.{name} = {{}}")
            args.append(value)
    # Half i runs from bounds[i] to bounds[i + 1]; the last one up to now.
    which = " ".join(f"WHEN a.submitted_at < {{}} THEN {i}" for i in range(len(bounds) - 1))
    rows = await _raw(
        f"SELECT k, h, avg(score) AS score, count(*) AS c FROM (SELECT {column} AS k,"
        f" CASE {which} ELSE {len(bounds) - 1} END AS h, a.score_percent AS score"
        " FROM audit a WHERE a.submitted_at >= {} AND a.score_percent IS NOT NULL"
        f" AND a.kind IN ({_ph(kinds)}) AND {' AND '.join(parts)}) AS s GROUP BY k, h",
        *bounds[1:], bounds[0], *kinds, *args,
    )
    table = "project" if f.scores_by == "project" else "org_unit"
    keys = sorted({r["k"] for r in rows if r["k"] is not None})
    names = {}
    if keys:
        for n in await _raw(
            f"SELECT id, code, name_zh, name_en FROM {table} WHERE id IN ({_ph(keys)})", *keys
        ):
            names[n["id"]] = n
    series: dict[Any, list[dict[str, Any] | None]] = {}
    for r in rows:
        pos = int(r["h"])
        if not 0 <= pos < len(halves):
            continue
        series.setdefault(r["k"], [None] * len(halves))[pos] = {
            "score": float(r["score"]),
            "count": int(r["c"]),
        }
    units = []
    for key, values in series.items():
        name = names.get(key)
        units.append({
            "id": key,
            "code": name["code"] if name else "",
            "name_zh": name["name_zh"] if name else _("(none)"),
            "name_en": name["name_en"] if name else _("(none)"),
            "values": values,
        })
    units.sort(key=lambda u: (u["code"] == "", u["code"]))
    return {"halves": halves, "units": units}


async def dashboard(f: DashFilters, today: date, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the page, read in one transaction (see read_snapshot): one
    consistent snapshot. (Running the parts side by side on separate connections was
    measured no faster on two cores.)"""
    moment = now or datetime.now(UTC)
    async with read_snapshot():
        summary = await active_summary(f, today, moment)
        return {
            "open": summary,
            "by_org_unit": await named(summary["groups"]["org_unit"], "org_unit"),
            "by_project": await named(summary["groups"]["project"], "project"),
            "by_owner": await named(summary["groups"]["owner"], "owner"),
            "overdue_list": await overdue_list(f, today),
            "closure": await closure(f, moment),
            "recurrences": await recurrences(f, today, moment),
            "concessions": await concessions(summary["concession_ids"], today),
        }


async def dashboard_page(f: DashFilters, today: date) -> dict[str, Any]:
    """The dashboard's figures with its charts drawn (server-side SVG)."""
    data = await dashboard(f, today)
    open_ = data["open"]
    return {
        "d": data,
        "severity_bar": charts.stacked([(s, open_["by_severity"][s]) for s in SEVERITIES]),
        "state_rows": charts.bars([{"key": st, "open": open_["by_state"][st], "overdue": 0}
                                   for st in ACTIVE_STATES]),
        "ageing": charts.bars([{"key": i, "open": n, "overdue": 0}
                               for i, n in enumerate(open_["ageing"])]),
        "by_org_unit": charts.bars(data["by_org_unit"]),
        "by_project": charts.bars(data["by_project"]),
        "by_owner": charts.bars(data["by_owner"]),
    }


async def scores_page(f: DashFilters, today: date) -> dict[str, Any]:
    """The audit-score panel, each unit's scores drawn as columns."""
    async with read_snapshot():
        scores = await audit_scores(f, today)
    for unit in scores["units"]:
        unit["columns"] = charts.columns([v["score"] if v else None for v in unit["values"]])
    return scores
