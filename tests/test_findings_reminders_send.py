"""Reminder runs that fail and are retried, and the `reminders send` command. (Apart
from the tests that leave reminders unsent: each run here counts everything pending.)"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from server.core import clock
from server.core.settings import PROJECT_ROOT, SmtpConfig
from server.findings.reminders import send_reminders
from server.findings.tables import ReminderSent
from tests.test_findings_support import Inbox, reminders_due

TODAY = clock.today()


def _cfg(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, sender="auditrail@example.com")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_failed_send_is_recorded_and_retried(client: Any, run: Any,
                                               smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    made = run(reminders_due, TODAY)
    people = [f"{made[who]}@example.com" for who in ("owner", "engineer")]
    dead = _cfg(_free_port())  # nothing listens there
    failed = run(send_reminders, dead, "http://x", TODAY)
    assert failed["sent"] == 0 and failed["failed"] == 2 and failed["errors"]
    rows = run(lambda: ReminderSent.select(ReminderSent.ok).where(
        ReminderSent.recipient.is_in(people)))
    assert rows and not any(r["ok"] for r in rows)
    retried = run(send_reminders, _cfg(port), "http://x", TODAY)
    assert retried["sent"] == 2 and len(inbox.messages) == 2


def test_the_reminders_send_command(client: Any, run: Any, settings: Any,
                                    smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    run(reminders_due, TODAY)
    env = {**os.environ, "AUDITRAIL_DATA_DIR": str(settings.data_dir),
           "AUDITRAIL_DATABASE_URL": settings.database_url,
           "AUDITRAIL_SECRET_KEY": settings.secret_key,
           "AUDITRAIL_SMTP_HOST": "127.0.0.1", "AUDITRAIL_SMTP_PORT": str(port),
           "AUDITRAIL_BASE_URL": "https://qa.example.com"}
    command = [sys.executable, "-m", "server.cli", "reminders", "send",
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
