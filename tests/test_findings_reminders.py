"""Reminders: computed from the due dates, shown in the app, mailed through a real
local SMTP server (aiosmtpd) once per item and due date, retried after a failure;
and the `reminders send` command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from functools import partial
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from server import clock
from server.accounts.tables import User
from server.findings.mail import SmtpConfig, smtp_config
from server.findings.reminders import send_reminders
from server.findings.tables import CorrectiveAction, Nonconformance, ReminderSent
from server.settings import PROJECT_ROOT
from tests.test_findings_support import QM_AUDIT, drive, submitted_audit, user_ids

TODAY = clock.today()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, msg))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _restore_people(run: Any) -> Iterator[None]:
    """Demo users outlive a test: put back the addresses and languages changed here."""
    saved = run(lambda: User.select(User.id, User.email, User.language))
    yield

    async def restore() -> None:
        for row in saved:
            await User.update({User.email: row["email"], User.language: row["language"]}
                              ).where(User.id == row["id"])

    run(restore)


async def _setup() -> dict[str, int]:
    """An overdue NC of the owner, an action of the engineer due in two days,
    an NC due in three weeks (no reminder yet)."""
    await User.update({User.email: "owner@example.com"}).where(User.login == "owner")
    await User.update({User.email: "engineer@example.com", User.language: "en"}).where(
        User.login == "engineer")
    _audit, ncs = await submitted_audit(QM_AUDIT, "auditor", {
        "QM1.01": ("no", ""), "QM1.02": ("no", ""), "QM1.03": ("no", "")})
    late, planned, later = ncs
    await drive(late, "open")
    await drive(planned, "implementing")
    await drive(later, "open")
    ids = await user_ids()
    await Nonconformance.update({Nonconformance.due_date: TODAY - timedelta(days=3)}).where(
        Nonconformance.id == late)
    await Nonconformance.update({Nonconformance.due_date: TODAY + timedelta(days=20)}).where(
        Nonconformance.id.is_in([planned, later]))
    await CorrectiveAction.update({CorrectiveAction.owner: ids["engineer"],
                                   CorrectiveAction.due_date: TODAY + timedelta(days=2)}
                                  ).where(CorrectiveAction.nc == planned)
    return {"late": late, "planned": planned, "later": later}


def _cfg(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, sender="auditrail@example.com")


def test_reminders_are_mailed_once_in_each_persons_language(
        client: Any, run: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    made = run(_setup)
    report = run(send_reminders, _cfg(port), "https://audit.example.com", TODAY)
    assert report["pending"] == 2 and report["people"] == 2
    assert report["sent"] == 2 and report["failed"] == 0
    mails = {to[0]: msg for to, msg in inbox.messages}
    assert set(mails) == {"owner@example.com", "engineer@example.com"}
    owner_mail = mails["owner@example.com"]
    assert owner_mail["From"] == "auditrail@example.com"
    body = owner_mail.get_content()
    assert f"https://audit.example.com/nonconformances/{made['late']}" in body
    assert "3" in body and (TODAY - timedelta(days=3)).isoformat() in body
    assert f"/nonconformances/{made['later']}" not in body  # not due soon yet
    engineer_mail = mails["engineer@example.com"]
    assert engineer_mail["Subject"] == "Auditrail: 0 overdue, 1 due soon"
    text = engineer_mail.get_content()
    assert "Add the breaker to the weekly round" in text and "Due soon" in text
    # Sent once: a second run sends nothing new.
    again = run(send_reminders, _cfg(port), "https://audit.example.com", TODAY)
    assert again["pending"] == 0 and again["sent"] == 0 and len(inbox.messages) == 2
    rows = run(lambda: ReminderSent.select(ReminderSent.kind, ReminderSent.ok))
    assert sorted(r["kind"] for r in rows) == ["due_soon", "overdue"]
    assert all(r["ok"] for r in rows)
    # Once the action itself is overdue, that is a new reminder.
    later_day = TODAY + timedelta(days=3)
    third = run(send_reminders, _cfg(port), "https://audit.example.com", later_day)
    assert third["sent"] == 1
    assert tuple(inbox.messages[-1][0]) == ("engineer@example.com",)


def test_a_failed_send_is_recorded_and_retried(client: Any, run: Any,
                                               smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    run(_setup)
    dead = _cfg(_free_port())  # nothing listens there
    failed = run(send_reminders, dead, "http://x", TODAY)
    assert failed["sent"] == 0 and failed["failed"] == 2 and failed["errors"]
    rows = run(lambda: ReminderSent.select(ReminderSent.ok))
    assert rows and not any(r["ok"] for r in rows)
    retried = run(send_reminders, _cfg(port), "http://x", TODAY)
    assert retried["sent"] == 2 and len(inbox.messages) == 2


def test_without_smtp_nothing_is_sent_but_the_app_shows_the_reminders(
        client: Any, run: Any, as_user: Any) -> None:
    made = run(_setup)
    report = run(send_reminders, None, "http://x", TODAY)
    assert report["mail"] is False and report["pending"] == 2 and report["sent"] == 0
    assert run(lambda: ReminderSent.count()) == 0
    as_user("owner")
    page = client.get("/my-actions", headers={"accept-language": "en"}).text
    assert "1 overdue" in page and f"/nonconformances/{made['late']}" in page
    as_user("engineer")
    page = client.get("/my-actions", headers={"accept-language": "en"}).text
    assert "1 due within 3 days" in page and "Add the breaker" in page


def test_smtp_settings_from_the_environment() -> None:
    assert smtp_config({}) is None
    assert smtp_config({"AUDITRAIL_SMTP_HOST": "  "}) is None
    plain = smtp_config({"AUDITRAIL_SMTP_HOST": "mail.local"})
    assert plain == SmtpConfig(host="mail.local", port=25, sender="auditrail@mail.local")
    tls = smtp_config({"AUDITRAIL_SMTP_HOST": "smtp.example.com", "AUDITRAIL_SMTP_STARTTLS": "1",
                       "AUDITRAIL_SMTP_USER": "u", "AUDITRAIL_SMTP_PASSWORD": "p",
                       "AUDITRAIL_SMTP_FROM": "qa@example.com"})
    assert tls is not None and tls.port == 587 and tls.starttls and tls.user == "u"
    assert tls.sender == "qa@example.com"
    odd = smtp_config({"AUDITRAIL_SMTP_HOST": "h", "AUDITRAIL_SMTP_PORT": "x"})
    assert odd is not None and odd.port == 25


def test_the_reminders_send_command(client: Any, run: Any, settings: Any,
                                    smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    run(_setup)
    env = {**os.environ, "AUDITRAIL_DATA_DIR": str(settings.data_dir),
           "AUDITRAIL_DATABASE_URL": settings.database_url,
           "AUDITRAIL_SECRET_KEY": settings.secret_key,
           "AUDITRAIL_SMTP_HOST": "127.0.0.1", "AUDITRAIL_SMTP_PORT": str(port),
           "AUDITRAIL_BASE_URL": "https://qa.example.com"}
    command = [sys.executable, "-m", "server.findings.commands", "send",
               "--today", TODAY.isoformat()]
    dry = subprocess.run([*command, "--dry-run"], env=env, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "2 reminders for 2 people: 0 mails sent" in dry.stdout and not inbox.messages
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 mails sent, 0 failed" in done.stdout
    assert len(inbox.messages) == 2
    assert "https://qa.example.com/my-actions" in inbox.messages[0][1].get_content()
    off = subprocess.run(command, env={k: v for k, v in env.items()
                                       if k != "AUDITRAIL_SMTP_HOST"},
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert off.returncode == 0 and "mail is off" in off.stdout


def test_reminders_need_an_address(client: Any, run: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    run(_setup)
    run(lambda: User.update({User.email: ""}, force=True))
    report = run(partial(send_reminders, _cfg(port), "http://x", TODAY))
    assert report["pending"] == 0 and not inbox.messages
