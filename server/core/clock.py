"""Where and when "today" is. Due dates, overdue, half-years and the numbering year
are calendar days in the organisation's time zone (Settings.timezone, from
AUDITRAIL_TIMEZONE, default Asia/Shanghai; the app and CLI call configure()), not the
server's: a deadline on the 31st is overdue from local
midnight on the 1st, whatever zone the server runs in. Timestamps stay UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


def zone_named(name: str) -> tzinfo:
    """The zone of that name; UTC for a name no zone database knows."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


_zone: tzinfo = zone_named(DEFAULT_ZONE)


def configure(name: str) -> None:
    """Set the organisation's zone (from Settings.timezone)."""
    global _zone
    _zone = zone_named(name)


def local_zone() -> tzinfo:
    return _zone


def local_date(moment: datetime, zone: tzinfo | None = None) -> date:
    """The calendar date of a moment where the organisation works (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or local_zone()).date()


def stored_date(value: Any) -> date | None:
    """local_date() of a stored timestamp; SQLite aggregates return them as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace(" ", "T"))
    if isinstance(value, datetime):
        return local_date(value)
    if isinstance(value, date):
        return value
    return None


def placed(moment: datetime | None) -> datetime | None:
    """A wall-clock time without a zone (a camera's, say) read as local time."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=local_zone())


def today(now: datetime | None = None) -> date:
    return local_date(now or datetime.now(UTC))


def day_start(day: date) -> datetime:
    """Local midnight at the start of `day`, as a UTC moment (for range queries)."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the local days first..last inclusive."""
    return day_start(first), day_start(last + timedelta(days=1))
