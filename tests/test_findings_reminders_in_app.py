"""Without SMTP nothing is mailed, and the app shows each person their reminders. (Its
own module: the reminders it leaves unsent would be mailed by any later run.)"""

from __future__ import annotations

from typing import Any

from server.core import clock
from server.findings.reminders import send_reminders
from server.findings.tables import ReminderSent
from tests.test_findings_support import reminders_due

TODAY = clock.today()


def test_without_smtp_nothing_is_sent_but_the_app_shows_the_reminders(
        client: Any, run: Any, as_user: Any) -> None:
    made = run(reminders_due, TODAY)
    report = run(send_reminders, None, "http://x", TODAY)
    assert report["mail"] is False and report["pending"] == 2 and report["sent"] == 0
    assert run(lambda: ReminderSent.count()) == 0
    as_user(made["owner"])
    page = client.get("/my-actions", headers={"accept-language": "en"}).text
    assert "1 overdue" in page and f"/nonconformances/{made['late']}" in page
    as_user(made["engineer"])
    page = client.get("/my-actions", headers={"accept-language": "en"}).text
    assert "1 due within 3 days" in page and "Add the breaker" in page
