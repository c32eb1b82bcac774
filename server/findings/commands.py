"""`auditrail reminders ...`: mail NC and action reminders (run it daily from cron
or a systemd timer)."""

from __future__ import annotations

from datetime import date, datetime

import click


@click.group()
def reminders() -> None:
    """Reminders of overdue and soon-due nonconformances and actions."""


@reminders.command("send")
@click.option("--dry-run", is_flag=True, help="Count what would be sent; send nothing.")
@click.option(
    "--today",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend it is this day (YYYY-MM-DD); default: today where the organisation works.",
)
def send(dry_run: bool, on: datetime | None) -> None:
    """Mail everyone their pending reminders (needs AUDITRAIL_SMTP_HOST)."""
    from server.cli import _run
    from server.findings.mail import smtp_config
    from server.findings.reminders import send_reminders
    from server.settings import Settings

    settings = Settings.from_env()
    cfg = smtp_config()
    day: date | None = on.date() if on else None
    report = _run(lambda: send_reminders(cfg, settings.base_url, day, dry_run), settings)
    if not report["mail"]:
        click.echo("mail is off (AUDITRAIL_SMTP_HOST is not set): nothing sent")
    click.echo(
        f"{report['pending']} reminders for {report['people']} people: "
        f"{report['sent']} mails sent, {report['failed']} failed"
    )
    for line in report["errors"]:
        click.echo(f"failed: {line}", err=True)
    if report["failed"]:
        raise SystemExit(1)


if __name__ == "__main__":  # pragma: no cover - `python -m server.findings.commands send`
    reminders()
