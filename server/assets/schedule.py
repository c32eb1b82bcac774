"""Due-date arithmetic for periodic inspections. Plain functions on dates.

A schedule's occurrences lie on a grid anchored on its start date: occurrence k is
start + k periods. Month-based periods keep the start's day of month and clamp it to
the month's last day (monthly from Jan 31: Feb 28 or 29, Mar 31, Apr 30...), always
counted from the start, so a short month never drags later dates earlier.

An inspection counts for the occurrence nearest to the day it was done (a tie goes to
the later one), so doing it a little early or a little late does not shift the
schedule; the next one is due at the occurrence after that. An asset never inspected
is due on the start date. Due turns overdue when the grace period has passed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

MONTH_STEPS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}
DAY_STEPS = {"daily": 1, "weekly": 7}
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "every_n_days")
MAX_EVERY_N_DAYS = 3660
MAX_GRACE_DAYS = 365

# Status of one due inspection, most urgent first.
OVERDUE, DUE, UPCOMING = "overdue", "due", "upcoming"
STATUS_RANK = {OVERDUE: 0, DUE: 1, UPCOMING: 2}


class CadenceError(ValueError):
    """A frequency the arithmetic cannot use."""


@dataclass(frozen=True)
class Cadence:
    frequency: str
    every_n_days: int | None = None

    def __post_init__(self) -> None:
        if self.frequency == "every_n_days":
            n = self.every_n_days
            if not isinstance(n, int) or not 1 <= n <= MAX_EVERY_N_DAYS:
                raise CadenceError(f"every_n_days must be a whole number 1-{MAX_EVERY_N_DAYS}")
        elif self.frequency not in MONTH_STEPS and self.frequency not in DAY_STEPS:
            raise CadenceError(f"unknown frequency {self.frequency!r}")

    @property
    def months(self) -> int:
        return MONTH_STEPS.get(self.frequency, 0)

    @property
    def days(self) -> int:
        if self.frequency == "every_n_days":
            return int(self.every_n_days or 0)
        return DAY_STEPS.get(self.frequency, 0)

    def nominal_days(self) -> int:
        """The period's length in days (months counted as 31): for bounds and sorting."""
        return self.months * 31 if self.months else self.days


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by whole months, its day clamped to the target month's end."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last))


def occurrence(start: date, cadence: Cadence, k: int) -> date:
    """The k-th occurrence (k may be negative: before the start)."""
    if cadence.months:
        return add_months(start, k * cadence.months)
    return start + timedelta(days=k * cadence.days)


def index_on_or_before(start: date, cadence: Cadence, day: date) -> int:
    """The largest k whose occurrence falls on or before `day`."""
    if cadence.months:
        elapsed = (day.year - start.year) * 12 + (day.month - start.month)
        k = elapsed // cadence.months
        # Same month as `day` but on a later day of it: the one before counts.
        return k - 1 if occurrence(start, cadence, k) > day else k
    return (day - start).days // cadence.days


def covered_index(start: date, cadence: Cadence, done: date) -> int:
    """The occurrence an inspection done on `done` counts for: the nearest one."""
    k = index_on_or_before(start, cadence, done)
    before, after = occurrence(start, cadence, k), occurrence(start, cadence, k + 1)
    return k if (done - before) < (after - done) else k + 1


def next_due(start: date, cadence: Cadence, last_done: date | None) -> date:
    """When the next inspection is due, given the last completed one (or none)."""
    if last_done is None:
        return start
    return occurrence(start, cadence, max(covered_index(start, cadence, last_done) + 1, 0))


def overdue_from(due: date, grace_days: int) -> date:
    """The first day the inspection counts as overdue."""
    return due + timedelta(days=max(grace_days, 0) + 1)


def status_on(due: date, grace_days: int, today: date) -> str:
    if today < due:
        return UPCOMING
    if today < overdue_from(due, grace_days):
        return DUE
    return OVERDUE


def days_overdue(due: date, grace_days: int, today: date) -> int:
    """Days since the grace period ended (0 when not overdue)."""
    return max((today - overdue_from(due, grace_days)).days + 1, 0)
