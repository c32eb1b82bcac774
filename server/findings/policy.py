"""The severity policy: how long an owner has for a corrective plan and for closure,
and the date arithmetic built on it. Plain functions; the stored policy is the
AppSetting "nc_policy" (JSON), falling back to the defaults below.

Deadlines are calendar days counted from the day the NC was issued (or the day its
clock restarted: a reopening or a fix found not effective). "Today" is the
organisation's calendar day (server/clock.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.i18n import gettext as _

SEVERITIES = ("major", "minor", "observation")
POLICY_KEY = "nc_policy"
MAX_DAYS = 730

DEFAULT_POLICY: dict[str, Any] = {
    "major": {"corrective_action": True, "plan_days": 7, "close_days": 30},
    "minor": {"corrective_action": True, "plan_days": 30, "close_days": 60},
    "observation": {"corrective_action": False, "plan_days": None, "close_days": None},
    "remind_days_before": 3,
}


@dataclass(frozen=True)
class Rule:
    corrective_action: bool
    plan_days: int | None
    close_days: int | None


@dataclass(frozen=True)
class Policy:
    rules: dict[str, Rule]
    remind_days_before: int = 3

    def rule(self, severity: str) -> Rule:
        return self.rules.get(severity) or Rule(False, None, None)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            sev: {
                "corrective_action": r.corrective_action,
                "plan_days": r.plan_days,
                "close_days": r.close_days,
            }
            for sev, r in self.rules.items()
        }
        out["remind_days_before"] = self.remind_days_before
        return out


class PolicyError(ValueError):
    """An invalid policy; `problems` maps a field (e.g. "major.plan_days") to a message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


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
        rules[sev] = Rule(needed, plan, close)
    try:
        remind = _days(data.get("remind_days_before", DEFAULT_POLICY["remind_days_before"]))
        if remind is None or not 0 <= remind <= 30:
            raise ValueError
    except (TypeError, ValueError):
        problems["remind_days_before"] = _("Between 0 and 30 days.")
        remind = 3
    if problems:
        raise PolicyError(problems)
    return Policy(rules, remind)


DEFAULT = parse_policy(DEFAULT_POLICY)


# --- deadlines ---------------------------------------------------------------

PLAN_PHASE = ("open", "containment", "root_cause", "action_plan")
CLOSE_PHASE = ("plan_approved", "implementing", "verification")
ACTIVE_STATES = PLAN_PHASE + CLOSE_PHASE
TERMINAL_STATES = ("closed", "cancelled")


def add_days(start: date, days: int | None) -> date | None:
    return None if days is None else start + timedelta(days=days)


def plan_due(policy: Policy, severity: str, clock_start: date) -> date | None:
    """When the corrective plan (containment, cause, actions) must be submitted."""
    return add_days(clock_start, policy.rule(severity).plan_days)


def close_due(policy: Policy, severity: str, clock_start: date) -> date | None:
    """When the NC must be closed (actions done and verified)."""
    return add_days(clock_start, policy.rule(severity).close_days)


def concession_until(concession: Any) -> date | None:
    """The agreed date of an active concession, else None."""
    if not isinstance(concession, dict) or concession.get("status") != "active":
        return None
    try:
        return date.fromisoformat(str(concession.get("until")))
    except ValueError:
        return None


def deadline_in_force(
    policy: Policy, state: str, severity: str, clock_start: date | None, concession: Any = None
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
        return plan_due(policy, severity, clock_start)
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
    from server.findings.tables import AppSetting

    row = await AppSetting.select(AppSetting.value).where(AppSetting.key == POLICY_KEY).first()
    if row is None:
        return DEFAULT
    value = row["value"]
    if isinstance(value, str):
        import json

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
    import json

    from server.changelog import record
    from server.db.engine import write_transaction
    from server.findings.tables import AppSetting

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
