"""Message catalogues are complete and current; language negotiation."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from server.core import i18n
from server.locale.catalog import LOCALE_DIR, extract, is_translated, render


def test_template_is_current() -> None:
    committed = (LOCALE_DIR / "messages.pot").read_text(encoding="utf-8")
    assert committed == render(extract()), "run: python -m server.locale.catalog"


def test_every_string_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id and is_translated(m)
    }
    assert sorted(ids - translated) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.4", "en"),
        ("fr-FR", None),
        ("en;q=0, zh-TW;q=0.3", "zh_CN"),
        ("zh-Hans-CN", "zh_CN"),
        ("en;q=abc", None),
        ("", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_gettext_follows_the_current_language() -> None:
    token = i18n.current_language.set("zh_CN")
    try:
        assert i18n.gettext("Checklists") == "检查表"
        assert i18n.format_pct(87.5) == "87.5%"
    finally:
        i18n.current_language.reset(token)
    token = i18n.current_language.set("en")
    try:
        assert i18n.gettext("Checklists") == "Checklists"
        assert i18n.format_number(12345.678) == "12,345.7"
    finally:
        i18n.current_language.reset(token)


def test_times_are_read_on_the_organisations_clock() -> None:
    """Pages and PDFs showed UTC while NC pages showed local time: 8 hours apart."""
    from datetime import UTC, datetime

    from server.core import clock

    moment = datetime(2026, 12, 3, 23, 8, tzinfo=UTC)
    token = i18n.current_language.set("en")
    try:
        clock.configure("Asia/Shanghai")
        assert i18n.format_date(moment, "short") == "12/4/26, 7:08\u202fAM"
        assert i18n.format_date(moment.replace(tzinfo=None), "short") == "12/4/26, 7:08\u202fAM"
        clock.configure("Europe/Berlin")
        assert i18n.format_date(moment, "short") == "12/4/26, 12:08\u202fAM"
    finally:
        clock.configure("Asia/Shanghai")
        i18n.current_language.reset(token)
