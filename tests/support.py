"""Helpers shared by tests."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from server.accounts.tables import ApiToken, LoginSession, User
from server.assets.tables import Asset, InspectionSchedule
from server.audits.tables import Answer, Audit, Photo, Programme
from server.checklists.tables import ChecklistVersion
from server.demo import USERS
from server.findings.tables import (
    AppSetting,
    CorrectiveAction,
    NcSourceItem,
    Nonconformance,
    ReminderSent,
)

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


async def reset_database() -> None:
    """Remove what tests add; shipped checklist versions and demo data stay.

    (The change log is append-only, even for tests: it just grows.)
    """
    # children before parents
    for table in (ReminderSent, CorrectiveAction, NcSourceItem):
        await table.delete(force=True)
    await Nonconformance.update({Nonconformance.recurrence_of: None}, force=True)
    for table in (Nonconformance, AppSetting, Photo, Answer, Audit, Programme,
                  InspectionSchedule, Asset):
        await table.delete(force=True)
    await ChecklistVersion.delete().where(ChecklistVersion.key.like("test.%"))
    await LoginSession.delete(force=True)
    await ApiToken.delete(force=True)
    # Users stay (ids are never reused, as in real use, so histories stay apart); tests
    # create users with logins of their own. Demo users get their demo state back.
    for role, (name, _unit, _projects) in USERS.items():
        await User.update({User.name: name, User.language: "", User.active: True}).where(
            User.login == role.value)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: Any, user: str, password: str = "demo") -> str:
    """Log in through the real form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"login": user, "password": password,
                                           "_csrf": token, "next": "/account"})
    assert response.status_code == 200, response.text[:500]
    return csrf_of(response.text)


def checklist_yaml(key: str = "test.sample", version: int = 1, extra_item: str = "") -> str:
    """A small valid checklist; `extra_item` is YAML appended to the first section."""
    body = textwrap.dedent(
        f"""\
        key: {key}
        version: {version}
        kind: project_audit
        scope: {{phase: startup}}
        title: {{zh-CN: 测试清单, en: Test checklist}}
        pass_threshold: 75
        sections:
          - id: S1
            title: {{zh-CN: 第一节, en: Section one}}
            items:
              - id: S1.01
                type: yes_no_na
                prompt: {{zh-CN: 团队已组建, en: Team is formed}}
                guidance: {{zh-CN: 查看任命书, en: Look at the appointment letter}}
              - id: S1.02
                type: number
                prompt: {{zh-CN: 温度, en: Temperature}}
                unit: {{zh-CN: 摄氏度, en: °C}}
                min: 18
                max: 27
        """
    )
    if extra_item:
        body += textwrap.indent(textwrap.dedent(extra_item), " " * 6)
    return body


FIXTURE_CHECKLISTS = Path(__file__).parent / "fixtures" / "checklists"


async def sync_fixture_checklists() -> None:
    from server.checklists.sync import sync_checklists

    report = await sync_checklists(FIXTURE_CHECKLISTS)
    assert report.ok, report.errors


def jpeg_bytes(width: int = 800, height: int = 600, color: tuple[int, int, int] = (200, 30, 30)
               ) -> bytes:
    """A real JPEG made with Pillow."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def png_bytes(width: int = 300, height: int = 100) -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).line((10, 50, 290, 60), fill=(0, 0, 0, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
