"""Reminders: computed from the due dates, mailed through a real local SMTP server
(aiosmtpd) once per item and due date, only to people with an address.

A run mails every pending reminder in the database, so the tests that count what one
run sends are kept apart from those that leave reminders unsent: retries and the
command in test_findings_reminders_send.py, the app's own list in
test_findings_reminders_in_app.py."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from server.accounts.tables import User
from server.core import clock
from server.core.i18n import current_language, format_date
from server.core.settings import SmtpConfig
from server.findings.reminders import send_reminders
from server.findings.tables import ReminderSent
from tests.test_findings_support import Inbox, reminders_due

TODAY = clock.today()


def _cfg(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, sender="auditrail@example.com")


def test_reminders_are_mailed_once_in_each_persons_language(
        client: Any, run: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    made = run(reminders_due, TODAY)
    report = run(send_reminders, _cfg(port), "https://audit.example.com", TODAY)
    assert report["pending"] == 2 and report["people"] == 2
    assert report["sent"] == 2 and report["failed"] == 0
    owner, engineer = (f"{made[who]}@example.com" for who in ("owner", "engineer"))
    mails = {to[0]: msg for to, msg in inbox.messages}
    assert set(mails) == {owner, engineer}
    owner_mail = mails[owner]
    assert owner_mail["From"] == "auditrail@example.com"
    body = owner_mail.get_content()
    assert f"https://audit.example.com/nonconformances/{made['late']}" in body
    token = current_language.set("zh_CN")  # the owner reads Chinese, dates too
    due = format_date(TODAY - timedelta(days=3))
    current_language.reset(token)
    assert "3" in body and due in body
    assert (TODAY - timedelta(days=3)).isoformat() not in body
    assert f"/nonconformances/{made['later']}" not in body  # not due soon yet
    engineer_mail = mails[engineer]
    assert engineer_mail["Subject"] == "Auditrail: 0 overdue, 1 due soon"
    text = engineer_mail.get_content()
    assert "Add the breaker to the weekly round" in text and "Due soon" in text
    # Sent once: a second run sends nothing new.
    again = run(send_reminders, _cfg(port), "https://audit.example.com", TODAY)
    assert again["pending"] == 0 and again["sent"] == 0 and len(inbox.messages) == 2
    rows = run(lambda: ReminderSent.select(ReminderSent.kind, ReminderSent.ok).where(
        ReminderSent.recipient.is_in([owner, engineer])))
    assert sorted(r["kind"] for r in rows) == ["due_soon", "overdue"]
    assert all(r["ok"] for r in rows)
    # Once the action itself is overdue, that is a new reminder.
    later_day = TODAY + timedelta(days=3)
    third = run(send_reminders, _cfg(port), "https://audit.example.com", later_day)
    assert third["sent"] == 1
    assert tuple(inbox.messages[-1][0]) == (engineer,)


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpConfig.from_env({}) is None
    assert SmtpConfig.from_env({"AUDITRAIL_SMTP_HOST": "  "}) is None
    plain = SmtpConfig.from_env({"AUDITRAIL_SMTP_HOST": "mail.local"})
    assert plain == SmtpConfig(host="mail.local", port=25, sender="auditrail@mail.local")
    tls = SmtpConfig.from_env({"AUDITRAIL_SMTP_HOST": "smtp.example.com",
                               "AUDITRAIL_SMTP_STARTTLS": "1",
                               "AUDITRAIL_SMTP_USER": "u", "AUDITRAIL_SMTP_PASSWORD": "p",
                               "AUDITRAIL_SMTP_FROM": "qa@example.com"})
    assert tls is not None and tls.port == 587 and tls.starttls and tls.user == "u"
    assert tls.sender == "qa@example.com"
    odd = SmtpConfig.from_env({"AUDITRAIL_SMTP_HOST": "h", "AUDITRAIL_SMTP_PORT": "x"})
    assert odd is not None and odd.port == 25


def test_reminders_need_an_address(client: Any, run: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    run(reminders_due, TODAY)
    run(lambda: User.update({User.email: ""}, force=True))
    report = run(partial(send_reminders, _cfg(port), "http://x", TODAY))
    assert report["pending"] == 0 and not inbox.messages
