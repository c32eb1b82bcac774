"""The half-year audit programme: H1 is January-June, H2 July-December."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.audits import access
from server.audits.tables import Audit, Programme
from server.changelog import record
from server.core import clock

DONE = ("submitted", "closed")
AUDITOR_ROLES = (Role.auditor, Role.quality_manager)


def half_of(day: date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def read_half(text: str) -> tuple[int, int] | None:
    """'2026-H2' -> (2026, 2); None when it names no half-year."""
    year, _, half = text.strip().upper().partition("-H")
    if year.isdigit() and half in ("1", "2") and 2000 <= int(year) <= 2100:
        return int(year), int(half)
    return None


def parse_half(text: str | None, today: date) -> tuple[int, int]:
    """'2026-H2' -> (2026, 2); anything unreadable -> the half containing today."""
    return (read_half(text) if text else None) or half_of(today)


def half_label(year: int, half: int) -> str:
    return f"{year}-H{half}"


def half_bounds(year: int, half: int) -> tuple[date, date]:
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (
        date(year, 7, 1), date(year, 12, 31))


async def programme_for(year: int, half: int) -> dict[str, Any] | None:
    return await Programme.select().where(
        (Programme.year == year) & (Programme.half == half)).first()


async def ensure_programme(year: int, half: int, actor: Any) -> int:
    existing = await programme_for(year, half)
    if existing:
        return int(existing["id"])
    row = await record.create(Programme(year=year, half=half, title=half_label(year, half),
                                        created_by=getattr(actor, "id", None)), actor)
    return int(row.id)


@dataclass(frozen=True)
class Share:
    planned: int
    done: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.done / self.planned, 1) if self.planned else None


def share_done(statuses: list[str]) -> Share:
    return Share(planned=len(statuses), done=sum(1 for s in statuses if s in DONE))


async def audits_of_programme(programme_id: int) -> list[dict[str, Any]]:
    return await Audit.select(
        Audit.id, Audit.checklist_key, Audit.kind, Audit.title, Audit.status,
        Audit.planned_date, Audit.lead_auditor, Audit.lead_auditor.name, Audit.org_unit,
        Audit.project, Audit.score_percent, Audit.passed, Audit.submitted_at,
        Audit.org_unit.name_zh, Audit.org_unit.name_en, Audit.project.code,
        Audit.project.name_zh, Audit.project.name_en,
    ).where(Audit.programme == programme_id).order_by(Audit.planned_date, Audit.id)


def mine_first(rows: list[dict[str, Any]], user_id: int) -> list[dict[str, Any]]:
    """The auditor's own audits first, keeping the planned order otherwise."""
    return sorted(rows, key=lambda r: r["lead_auditor"] != user_id)


@dataclass
class HalfYear:
    """One half-year's programme as its page shows it."""

    year: int
    half: int
    programme: dict[str, Any] | None
    planned: list[dict[str, Any]]  # the programme's audits, the viewer's own first
    share: Share
    ad_hoc: list[dict[str, Any]]  # audits started outside the programme this half-year


async def half_year(year: int, half: int, user: CurrentUser) -> HalfYear:
    prog = await programme_for(year, half)
    rows = await audits_of_programme(prog["id"]) if prog else []
    start, end = clock.day_range(*half_bounds(year, half))
    ad_hoc = await Audit.select(
        Audit.id, Audit.checklist_key, Audit.kind, Audit.title, Audit.status, Audit.created_at,
        Audit.lead_auditor, Audit.score_percent, Audit.passed,
    ).where(Audit.programme.is_null() & (Audit.kind != "inspection")
            & (Audit.created_at >= start) & (Audit.created_at < end)
            ).order_by(Audit.created_at, ascending=False).limit(200)
    if not user.sees_everything:
        ad_hoc = [r for r in ad_hoc if access.can_view(user, r)]
    return HalfYear(year, half, prog, mine_first(rows, user.id),
                    share_done([r["status"] for r in rows if r["status"] != "cancelled"]),
                    ad_hoc)
