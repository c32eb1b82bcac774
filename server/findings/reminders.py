"""Reminders of NC deadlines and action due dates: overdue, and due within the
policy's `remind_days_before`. In the app they show on "My actions"; when SMTP is
configured, `auditrail reminders send` mails each person one digest in their
language. A reminder is mailed once per item, kind and due date (reminder_sent);
a failed send is retried on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from server.changelog import record
from server.core import i18n
from server.core.clock import today as local_today
from server.core.i18n import gettext as _
from server.core.settings import SmtpConfig
from server.findings.labels import nc_title
from server.findings.mail import message, send_all
from server.findings.policy import ACTIVE_STATES, load_policy
from server.findings.tables import Nonconformance, ReminderSent


@dataclass(frozen=True)
class Reminder:
    nc_id: int
    action_id: int | None
    kind: str  # due_soon | overdue
    user_id: int
    email: str
    name: str
    language: str
    ref: str
    title: str
    what: str
    due: date


def _states() -> str:
    return ", ".join(f"'{s}'" for s in ACTIVE_STATES)  # fixed names, never user input


async def pending(on: date, remind_days: int) -> list[Reminder]:
    """Every reminder due today that was not mailed yet (people without an e-mail
    address are left out: the app shows them their list)."""
    horizon = on + timedelta(days=remind_days)
    rows = await Nonconformance.raw(
        "SELECT n.id AS nc_id, NULL AS action_id, n.ref, n.title, n.title_zh, n.title_en,"
        " n.due_date AS due,"
        " n.state AS what, u.id AS user_id, u.email, u.name, u.language"
        " FROM nonconformance n JOIN app_user u ON u.id = n.owner"
        f" WHERE n.state IN ({_states()}) AND n.due_date <= {{}} AND u.active = {{}}"
        " AND u.email <> ''"
        " UNION ALL"
        " SELECT n.id, a.id, n.ref, n.title, n.title_zh, n.title_en, a.due_date, a.description,"
        " u.id, u.email, u.name,"
        " u.language FROM corrective_action a JOIN nonconformance n ON n.id = a.nc"
        " JOIN app_user u ON u.id = a.owner"
        f" WHERE a.status = 'open' AND n.state IN ({_states()}) AND a.due_date <= {{}}"
        " AND u.active = {} AND u.email <> ''",
        horizon, True, horizon, True,
    )
    sent = await ReminderSent.select(
        ReminderSent.nc, ReminderSent.action, ReminderSent.kind, ReminderSent.recipient,
        ReminderSent.due_date,
    ).where((ReminderSent.ok == True) & (ReminderSent.due_date <= horizon))  # noqa: E712
    done = {(s["nc"], s["action"], s["kind"], s["recipient"], s["due_date"]) for s in sent}
    out = []
    for r in rows:
        due = r["due"]
        if isinstance(due, str):
            due = date.fromisoformat(due)
        kind = "overdue" if due < on else "due_soon"
        key = (r["nc_id"], r["action_id"], kind, r["email"], due)
        if key in done:
            continue
        language = i18n.normalise(r["language"]) or i18n.DEFAULT_LANGUAGE
        out.append(Reminder(
            nc_id=r["nc_id"], action_id=r["action_id"], kind=kind, user_id=r["user_id"],
            email=r["email"], name=r["name"], language=language,
            ref=r["ref"], title=nc_title(r, language), what=str(r["what"] or ""), due=due,
        ))
    out.sort(key=lambda x: (x.email, x.due, x.ref))
    return out


def digest(items: list[Reminder], on: date, base_url: str) -> tuple[str, str]:
    """Subject and body of one person's reminder mail, in the current language."""
    overdue = [i for i in items if i.kind == "overdue"]
    soon = [i for i in items if i.kind == "due_soon"]
    subject = _("Auditrail: %(overdue)s overdue, %(soon)s due soon",
                overdue=len(overdue), soon=len(soon))
    lines = [_("Hello %(name)s,", name=items[0].name), ""]
    for heading, group in ((_("Overdue"), overdue), (_("Due soon"), soon)):
        if not group:
            continue
        lines.append(heading + ":")
        for item in group:
            days = (on - item.due).days
            due = i18n.format_date(item.due)
            when = (_("due %(date)s, %(n)s day(s) late", date=due, n=days)
                    if days > 0 else _("due %(date)s", date=due))
            what = (_("action: %(text)s", text=item.what[:200]) if item.action_id
                    else _("next step of the NC"))
            lines.append(f"- {item.ref} {item.title} — {what} — {when}")
            lines.append(f"  {base_url}/nonconformances/{item.nc_id}")
        lines.append("")
    my_list = f"{base_url}/my-actions"
    lines.append(_("Your list: %(url)s", url=my_list))
    return subject, "\n".join(lines)


async def send_reminders(cfg: SmtpConfig | None, base_url: str, on: date | None = None,
                         dry_run: bool = False) -> dict[str, Any]:
    """Mail everyone their pending reminders. Without SMTP (cfg None) nothing is sent."""
    policy = await load_policy()
    day = on or local_today()
    items = await pending(day, policy.remind_days_before)
    by_person: dict[str, list[Reminder]] = {}
    for item in items:
        by_person.setdefault(item.email, []).append(item)
    report: dict[str, Any] = {"pending": len(items), "people": len(by_person), "sent": 0,
                              "failed": 0, "errors": [], "mail": cfg is not None}
    if cfg is None or dry_run or not by_person:
        return report
    messages, groups = [], []
    for email, group in by_person.items():
        token = i18n.current_language.set(i18n.normalise(group[0].language) or "zh_CN")
        try:
            subject, body = digest(group, day, base_url.rstrip("/"))
        finally:
            i18n.current_language.reset(token)
        messages.append(message(cfg, email, group[0].name, subject, body))
        groups.append(group)
    results = await send_all(cfg, messages)
    for group, error in zip(groups, results, strict=True):
        for item in group:
            await record.create(
                ReminderSent(nc=item.nc_id, action=item.action_id, kind=item.kind,
                             recipient=item.email, due_date=item.due, ok=error is None),
                None,
                error or "",
            )
        if error is None:
            report["sent"] += 1
        else:
            report["failed"] += 1
            report["errors"].append(f"{group[0].email}: {error}")
    return report
