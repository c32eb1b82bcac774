"""Sending mail over SMTP, as Settings.smtp says (off unless AUDITRAIL_SMTP_HOST is set).

smtplib blocks, so sending runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from server.core.settings import SmtpConfig


def message(cfg: SmtpConfig, to: str, to_name: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = formataddr((to_name, to)) if to_name else to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def _send_all(cfg: SmtpConfig, messages: list[EmailMessage]) -> list[str | None]:
    """Send over one connection; per message None (sent) or the error text."""
    results: list[str | None] = []
    try:
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.user:
                smtp.login(cfg.user, cfg.password)
            for msg in messages:
                try:
                    smtp.send_message(msg)
                    results.append(None)
                except smtplib.SMTPException as exc:
                    results.append(f"{type(exc).__name__}: {exc}")
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
        results += [error] * (len(messages) - len(results))
    return results


async def send_all(cfg: SmtpConfig, messages: list[EmailMessage]) -> list[str | None]:
    if not messages:
        return []
    return await asyncio.to_thread(_send_all, cfg, messages)
