"""The severity policy: how long an owner has for a corrective plan and for closure,
and the date arithmetic built on it. Plain functions; the stored policy is the
AppSetting "nc_policy" (JSON), falling back to the defaults below.

Deadlines are counted from the day the NC was issued (or the day its clock restarted:
a reopening or a fix found not effective), in calendar days, or in working days for a
severity whose rule says so (China's statutory calendar with its make-up working days,
less the organisation's own days off, `days_off`: server/core/workdays.py). A quality
incident's level (1-3, procedure 003) adds its own resolution deadline; the earlier
deadline wins. "Today" is the organisation's calendar day (server/core/clock.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.changelog import record
from server.core import workdays
from server.core.errors import Invalid
from server.core.i18n import gettext as _
from server.db.engine import write_transaction
from server.findings.tables import AppSetting

SEVERITIES = ("major", "minor", "observation")
POLICY_KEY = "nc_policy"
MAX_DAYS = 730

MAX_DAYS_OFF = 366

DEFAULT_POLICY: dict[str, Any] = {
    "major": {"corrective_action": True, "plan_days": 7, "close_days": 30,
              "working_days": False},
    "minor": {"corrective_action": True, "plan_days": 30, "close_days": 60,
              "working_days": False},
    "observation": {"corrective_action": False, "plan_days": None, "close_days": None,
                    "working_days": False},
    "remind_days_before": 3,
    "days_off": [],
}


@dataclass(frozen=True)
class Rule:
    corrective_action: bool
    plan_days: int | None
    close_days: int | None
    working_days: bool = False  # the days above are working days, not calendar days


@dataclass(frozen=True)
class IncidentLevel:
    """A quality incident's level as procedure 003 sets it: how soon to respond, and by
    when it must be resolved (or a temporary fix given): hours, or working days."""

    level: int
    respond_minutes: int
    resolve_hours: int | None = None
    resolve_working_days: int | None = None


INCIDENT_LEVELS: dict[int, IncidentLevel] = {
    1: IncidentLevel(1, 15, resolve_hours=2),
    2: IncidentLevel(2, 30, resolve_hours=4),
    3: IncidentLevel(3, 120, resolve_working_days=8),
}


@dataclass(frozen=True)
class Policy:
    rules: dict[str, Rule]
    remind_days_before: int = 3
    days_off: tuple[date, ...] = ()  # the organisation's own days off, besides the statutory

    def rule(self, severity: str) -> Rule:
        return self.rules.get(severity) or Rule(False, None, None)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            sev: {
                "corrective_action": r.corrective_action,
                "plan_days": r.plan_days,
                "close_days": r.close_days,
                "working_days": r.working_days,
            }
            for sev, r in self.rules.items()
        }
        out["remind_days_before"] = self.remind_days_before
        out["days_off"] = [d.isoformat() for d in self.days_off]
        return out


class PolicyError(Invalid):
    """An invalid policy: fields (e.g. "major.plan_days") and what is wrong with each."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(_("Some values are not valid"), invalid=problems)


def _days(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    number = int(value)
    if isinstance(value, float) and number != value:
        raise ValueError
    return number


def parse_policy(data: Any) -> Policy:
    """Validate a policy document (from JSON or a form); raises PolicyError."""
    if not isinstance(data, dict):
        raise PolicyError({"policy": _("The policy must be an object.")})
    problems: dict[str, str] = {}
    rules: dict[str, Rule] = {}
    for sev in SEVERITIES:
        raw = data.get(sev, DEFAULT_POLICY[sev])
        if not isinstance(raw, dict):
            problems[sev] = _("Expected the plan and closure days.")
            continue
        needed = bool(raw.get("corrective_action", DEFAULT_POLICY[sev]["corrective_action"]))
        try:
            plan = _days(raw.get("plan_days"))
        except (TypeError, ValueError):
            problems[f"{sev}.plan_days"] = _("Enter a whole number of days.")
            continue
        try:
            close = _days(raw.get("close_days"))
        except (TypeError, ValueError):
            problems[f"{sev}.close_days"] = _("Enter a whole number of days.")
            continue
        if needed:
            if plan is None or not 1 <= plan <= MAX_DAYS:
                problems[f"{sev}.plan_days"] = _("Between 1 and 730 days.")
            if close is None or not 1 <= close <= MAX_DAYS:
                problems[f"{sev}.close_days"] = _("Between 1 and 730 days.")
            elif plan is not None and close < plan:
                problems[f"{sev}.close_days"] = _(
                    "Closure cannot be due before the corrective plan."
                )
        else:
            plan = close = None
        working = bool(raw.get("working_days", False))
        rules[sev] = Rule(needed, plan, close, working and needed)
    try:
        remind = _days(data.get("remind_days_before", DEFAULT_POLICY["remind_days_before"]))
        if remind is None or not 0 <= remind <= 30:
            raise ValueError
    except (TypeError, ValueError):
        problems["remind_days_before"] = _("Between 0 and 30 days.")
        remind = 3
    days_off = _days_off(data.get("days_off", []), problems)
    if problems:
        raise PolicyError(problems)
    return Policy(rules, remind, days_off)


def _days_off(value: Any, problems: dict[str, str]) -> tuple[date, ...]:
    """The organisation's extra days off: dates (YYYY-MM-DD), as a list or one a line."""
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    if not isinstance(value, list | tuple):
        problems["days_off"] = _("Enter one date (YYYY-MM-DD) a line.")
        return ()
    found: set[date] = set()
    for item in value:
        text = str(item).strip()
        if not text:
            continue
        try:
            found.add(date.fromisoformat(text))
        except ValueError:
            problems["days_off"] = _("Not a date (YYYY-MM-DD): %(value)s", value=text[:40])
            return ()
    if len(found) > MAX_DAYS_OFF:
        problems["days_off"] = _("At most %(n)s days off.", n=MAX_DAYS_OFF)
        return ()
    return tuple(sorted(found))


DEFAULT = parse_policy(DEFAULT_POLICY)


# --- deadlines ---------------------------------------------------------------

PLAN_PHASE = ("open", "containment", "root_cause", "action_plan")
CLOSE_PHASE = ("plan_approved", "implementing", "verification")
ACTIVE_STATES = PLAN_PHASE + CLOSE_PHASE
TERMINAL_STATES = ("closed", "cancelled")


def add_days(start: date, days: int | None) -> date | None:
    return None if days is None else start + timedelta(days=days)


def count_days(policy: Policy, start: date, days: int | None, working: bool) -> date | None:
    """`days` after `start`: calendar days, or working days (statutory calendar less the
    organisation's days off)."""
    if days is None:
        return None
    if working:
        return workdays.add_workdays(start, days, policy.days_off)
    return start + timedelta(days=days)


def plan_due(policy: Policy, severity: str, clock_start: date) -> date | None:
    """When the corrective plan (containment, cause, actions) must be submitted."""
    rule = policy.rule(severity)
    return count_days(policy, clock_start, rule.plan_days, rule.working_days)


def close_due(policy: Policy, severity: str, clock_start: date) -> date | None:
    """When the NC must be closed (actions done and verified)."""
    rule = policy.rule(severity)
    return count_days(policy, clock_start, rule.close_days, rule.working_days)


def incident_due(policy: Policy, level: int | None, start: date) -> date | None:
    """When a quality incident of this level must be resolved (or a temporary fix given):
    within hours means the same day; level 3 in working days."""
    found = INCIDENT_LEVELS.get(level) if isinstance(level, int) else None
    if found is None:
        return None
    if found.resolve_working_days is not None:
        return count_days(policy, start, found.resolve_working_days, True)
    return start


def earliest(*days: date | None) -> date | None:
    found = [d for d in days if d is not None]
    return min(found) if found else None


def issue_due(policy: Policy, severity: str, incident_level: int | None, start: date
              ) -> date | None:
    """The first deadline of an issued NC: its plan's, or an incident's resolution if
    that comes first."""
    return earliest(plan_due(policy, severity, start), incident_due(policy, incident_level,
                                                                    start))


def concession_until(concession: Any) -> date | None:
    """The agreed date of an active concession, else None."""
    if not isinstance(concession, dict) or concession.get("status") != "active":
        return None
    try:
        return date.fromisoformat(str(concession.get("until")))
    except ValueError:
        return None


def deadline_in_force(
    policy: Policy, state: str, severity: str, clock_start: date | None, concession: Any = None,
    incident_level: int | None = None,
) -> date | None:
    """The next deadline of an NC in this state: the plan's before approval, the
    closure's after; an active concession replaces both with the agreed date."""
    if state not in ACTIVE_STATES:
        return None
    agreed = concession_until(concession)
    if agreed is not None:
        return agreed
    if clock_start is None:
        return None
    if state in PLAN_PHASE:
        return issue_due(policy, severity, incident_level, clock_start)
    return close_due(policy, severity, clock_start)


def is_overdue(due: date | None, state: str, on: date) -> bool:
    """Overdue: still active and the due date has passed (the due day itself is on time)."""
    return due is not None and state in ACTIVE_STATES and due < on


def days_overdue(due: date | None, on: date) -> int:
    return max(0, (on - due).days) if due else 0


def due_soon(due: date | None, state: str, on: date, within: int) -> bool:
    return due is not None and state in ACTIVE_STATES and on <= due <= on + timedelta(within)


# --- storage -----------------------------------------------------------------


async def load_policy() -> Policy:
    row = await AppSetting.select(AppSetting.value).where(AppSetting.key == POLICY_KEY).first()
    if row is None:
        return DEFAULT
    value = row["value"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return DEFAULT
    try:
        return parse_policy(value)
    except PolicyError:
        return DEFAULT


async def save_policy(policy: Policy, actor: Any, reason: str = "") -> None:
    """Store the policy through the change log (create the setting on first save)."""
    value = json.dumps(policy.as_json(), sort_keys=True)
    async with write_transaction():
        row = await AppSetting.objects().get(AppSetting.key == POLICY_KEY)
        if row is None:
            await record.create(
                AppSetting(key=POLICY_KEY, value=value, updated_at=datetime.now(UTC)), actor, reason
            )
        else:
            current = row.value if isinstance(row.value, str) else json.dumps(row.value)
            if json.loads(current) != json.loads(value):
                await record.update(
                    row, actor, {"value": value, "updated_at": datetime.now(UTC)}, reason
                )


def policy_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The policy form's fields ("major.plan_days"...) as the policy's JSON shape."""
    data: dict[str, Any] = {
        sev: {
            "corrective_action": form.get(f"{sev}.corrective_action") == "on",
            "plan_days": form.get(f"{sev}.plan_days", ""),
            "close_days": form.get(f"{sev}.close_days", ""),
        }
        for sev in SEVERITIES
    }
    for sev in SEVERITIES:
        data[sev]["working_days"] = form.get(f"{sev}.working_days") == "on"
    data["remind_days_before"] = form.get("remind_days_before", "")
    data["days_off"] = str(form.get("days_off", ""))
    return data
