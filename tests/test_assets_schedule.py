"""The rules of periodic inspections as plain functions: due-date arithmetic (examples
and properties), who is assigned, and which inspections are due."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.assets import schedule as s
from server.assets.assignment import Person, Responsible, is_for, responsible
from server.assets.due import AssetRow, ScheduleRow, compute_due, filter_due
from server.assets.plans import ScheduleInput, check_schedule

MONTHLY = s.Cadence("monthly")


# --- examples ------------------------------------------------------------------------


def test_monthly_from_jan_31_clamps_to_month_end_and_comes_back() -> None:
    start = date(2024, 1, 31)
    assert [s.occurrence(start, MONTHLY, k) for k in range(5)] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert s.occurrence(date(2023, 1, 31), MONTHLY, 1) == date(2023, 2, 28)
    # done on the due dates: Feb 29 leads to Mar 31 (the anchor day, not the 29th)
    assert s.next_due(start, MONTHLY, date(2024, 1, 31)) == date(2024, 2, 29)
    assert s.next_due(start, MONTHLY, date(2024, 2, 29)) == date(2024, 3, 31)
    assert s.next_due(start, MONTHLY, date(2024, 3, 31)) == date(2024, 4, 30)


def test_yearly_from_a_leap_day() -> None:
    yearly = s.Cadence("yearly")
    start = date(2024, 2, 29)
    assert s.occurrence(start, yearly, 1) == date(2025, 2, 28)
    assert s.occurrence(start, yearly, 4) == date(2028, 2, 29)
    assert s.next_due(start, yearly, date(2025, 2, 28)) == date(2026, 2, 28)


def test_quarterly_and_half_yearly() -> None:
    start = date(2025, 11, 30)
    assert s.occurrence(start, s.Cadence("quarterly"), 1) == date(2026, 2, 28)
    assert s.occurrence(start, s.Cadence("quarterly"), 2) == date(2026, 5, 30)
    assert s.occurrence(start, s.Cadence("half_yearly"), 1) == date(2026, 5, 30)


def test_never_inspected_is_due_on_the_start_date() -> None:
    for cadence in (s.Cadence("daily"), s.Cadence("weekly"), MONTHLY,
                    s.Cadence("every_n_days", 10)):
        assert s.next_due(date(2026, 3, 15), cadence, None) == date(2026, 3, 15)


def test_early_or_late_inspections_do_not_shift_the_schedule() -> None:
    weekly = s.Cadence("weekly")
    monday = date(2026, 1, 5)
    assert s.next_due(monday, weekly, date(2026, 1, 5)) == date(2026, 1, 12)  # on time
    assert s.next_due(monday, weekly, date(2026, 1, 7)) == date(2026, 1, 12)  # 2 days late
    assert s.next_due(monday, weekly, date(2026, 1, 10)) == date(2026, 1, 19)  # 2 days early
    daily = s.Cadence("daily")
    assert s.next_due(date(2026, 1, 1), daily, date(2026, 1, 20)) == date(2026, 1, 21)


def test_an_inspection_before_the_start_counts_for_the_first_one() -> None:
    weekly = s.Cadence("weekly")
    start = date(2026, 1, 5)
    assert s.next_due(start, weekly, date(2026, 1, 3)) == date(2026, 1, 12)
    assert s.next_due(start, weekly, date(2025, 6, 1)) == start  # long before: due at start


def test_status_and_grace() -> None:
    due = date(2026, 4, 10)
    assert s.status_on(due, 2, date(2026, 4, 9)) == s.UPCOMING
    assert s.status_on(due, 2, date(2026, 4, 10)) == s.DUE
    assert s.status_on(due, 2, date(2026, 4, 12)) == s.DUE
    assert s.status_on(due, 2, date(2026, 4, 13)) == s.OVERDUE
    assert s.days_overdue(due, 2, date(2026, 4, 13)) == 1
    assert s.days_overdue(due, 0, date(2026, 4, 10)) == 0
    assert s.status_on(due, 0, date(2026, 4, 11)) == s.OVERDUE


@pytest.mark.parametrize("bad", [("fortnightly", None), ("every_n_days", None),
                                 ("every_n_days", 0), ("every_n_days", 99999)])
def test_unusable_cadences_are_refused(bad: tuple[str, int | None]) -> None:
    with pytest.raises(s.CadenceError):
        s.Cadence(*bad)


# --- properties ----------------------------------------------------------------------

cadences = st.one_of(
    st.sampled_from([s.Cadence(f) for f in ("daily", "weekly", "monthly", "quarterly",
                                             "half_yearly", "yearly")]),
    st.integers(min_value=1, max_value=400).map(lambda n: s.Cadence("every_n_days", n)),
)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


def _on_grid(start: date, cadence: s.Cadence, day: date) -> bool:
    if cadence.months:
        months = (day.year - start.year) * 12 + day.month - start.month
        last = calendar.monthrange(day.year, day.month)[1]
        return months % cadence.months == 0 and day.day == min(start.day, last)
    return (day - start).days % cadence.days == 0


@settings(max_examples=400)
@given(start=days, cadence=cadences, done=days)
def test_next_due_is_after_the_inspection_on_the_grid_within_a_period_and_a_half(
    start: date, cadence: s.Cadence, done: date
) -> None:
    due = s.next_due(start, cadence, done)
    assert due > done
    assert due >= start
    assert _on_grid(start, cadence, due)
    if done >= start:
        limit = cadence.nominal_days() * 3 // 2 + 3  # month lengths vary by up to 3 days
        assert (due - done).days <= limit


@settings(max_examples=300)
@given(start=days, cadence=cadences, a=days, b=days)
def test_a_later_inspection_is_never_due_sooner(
    start: date, cadence: s.Cadence, a: date, b: date
) -> None:
    early, late = sorted((a, b))
    assert s.next_due(start, cadence, early) <= s.next_due(start, cadence, late)


@settings(max_examples=300)
@given(start=days, cadence=cadences, k=st.integers(min_value=0, max_value=200))
def test_done_on_the_due_date_moves_exactly_one_occurrence(
    start: date, cadence: s.Cadence, k: int
) -> None:
    due = s.occurrence(start, cadence, k)
    assert s.next_due(start, cadence, due) == s.occurrence(start, cadence, k + 1)
    assert s.index_on_or_before(start, cadence, due) == k
    assert s.index_on_or_before(start, cadence, due - timedelta(days=1)) == k - 1


@settings(max_examples=300)
@given(start=days, cadence=cadences, day=days)
def test_index_on_or_before_brackets_the_day(start: date, cadence: s.Cadence, day: date) -> None:
    k = s.index_on_or_before(start, cadence, day)
    assert s.occurrence(start, cadence, k) <= day < s.occurrence(start, cadence, k + 1)


@given(due=days, grace=st.integers(min_value=0, max_value=365), today=days)
def test_overdue_exactly_when_the_grace_period_has_passed(
    due: date, grace: int, today: date
) -> None:
    status = s.status_on(due, grace, today)
    assert (status == s.OVERDUE) == ((today - due).days > grace)
    assert (s.days_overdue(due, grace, today) > 0) == (status == s.OVERDUE)


# --- who is assigned -----------------------------------------------------------------

ENGINEER = Person(7, org_unit_id=3, project_ids=frozenset({11}), roles=frozenset({"engineer"}))
MANAGER = Person(8, org_unit_id=3, project_ids=frozenset(), roles=frozenset({"quality_manager"}))


def test_a_named_person_only() -> None:
    who = responsible(assignee=7, assignee_org_unit=3, asset_org_unit=3, asset_project=11)
    assert who == Responsible(user_id=7)
    assert is_for(who, ENGINEER)
    assert not is_for(responsible(9, None, 3, 11), ENGINEER)
    assert is_for(responsible(8, None, None, None), MANAGER)  # named: whatever the role


def test_a_department_means_its_engineers() -> None:
    who = responsible(None, 3, 5, None)
    assert is_for(who, ENGINEER)
    assert not is_for(who, MANAGER)  # a quality manager of that unit is not an engineer
    assert not is_for(responsible(None, 4, 3, 11), ENGINEER)  # the schedule's unit wins


def test_unassigned_falls_to_the_assets_department_and_project() -> None:
    assert is_for(responsible(None, None, 3, None), ENGINEER)
    assert is_for(responsible(None, None, 99, 11), ENGINEER)  # via the project
    nobody = responsible(None, None, None, None)
    assert nobody.unassigned and not is_for(nobody, ENGINEER)


# --- which inspections are due -------------------------------------------------------

TODAY = date(2026, 5, 20)


def _assets() -> list[AssetRow]:
    return [
        AssetRow(1, "UPS-1", "UPS 1", "ups", org_unit=3),
        AssetRow(2, "UPS-2", "UPS 2", "ups", org_unit=4),
        AssetRow(3, "UPS-3", "UPS 3", "ups", status="retired"),
        AssetRow(4, "SRV-1", "Server", "server", org_unit=3),
    ]


def _schedules() -> list[ScheduleRow]:
    return [
        ScheduleRow(10, "ups.weekly", "weekly", date(2026, 5, 4), category="ups", grace_days=1),
        ScheduleRow(11, "ups.weekly", "every_n_days", date(2026, 5, 1), asset=2,
                    every_n_days=30, assignee=7),
        ScheduleRow(12, "server.weekly", "weekly", date(2026, 6, 1), category="server"),
    ]


def test_compute_due_applies_category_and_asset_schedules() -> None:
    items = compute_due(_assets(), _schedules(), {(1, "ups.weekly"): date(2026, 5, 11)},
                        {(1, "ups.weekly"): 99}, TODAY)
    by_asset = {i.asset.code: i for i in items}
    assert set(by_asset) == {"UPS-1", "UPS-2", "SRV-1"}  # retired assets are never due
    assert by_asset["UPS-1"].due_date == date(2026, 5, 18)
    assert by_asset["UPS-1"].status == s.OVERDUE and by_asset["UPS-1"].days_overdue == 1
    assert by_asset["UPS-1"].open_run == 99
    assert by_asset["UPS-2"].schedule.id == 11  # its own schedule overrides the category's
    assert by_asset["UPS-2"].due_date == date(2026, 5, 1) and by_asset["UPS-2"].last_done is None
    assert by_asset["SRV-1"].status == s.UPCOMING
    assert [i.asset.code for i in items] == ["UPS-2", "UPS-1", "SRV-1"]  # most urgent first


def test_filter_due_by_person_horizon_and_overdue() -> None:
    items = compute_due(_assets(), _schedules(), {}, {}, TODAY)
    assert {i.asset.code for i in filter_due(items, TODAY)} == {"UPS-1", "UPS-2"}
    assert {i.asset.code for i in filter_due(items, TODAY, within_days=30)} == {
        "UPS-1", "UPS-2", "SRV-1"}
    mine = filter_due(items, TODAY, person=ENGINEER, within_days=30)
    assert {i.asset.code for i in mine} == {"UPS-1", "UPS-2", "SRV-1"}  # unit 3, and named
    other = Person(9, 4, frozenset(), frozenset({"engineer"}))
    assert filter_due(items, TODAY, person=other, within_days=30) == []  # UPS-2 names user 7
    overdue = filter_due(items, TODAY, overdue_only=True)
    assert {i.asset.code for i in overdue} == {"UPS-1", "UPS-2"}


def test_schedule_rules() -> None:
    categories = {"ups.weekly": "ups", "server.weekly": "server"}
    good = ScheduleInput("ups.weekly", "monthly", date(2026, 1, 31), category="ups")
    assert check_schedule(good, categories, None) == {}
    assert set(check_schedule(ScheduleInput("ups.weekly", "weekly", None), categories, None)) == {
        "target", "start_date"}
    wrong = ScheduleInput("server.weekly", "weekly", date(2026, 1, 1), asset=5)
    assert set(check_schedule(wrong, categories, "ups")) == {"checklist_key"}
    n = ScheduleInput("ups.weekly", "every_n_days", date(2026, 1, 1), category="ups",
                      every_n_days=0, grace_days=-1, assignee=1, assignee_org_unit=2)
    assert set(check_schedule(n, categories, None)) == {"every_n_days", "grace_days", "assignee"}
