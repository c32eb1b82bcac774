"""Working days where the organisation works: China's statutory calendar (public holidays
and the weekend days that are worked to make up for them) from the `chinesecalendar`
package, less the organisation's own extra days off.

The package knows the years the State Council has published (it raises for others);
for a year it does not know, Monday to Friday count as working days, so a deadline far
ahead is still a date, counted as the plain working week.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

MAX_WORKING_DAYS = 730


def is_workday(day: date, days_off: Iterable[date] = ()) -> bool:
    """Whether `day` is worked: the statutory calendar, then the organisation's days off."""
    if day in frozenset(days_off):
        return False
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package has no data for
        return day.weekday() < 5


def add_workdays(start: date, days: int, days_off: Iterable[date] = ()) -> date:
    """The `days`-th working day after `start` (the start day itself never counts, as
    with calendar days: 1 working day after a Friday is the next Monday)."""
    if not 0 <= days <= MAX_WORKING_DAYS:
        raise ValueError(f"working days out of range: {days}")
    off = frozenset(days_off)
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_workday(day, off):
            left -= 1
    return day
