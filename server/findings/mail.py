"""Sending mail over SMTP. Configured by environment variables, off unless
AUDITRAIL_SMTP_HOST is set:

    AUDITRAIL_SMTP_HOST       the server (no mail is sent without it)
    AUDITRAIL_SMTP_PORT       default 587 with STARTTLS, else 25
    AUDITRAIL_SMTP_FROM       the sender address (default auditrail@<host>)
    AUDITRAIL_SMTP_USER / AUDITRAIL_SMTP_PASSWORD   optional login
    AUDITRAIL_SMTP_STARTTLS   1/true to upgrade the connection with STARTTLS

smtplib blocks, so sending runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 20.0


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def smtp_config(env: Mapping[str, str] | None = None) -> SmtpConfig | None:
    """The SMTP settings from the environment, or None when mail is off."""
    env = os.environ if env is None else env
    host = (env.get("AUDITRAIL_SMTP_HOST") or "").strip()
    if not host:
        return None
    starttls = _flag(env.get("AUDITRAIL_SMTP_STARTTLS"))
    try:
        port = int(env.get("AUDITRAIL_SMTP_PORT") or (587 if starttls else 25))
    except ValueError:
        port = 587 if starttls else 25
    return SmtpConfig(
        host=host,
        port=port,
        sender=(env.get("AUDITRAIL_SMTP_FROM") or f"auditrail@{host}").strip(),
        user=env.get("AUDITRAIL_SMTP_USER") or "",
        password=env.get("AUDITRAIL_SMTP_PASSWORD") or "",
        starttls=starttls,
    )


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
