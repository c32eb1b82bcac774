"""Which runs a device keeps for offline use: those its user fills in next."""

from __future__ import annotations

from datetime import date, timedelta

from server.audits.tables import Audit

AHEAD_DAYS = 7
MAX_RUNS = 30  # a day's inspections, and then some: each costs the device a few hundred kB


async def runs_to_keep(user_id: int, today: date, days: int = AHEAD_DAYS) -> list[int]:
    """Open runs (planned or in progress) that `user_id` leads or started, planned for
    no later than `days` from `today` or without a date (inspections started from the
    due list), newest first."""
    horizon = today + timedelta(days=days)
    rows = await Audit.raw(
        "SELECT id FROM audit WHERE status IN ('planned', 'in_progress')"
        " AND (lead_auditor = {} OR created_by = {})"
        " AND (planned_date IS NULL OR planned_date <= {})"
        " ORDER BY id DESC LIMIT {}", user_id, user_id, horizon, MAX_RUNS)
    return [int(r["id"]) for r in rows]
