"""Date items with a rule (`date_rule` in the checklist): whether a date keeps it, why not,
and the rule in words. Plain functions over a rule, the date, the run's date and the other
answers; a reference that has no date yet (an unanswered item, a run not started) is not
judged, so a rule never fails an item for what the auditor has not written yet."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from server.checklists.model import RUN, DateRule, month_day
from server.core import i18n
from server.core.i18n import gettext as _


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _reference(ref: str, run_date: date | None, answers: Mapping[str, Any]) -> date | None:
    """The date `ref` stands for: the run's date, another item's answer, or MM-DD of the
    run's year (None when that is not known yet)."""
    if ref == RUN:
        return run_date
    fixed = month_day(ref)
    if fixed is not None:
        return date(run_date.year, *fixed) if run_date else None
    return _as_date(answers.get(ref))


def _ref_words(ref: str, when: date) -> str:
    if ref == RUN:
        return _("the run's date (%(date)s)", date=i18n.format_date(when))
    if month_day(ref) is not None:
        return i18n.format_date(when)
    return _("the date in %(item)s (%(date)s)", item=ref, date=i18n.format_date(when))


def quarter_ends_near(day: date) -> list[date]:
    """The ends of the calendar quarters around `day` (the one before, this one's)."""
    ends = [date(day.year - 1, 12, 31)]
    ends += [date(day.year, m, d) for m, d in ((3, 31), (6, 30), (9, 30), (12, 31))]
    return ends


def problem(rule: DateRule, value: Any, run_date: date | None,
            answers: Mapping[str, Any]) -> str | None:
    """None when the date keeps its rule; otherwise what is wrong, in the reader's
    language. Every part of the rule is checked; the first broken one is told."""
    day = _as_date(value)
    if day is None:
        return None
    shown = i18n.format_date(day)
    if rule.within_days_of is not None and rule.days is not None:
        ref = _reference(rule.within_days_of, run_date, answers)
        if ref is not None and abs((day - ref).days) > rule.days:
            return _("%(date)s is %(n)s days from %(ref)s; at most %(days)s are allowed.",
                     date=shown, n=abs((day - ref).days), ref=_ref_words(rule.within_days_of, ref),
                     days=rule.days)
    if rule.before is not None:
        ref = _reference(rule.before, run_date, answers)
        if ref is not None and day > ref:
            return _("%(date)s is later than %(ref)s; it must be on or before it.",
                     date=shown, ref=_ref_words(rule.before, ref))
    if rule.after is not None:
        ref = _reference(rule.after, run_date, answers)
        if ref is not None and day < ref:
            return _("%(date)s is earlier than %(ref)s; it must be on or after it.",
                     date=shown, ref=_ref_words(rule.after, ref))
    if rule.quarter_end is not None:
        end = min(quarter_ends_near(day), key=lambda e: abs((day - e).days))
        gap = abs((day - end).days)
        if gap > rule.quarter_end:
            return _("%(date)s is %(n)s days from the nearest quarter end (%(end)s); "
                     "at most %(days)s are allowed.", date=shown, n=gap,
                     end=i18n.format_date(end), days=rule.quarter_end)
    return None


def _rule_ref_words(ref: str) -> str:
    if ref == RUN:
        return _("the run's date")
    fixed = month_day(ref)
    if fixed is not None:
        return _("%(day)s of the run's year", day=i18n.format_month_day(*fixed))
    return _("the date in %(item)s", item=ref)


def describe(rule: DateRule) -> str:
    """The rule in words for the form: "On or before January 10 of the run's year."."""
    parts: list[str] = []
    if rule.within_days_of is not None and rule.days is not None:
        parts.append(_("within %(days)s days of %(ref)s", days=rule.days,
                       ref=_rule_ref_words(rule.within_days_of)))
    if rule.after is not None:  # a span reads from its start
        parts.append(_("on or after %(ref)s", ref=_rule_ref_words(rule.after)))
    if rule.before is not None:
        parts.append(_("on or before %(ref)s", ref=_rule_ref_words(rule.before)))
    if rule.quarter_end is not None:
        parts.append(_("within %(days)s days of a quarter's end", days=rule.quarter_end))
    return _("The date must be %(rule)s.", rule=_("; ").join(parts))
