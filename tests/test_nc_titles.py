"""NC titles in the reader's language: raised from an item, the item's prompt in either
language; written by hand, shown as written and marked with its language; rewritten,
the writer's alone. Older NCs get both languages from the migration's backfill."""

from __future__ import annotations

import csv
import html
import importlib
import io
from typing import Any

import pytest

from server.core.i18n import written_in
from server.findings.tables import Nonconformance
from tests.support import csrf_of
from tests.test_findings_support import QM_AUDIT, actor, submitted_audit, user_ids

pytestmark = pytest.mark.db

QM101_EN = "QM1.01 Has the company issued an O&M service quality management policy"
QM101_ZH = "QM1.01 公司是否已正式发布并执行现行有效的运维服务质量管理制度"
ZH = {"accept-language": "zh-CN"}
EN = {"accept-language": "en"}
backfill = importlib.import_module(
    "server.db.piccolo_migrations.auditrail_2026_12_03t17_52_00_000000")


async def _raised() -> int:
    _audit, ncs = await submitted_audit(QM_AUDIT, "auditor", {"QM1.01": ("no", "无手册")})
    return ncs[0]


async def _issued() -> int:
    from server.findings import service

    nc_id = await _raised()
    await service.transition(nc_id, await actor("auditor"), "open",
                             {"owner": (await user_ids())["owner"], "comment": ""})
    return nc_id


async def _row(nc_id: int) -> dict[str, Any]:
    row = await Nonconformance.select().where(Nonconformance.id == nc_id).first()
    assert row is not None
    return row


def test_written_in_tells_the_language_by_its_letters() -> None:
    assert written_in("UPS 电池鼓包") == "zh_CN"
    assert written_in("Battery swollen") == "en"
    assert written_in("UP1.01 180") == "en"  # item ids are Latin letters
    assert written_in("2026-12-03 / 42") is None


def test_an_item_raised_title_reads_in_each_readers_language(
        client: Any, run: Any, as_user: Any, api: Any) -> None:
    api_as = api
    nc_id = run(_issued)
    row = run(_row, nc_id)
    assert row["title_zh"].startswith(QM101_ZH) and row["title_en"].startswith(QM101_EN)
    as_user("quality_manager")
    en = html.unescape(client.get(f"/nonconformances/{nc_id}", headers=EN).text)
    zh = html.unescape(client.get(f"/nonconformances/{nc_id}", headers=ZH).text)
    def heading(page: str) -> str:
        return page.split("<h1>", 1)[1].split("</h1>", 1)[0]

    # (the history below still shows the title as raised: it is the record of that)
    assert QM101_EN in heading(en) and QM101_ZH in heading(zh)
    assert "lang-mark" not in en and "lang-mark" not in zh  # a translation, not a foreign text
    # the register, the CSV and the API
    ref = row["ref"]
    register = html.unescape(client.get(f"/nonconformances?q={ref}", headers=EN).text)
    assert QM101_EN in register
    found = client.get(f"/nonconformances?q={QM101_EN[7:40]}", headers=EN).text
    assert ref in found  # searchable in the other language than the raiser's
    lines = list(csv.reader(io.StringIO(client.get(
        "/nonconformances/export.csv", headers=EN).content.decode("utf-8")[1:])))
    assert next(r[1] for r in lines if r[0] == ref).startswith(QM101_EN)
    api = client.get(f"/api/v1/nonconformances?q={ref}", headers=api_as("quality_manager")).json()
    item = next(i for i in api["items"] if i["ref"] == ref)
    assert item["titles"]["en"].startswith(QM101_EN)
    assert item["titles"]["zh-CN"].startswith(QM101_ZH)


def test_a_hand_written_title_is_shown_as_written_and_marked(
        client: Any, run: Any, as_user: Any) -> None:
    token = as_user("auditor")
    response = client.post("/nonconformances", headers=ZH, data={
        "_csrf": token, "title": "配电室门禁失效", "source": "random_check",
        "severity": "minor", "description": "夜间巡检发现门禁无法锁闭",
        "requirement": "", "evidence": ""}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    detail_url = response.headers["location"]
    en = client.get(detail_url, headers=EN).text
    assert ('<span lang="zh-CN">配电室门禁失效</span> '
            '<span class="lang-mark">(in Chinese)</span>') in en
    assert '<span lang="zh-CN">夜间巡检发现门禁无法锁闭</span>' in en
    zh = client.get(detail_url, headers=ZH).text
    assert "配电室门禁失效" in zh and "lang-mark" not in zh.split("<main", 1)[-1]


def test_a_rewritten_title_is_the_writers_alone(client: Any, run: Any, as_user: Any) -> None:
    nc_id = run(_raised)
    token = as_user("auditor")
    page = client.get(f"/nonconformances/{nc_id}", headers=EN).text
    version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/nonconformances/{nc_id}/edit", headers=EN, data={
        "_csrf": csrf_of(page) or token, "version": version,
        "title": "Quality policy not issued", "description": "", "verification_standard": ""},
        follow_redirects=False)
    assert response.status_code in (200, 302, 303), response.text
    row = run(_row, nc_id)
    assert (row["title"], row["title_zh"], row["title_en"]) == (
        "Quality policy not issued", "", "")
    zh = client.get(f"/nonconformances/{nc_id}", headers=ZH).text
    assert ('<span lang="en">Quality policy not issued</span> '
            '<span class="lang-mark">(英文原文)</span>') in zh


async def _legacy(title: str, requirement: str) -> int:
    rows = await Nonconformance.raw(
        "SELECT id FROM nonconformance ORDER BY id DESC LIMIT 1")
    nc_id = rows[0]["id"]
    await Nonconformance.update({Nonconformance.title: title, Nonconformance.title_zh: "",
                                 Nonconformance.title_en: "",
                                 Nonconformance.requirement: requirement}).where(
        Nonconformance.id == nc_id)
    await backfill.fill()
    return nc_id


def test_the_backfill_gives_older_generated_titles_both_languages(run: Any) -> None:
    run(_raised)
    requirement = ('{"items": [{"item_id": "Q1.01", "prompt": '
                   '{"zh-CN": "有记录吗？", "en": "Are there records?"}}]}')
    nc_id = run(_legacy, "Q1.01 有记录吗？", requirement)
    row = run(_row, nc_id)
    assert (row["title_zh"], row["title_en"]) == ("Q1.01 有记录吗？", "Q1.01 Are there records?")
    # a title someone rewrote, or a hand-raised NC, keeps only its own words
    nc_id = run(_legacy, "Records missing in room 3", requirement)
    row = run(_row, nc_id)
    assert (row["title_zh"], row["title_en"]) == ("", "")
    assert backfill.titles("x", "not json") is None
    assert backfill.titles("x", '{"text": "a hand-written requirement"}') is None


def test_reminder_mail_names_the_nc_in_the_recipients_language(run: Any) -> None:
    from server.findings.labels import nc_title

    row = run(_row, run(_raised))
    assert nc_title(row, "en").startswith(QM101_EN)
    assert nc_title(row, "zh_CN").startswith(QM101_ZH)
    assert nc_title({"title": "门禁", "title_zh": "", "title_en": ""}, "en") == "门禁"

