"""Helpers shared by tests."""

from __future__ import annotations

import asyncio
import itertools
import re
import textwrap
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_people = itertools.count(1)


def run_coroutine(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to its end from synchronous test code, on a thread of its own:
    Playwright's sync API may own this thread's event loop, and asyncio.run refuses then."""
    async def main() -> T:
        return await make()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def new_user(role: str, *, with_address: bool = False, language: str = "",
                   org_unit: int | None = None) -> str:
    """A person of one role for one test, password "demo"; returns the login (the address,
    if asked for, is login@example.com). The demo users are shared by the tests of a
    module: a test that changes a person, or counts what people are sent, makes its own."""
    from server.accounts.users import UserInput, create_user
    from server.changelog.record import SYSTEM

    n = next(_people)
    login = f"{role}-{n}"
    await create_user(UserInput(login=login, name=f"Test {role} {n}", roles=[role],
                                email=f"{login}@example.com" if with_address else "",
                                language=language, org_unit=org_unit),
                      "demo", SYSTEM, enforce_policy=False)
    return login


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


def pdf_bytes() -> bytes:
    """A real one-page PDF made with pypdf."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    """A real Excel workbook made with openpyxl."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active["A1"] = "signed"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def docx_bytes(macro: bool = False) -> bytes:
    """The smallest Word document Word opens (with a macro part if asked)."""
    import io
    import zipfile

    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" '
            f'ContentType="{main}"/></Types>'))
        z.writestr("word/document.xml", '<w:document xmlns:w="http://schemas.openxmlformats.'
                   'org/wordprocessingml/2006/main"><w:body/></w:document>')
        if macro:
            z.writestr("word/vbaProject.bin", b"\0" * 64)
    return buffer.getvalue()
