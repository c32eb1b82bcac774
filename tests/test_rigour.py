"""Audit rigour: a written finding for a fail or partly answer, a reason for N/A, the
partly answer itself, and date items judged by their rule. The rules directly, the file
format (loader, schema, spreadsheet), then over HTTP (form, API, batch, submit, NCs)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from server.audits import daterules
from server.audits.answers import InvalidAnswer, normalize, points_of, result_of
from server.audits.scoring import Missing, missing, needs_comment, score
from server.checklists.loader import content_hash, parse_text
from server.checklists.model import Checklist, DateRule, Severity, dump, json_schema
from server.checklists.spreadsheet import export_xlsx, import_xlsx
from server.core import clock, i18n
from tests.support import checklist_yaml
from tests.test_audits_pages import save, start_from_catalogue

RIGOUR_YAML = """\
key: test.rigour
version: 1
kind: project_audit
scope: {phase: monitoring}
title: {zh-CN: 严谨性测试, en: Rigour test}
sections:
  - id: R
    title: {zh-CN: 检查, en: Checks}
    items:
      - id: R1
        type: yes_no_na
        prompt: {zh-CN: 计划已批准, en: The plan is approved}
        severity_if_failed: major
      - id: R2
        type: yes_no_na
        prompt: {zh-CN: 备件已评估, en: Spare parts assessed}
        critical: true
        reason_if_na: false
      - id: R3
        type: pass_fail
        prompt: {zh-CN: 机柜整洁, en: The cabinet is tidy}
        finding_if_failed: false
      - id: R4
        type: date
        prompt: {zh-CN: 指标下发日期, en: Date the indicators were issued}
        date_rule: {after: "01-01", before: "01-10"}
      - id: R5
        type: date
        prompt: {zh-CN: 报告日期, en: Date of the report}
        date_rule: {within_days_of: R4, days: 30}
"""


def load(text: str) -> Checklist:
    result = parse_text(text, "t.yaml")
    assert result.ok, [str(p) for p in result.problems]
    assert result.checklist is not None
    return result.checklist


RIGOUR = load(RIGOUR_YAML)


def it(item_id: str) -> Any:
    item = RIGOUR.item(item_id)
    assert item is not None
    return item


# --- date rules ------------------------------------------------------------------


def test_within_days_of_the_run_or_another_item() -> None:
    rule = DateRule(within_days_of="run", days=7)
    run_day = date(2026, 3, 20)
    assert daterules.problem(rule, "2026-03-13", run_day, {}) is None
    assert daterules.problem(rule, "2026-03-27", run_day, {}) is None
    assert daterules.problem(rule, "2026-03-12", run_day, {}) == (
        "Mar 12, 2026 is 8 days from the run's date (Mar 20, 2026); at most 7 are allowed.")
    other = DateRule(within_days_of="R4", days=30)
    assert daterules.problem(other, "2026-03-01", run_day, {"R4": "2026-02-10"}) is None
    said = daterules.problem(other, "2026-04-01", run_day, {"R4": "2026-02-10"})
    assert said is not None and "50 days from the date in R4 (Feb 10, 2026)" in said
    # what is not known yet is not judged: the other item unanswered, the run not started
    assert daterules.problem(other, "2030-01-01", run_day, {}) is None
    assert daterules.problem(rule, "2030-01-01", None, {}) is None


def test_before_and_after_a_day_of_the_runs_year_or_an_item() -> None:
    rule = DateRule(after="01-01", before="01-10")
    run_day = date(2026, 6, 1)
    assert daterules.problem(rule, "2026-01-10", run_day, {}) is None
    assert daterules.problem(rule, "2026-01-01", run_day, {}) is None
    assert daterules.problem(rule, "2026-01-11", run_day, {}) == (
        "Jan 11, 2026 is later than Jan 10, 2026; it must be on or before it.")
    assert daterules.problem(rule, "2025-12-31", run_day, {}) == (
        "Dec 31, 2025 is earlier than Jan 1, 2026; it must be on or after it.")
    # a year-old date in early January is last year's, not this year's
    assert daterules.problem(rule, "2025-01-05", run_day, {}) is not None
    by_item = DateRule(before="R1")
    assert daterules.problem(by_item, "2026-05-01", run_day, {"R1": "2026-05-01"}) is None
    assert daterules.problem(by_item, "2026-05-02", run_day, {"R1": "2026-05-01"}) is not None
    assert daterules.problem(DateRule(before="run"), "2026-06-02", run_day, {}) is not None


def test_quarter_end() -> None:
    rule = DateRule(quarter_end=15)
    for ok in ("2026-03-31", "2026-03-16", "2026-04-15", "2026-12-31", "2027-01-10"):
        assert daterules.problem(rule, ok, None, {}) is None, ok
    assert daterules.problem(rule, "2026-05-10", None, {}) == (
        "May 10, 2026 is 40 days from the nearest quarter end (Mar 31, 2026); "
        "at most 15 are allowed.")
    assert daterules.problem(rule, "2026-01-20", None, {}) is not None  # 20 days after Dec 31


def test_rules_in_words_in_both_languages() -> None:
    rule = DateRule(after="01-01", before="01-10")
    assert daterules.describe(rule) == (
        "The date must be on or after January 1 of the run's year; "
        "on or before January 10 of the run's year.")
    assert daterules.describe(DateRule(quarter_end=15)) == (
        "The date must be within 15 days of a quarter's end.")
    token = i18n.current_language.set("zh_CN")
    try:
        assert daterules.describe(rule) == (
            "日期应不早于本次检查当年的1月1日；不晚于本次检查当年的1月10日。")
        said = daterules.problem(rule, "2026-01-11", date(2026, 2, 1), {})
        assert said is not None and "晚于" in said and "应不晚于该日期" in said
    finally:
        i18n.current_language.reset(token)


# --- answers and scoring -------------------------------------------------------------


def test_partly_is_an_answer_between_yes_and_no() -> None:
    assert normalize(RIGOUR, it("R1"), " Partly ") == "partly"
    assert result_of(RIGOUR, it("R1"), "partly") == "part"
    assert points_of(RIGOUR, it("R1"), "partly") == 0.5
    off = load(RIGOUR_YAML.replace("version: 1\n", "version: 1\npartly: false\n"))
    with pytest.raises(InvalidAnswer) as refused:
        normalize(off, off.item("R1"), "partly")  # type: ignore[arg-type]
    assert refused.value.message == "Choose yes, no or N/A."
    with pytest.raises(InvalidAnswer):
        normalize(RIGOUR, it("R3"), "partly")  # pass/fail items have no partly
    custom = load(RIGOUR_YAML.replace("partly_points: 0", "").replace(
        "severity_if_failed: major", "severity_if_failed: major\n        partly_points: 0.25"))
    assert points_of(custom, custom.item("R1"), "partly") == 0.25  # type: ignore[arg-type]
    # score: R1 partly (0.5 of 1) + R2 yes (1) + R3 fail (0) = 1.5 of 3
    result = score(RIGOUR, {"R1": "partly", "R2": "yes", "R3": "fail"})
    assert result.percent == 50.0 and result.partly == ["R1"] and result.failed == ["R3"]
    assert result.to_json()["partly"] == ["R1"]
    assert "partly" not in score(RIGOUR, {"R1": "yes"}).to_json()  # stored shape kept


def test_date_items_with_a_rule_pass_or_fail() -> None:
    run_day = date(2026, 5, 1)
    assert result_of(RIGOUR, it("R4"), "2026-01-05", run_date=run_day) == "pass"
    assert result_of(RIGOUR, it("R4"), "2026-02-05", run_date=run_day) == "fail"
    assert result_of(RIGOUR, it("R5"), "2026-03-01", run_date=run_day,
                     answers={"R4": "2026-01-05"}) == "fail"
    assert result_of(RIGOUR, it("R5"), "2026-01-20", run_date=run_day,
                     answers={"R4": "2026-01-05"}) == "pass"
    plain = load(checklist_yaml(extra_item="""\
        - id: S1.03
          type: date
          prompt: {zh-CN: 日期, en: Date}
        """))
    assert result_of(plain, plain.item("S1.03"), "2026-02-05") is None  # unscored


def test_findings_and_reasons_block_submit_only_when_comments_are_judged() -> None:
    run_day = date(2026, 5, 1)
    answers = {"R1": "partly", "R2": "na", "R3": "fail", "R4": "2026-02-05",
               "R5": "2026-02-20"}
    assert missing(RIGOUR, answers, run_date=run_day) == []  # comments not given: not judged
    blocking = missing(RIGOUR, answers, comments={}, run_date=run_day)
    # R2: critical, so its N/A needs a reason although the file turned the rule off;
    # R3: the file turned the finding off; R4 broke its rule, R5 keeps its own
    assert blocking == [Missing("R1", "finding"), Missing("R2", "reason"),
                        Missing("R4", "finding")]
    written = {"R1": "Approved by the PM only", "R2": "  ", "R4": "Issued in February"}
    assert missing(RIGOUR, answers, comments=written, run_date=run_day) == [
        Missing("R2", "reason")]
    assert needs_comment(RIGOUR, it("R1"), "fail", "") == "finding"
    assert needs_comment(RIGOUR, it("R1"), "na", None) == "reason"
    assert needs_comment(RIGOUR, it("R1"), "na", "Not in scope") is None
    assert needs_comment(RIGOUR, it("R1"), "pass", "") is None
    assert needs_comment(RIGOUR, it("R3"), "fail", "") is None
    off = load(RIGOUR_YAML.replace("version: 1\n", "version: 1\nreason_if_na: false\n"))
    assert needs_comment(off, off.item("R1"), "na", "") is None  # type: ignore[arg-type]
    assert needs_comment(off, off.item("R2"), "na", "") == "reason"  # type: ignore[arg-type]


def test_rigour_defaults_and_overrides() -> None:
    assert RIGOUR.needs_finding(it("R1")) and not RIGOUR.needs_finding(it("R3"))
    assert RIGOUR.offers_partly(it("R1")) and not RIGOUR.offers_partly(it("R3"))
    assert RIGOUR.severity_for_partly(it("R1")) == Severity.minor
    major = load(RIGOUR_YAML.replace("version: 1\n", "version: 1\nseverity_if_partly: major\n"))
    assert major.severity_for_partly(major.item("R1")) == Severity.major  # type: ignore[arg-type]


# --- the file format -----------------------------------------------------------------

BAD = [
    ("      - id: X\n        type: text\n        prompt: {zh-CN: 文, en: T}\n"
     "        date_rule: {quarter_end: 5}\n", "date_rule belongs to date items only"),
    ("      - id: X\n        type: pass_fail\n        prompt: {zh-CN: 文, en: T}\n"
     "        partly: true\n", "belong to yes_no_na items only"),
    ("      - id: X\n        type: date\n        prompt: {zh-CN: 文, en: T}\n"
     "        date_rule: {before: \"02-29\"}\n", "is not a day of every year as MM-DD"),
    ("      - id: X\n        type: date\n        prompt: {zh-CN: 文, en: T}\n"
     "        date_rule: {within_days_of: run}\n", "within_days_of and days go together"),
    ("      - id: X\n        type: date\n        prompt: {zh-CN: 文, en: T}\n"
     "        date_rule: {}\n", "a date rule needs"),
    ("      - id: X\n        type: date\n        prompt: {zh-CN: 文, en: T}\n"
     "        date_rule: {after: R1}\n", "'R1' is not a date item"),
    ("      - id: X\n        type: date\n        prompt: {zh-CN: 文, en: T}\n"
     "        date_rule: {before: X}\n", "refers to its own item"),
    ("      - id: X\n        type: yes_no_na\n        prompt: {zh-CN: 文, en: T}\n"
     "        partly_points: 2\n", "partly_points"),
    ("      - id: X\n        type: yes_no_na\n        prompt: {zh-CN: 文, en: T}\n"
     "        finding_if_failed: maybe\n", "finding_if_failed"),
]


@pytest.mark.parametrize(("item", "message"), BAD)
def test_loader_refuses_bad_rigour_fields_with_line_and_item(item: str, message: str) -> None:
    result = parse_text(RIGOUR_YAML + item, "bad.yaml")
    assert not result.ok
    texts = [str(p) for p in result.problems]
    assert any(message in t and "item X" in t and t.startswith("bad.yaml:") for t in texts), texts


def test_files_without_the_new_fields_keep_their_content_hash() -> None:
    # computed with the code before these fields existed (commit 7a38a09)
    before = "38b5af962ba0ea92775edf77bb900c98a973035ee4aea6b230afb3e5cb40c489"
    assert content_hash(load(checklist_yaml())) == before
    data = dump(RIGOUR)
    assert "partly" not in data and data["sections"][0]["items"][3]["date_rule"] == {
        "after": "01-01", "before": "01-10"}
    assert "finding_if_failed" in data["sections"][0]["items"][2]


def test_schema_describes_the_new_fields() -> None:
    schema = json_schema()
    item = schema["$defs"]["Item"]["properties"]
    for name in ("finding_if_failed", "reason_if_na", "partly", "partly_points",
                 "severity_if_partly", "date_rule"):
        assert name in item
        assert name in schema["properties"] or name == "date_rule"
    assert set(schema["$defs"]["DateRule"]["properties"]) == {
        "within_days_of", "days", "before", "after", "quarter_end"}


def test_spreadsheet_round_trip_keeps_the_rules() -> None:
    text = RIGOUR_YAML.replace("version: 1\n", "version: 1\nreason_if_na: false\n"
                               "partly_points: 0.4\n")
    checklist = load(text)
    back = import_xlsx(export_xlsx(checklist), "r.xlsx")
    assert back.checklist is not None, back.problems
    assert dump(back.checklist) == dump(checklist)


def test_a_workbook_without_the_new_columns_still_imports_and_dates_become_month_days(
) -> None:
    wb = load_workbook(io.BytesIO(export_xlsx(RIGOUR)))
    items = wb["items"]
    header = [c.value for c in items[1]]
    before = header.index("date_before") + 1
    items.cell(row=5, column=before).value = date(2026, 1, 10)  # Excel made 01-10 a date
    out = io.BytesIO()
    wb.save(out)
    back = import_xlsx(out.getvalue(), "r.xlsx")
    assert back.checklist is not None, back.problems
    assert back.checklist.item("R4").date_rule.before == "01-10"  # type: ignore[union-attr]
    plain = load(checklist_yaml())
    old = load_workbook(io.BytesIO(export_xlsx(plain)))
    sheet = old["items"]
    for name in ("date_quarter_end", "date_after", "date_before", "date_days",
                 "date_within_days_of", "severity_if_partly", "partly_points", "partly",
                 "reason_if_na", "finding_if_failed"):
        sheet.delete_cols([c.value for c in sheet[1]].index(name) + 1)
    out = io.BytesIO()
    old.save(out)
    again = import_xlsx(out.getvalue(), "old.xlsx")
    assert again.checklist is not None, again.problems
    assert content_hash(again.checklist) == content_hash(plain)


def test_shipped_checklists_carry_the_rules_their_sources_ask_for() -> None:
    root = Path(__file__).parent.parent / "checklists"
    qm = load((root / "org_audit" / "quality_management.yaml").read_text())
    rule = qm.item("QM2.03").date_rule  # type: ignore[union-attr]
    assert rule is not None and (rule.after, rule.before) == ("01-01", "01-10")
    qc = load((root / "project_audit" / "quarterly_check.yaml").read_text())
    assert qc.item("QC1.02").date_rule == DateRule(quarter_end=15)  # type: ignore[union-attr]


# --- over HTTP -------------------------------------------------------------------------


@pytest.fixture
def rigour(run: Any, client: Any, checklist_dir: Path) -> str:
    from server.checklists.sync import sync_checklists

    (checklist_dir / "rigour.yaml").write_text(RIGOUR_YAML, encoding="utf-8")
    report = run(sync_checklists, checklist_dir)
    assert report.ok, report.errors
    return "test.rigour"


def service_load(raw: Any) -> Any:
    from server.audits.service import load_value

    return load_value(raw)


def _start(client: Any, h: dict[str, str]) -> int:
    response = client.post("/api/v1/audits", json={"checklist": "test.rigour"}, headers=h)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _put(client: Any, h: dict[str, str], audit: int, item: str, **body: Any) -> Any:
    return client.put(f"/api/v1/audits/{audit}/answers/{item}", json=body, headers=h)


def test_api_saves_keep_half_typed_answers_and_submit_lists_every_need(
    client: Any, api: Any, rigour: str, run: Any
) -> None:
    h = api("auditor")
    audit = _start(client, h)
    year = clock.today().year
    r1 = _put(client, h, audit, "R1", value="partly")
    assert r1.status_code == 200 and r1.json()["result"] == "part"
    assert r1.json()["needs"] == "finding"
    assert _put(client, h, audit, "R2", value="na").json()["needs"] == "reason"
    assert _put(client, h, audit, "R3", value="fail").json()["needs"] is None
    r4 = _put(client, h, audit, "R4", value=f"{year}-02-15").json()
    assert r4["result"] == "fail" and "应不晚于该日期" in r4["date_problem"]  # zh: none asked
    r5 = _put(client, h, audit, "R5", value=f"{year}-01-05").json()  # 41 days from R4
    assert r5["result"] == "fail"

    refused = client.post(f"/api/v1/audits/{audit}/submit", headers=h)
    assert refused.status_code == 422
    details = refused.json()["error"]["details"]
    assert "missing" not in details  # every item is answered; what lacks is written words
    assert details["reasons"] == {"R1": "finding", "R2": "reason", "R4": "finding",
                                  "R5": "finding"}
    assert set(details["invalid"]) == {"R1", "R2", "R4", "R5"}
    assert "应不晚于该日期" in details["invalid"]["R4"]  # the finding prompt says why
    assert "不适用的理由" in details["invalid"]["R2"]

    # the device comes back: comments and a corrected date in one batch
    batch = client.post(f"/api/v1/audits/{audit}/answers:batch", headers=h, json={"answers": [
        {"item_id": "R1", "comment": "Approved by the PM only", "keep_value": True},
        {"item_id": "R2", "comment": "No spare parts in this contract", "keep_value": True},
        {"item_id": "R4", "value": f"{year}-01-08"},
    ]})
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["status"] for r in results] == [200, 200, 200]
    assert [r["needs"] for r in results] == [None, None, None]
    assert results[2]["result"] == "pass"
    # R5 (Jan 5) now lies 3 days from R4: judged again at submit, not left failed
    done = client.post(f"/api/v1/audits/{audit}/submit", headers=h)
    assert done.status_code == 200, done.text
    score_json = done.json()["score"]
    assert score_json["partly"] == ["R1"] and score_json["failed"] == ["R3"]
    detail = client.get(f"/api/v1/audits/{audit}", headers=h).json()
    assert detail["answers"]["R5"]["result"] == "pass"
    from server.changelog.tables import ChangeLog

    async def submitted() -> Any:
        return await ChangeLog.select(ChangeLog.changes).where(
            (ChangeLog.action == "submit") & (ChangeLog.record_id == str(audit))).first()

    submitted_row = run(submitted)
    assert submitted_row is not None
    changes = service_load(submitted_row["changes"])
    assert changes["R5.result"] == ["fail", "pass"]  # the re-judged result is in the log

    from server.findings.tables import Nonconformance

    async def ncs() -> list[dict[str, Any]]:
        return await Nonconformance.select(Nonconformance.title, Nonconformance.severity,
                                           Nonconformance.evidence).where(
            Nonconformance.audit == audit).order_by(Nonconformance.id)

    rows = run(ncs)
    assert [(r["title"].split()[0], r["severity"]) for r in rows] == [
        ("R1", "minor"), ("R3", "minor")]  # partly raises minor although a fail is major
    evidence = rows[0]["evidence"]
    assert "Approved by the PM only" in str(evidence)


def test_batch_and_single_saves_never_refuse_a_missing_finding(
    client: Any, api: Any, rigour: str
) -> None:
    h = api("auditor")
    audit = _start(client, h)
    response = client.post(f"/api/v1/audits/{audit}/answers:batch", headers=h, json={
        "answers": [{"item_id": "R1", "value": "no"}, {"item_id": "R2", "value": "partly"},
                    {"item_id": "R3", "value": "partly"}]})
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 200, 422]  # pass/fail has no partly
    assert results[0]["needs"] == "finding" and results[1]["result"] == "part"
    assert "不合格" in results[2]["error"]
    refused = client.post(f"/api/v1/audits/{audit}/submit", headers=h).json()["error"]
    # unanswered items are missing; answered ones without their words are invalid, each
    # with what to write
    assert refused["details"]["missing"] == ["R3", "R4", "R5"]
    assert set(refused["details"]["invalid"]) == {"R1", "R2"}  # R2 partly: a finding too
    assert refused["details"]["reasons"]["R2"] == "finding"


def test_form_shows_partly_prompts_and_the_rule_and_refuses_submit_beside_the_items(
    client: Any, as_user: Any, rigour: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token, "test.rigour")
    page = client.get(f"/audits/{audit}").text
    assert 'id="i-R1-v-partly"' in page and 'id="i-R3-v-partly"' not in page
    assert "基本符合" in page
    assert 'id="i-R4-rule"' in page and "不晚于本次检查当年的1月10日" in page
    saved = save(client, token, audit, "R1", value="partly", base_version="0")
    assert saved.status_code == 200  # autosave keeps it
    assert 'id="i-R1-needs"' in saved.text and "发现的问题（必填）" in saved.text
    assert "needs-comment" in saved.text
    na = save(client, token, audit, "R2", value="na", base_version="0")
    assert "不适用的理由（必填）" in na.text
    year = clock.today().year
    bad_date = save(client, token, audit, "R4", value=f"{year - 1}-12-20", base_version="0")
    assert "date-problem" in bad_date.text and "早于" in bad_date.text
    for item, value in (("R3", "pass"), ("R5", f"{year - 1}-12-25")):
        save(client, token, audit, item, value=value, base_version="0")
    review = client.get(f"/audits/{audit}/submit").text
    assert review.count("需填写问题描述") == 2 and "需填写不适用理由" in review
    submit = client.post(f"/audits/{audit}/submit", data={"_csrf": token, "password": "demo"})
    assert submit.status_code == 422
    assert "还有必填的回答、照片、问题描述或理由未填写" in submit.text
    assert f'href="/audits/{audit}#item-R4"' in submit.text
    # a plain form post (no JavaScript) of the comment then lets the run go
    plain = {"HX-Request": ""}
    for item, text, version in (("R1", "没有批准记录", "1"), ("R2", "合同不含备件", "1"),
                                ("R4", "下发晚于1月上旬", "1")):
        r = client.post(f"/audits/{audit}/answers/{item}", data={
            "_csrf": token, "mode": "comment", "comment": text, "base_version": version},
            headers=plain, follow_redirects=False)
        assert r.status_code in (302, 303), r.text[:300]
    done = client.post(f"/audits/{audit}/submit", data={"_csrf": token, "password": "demo"},
                       follow_redirects=False)
    assert done.status_code in (302, 303), done.text[:500]
    result = client.get(f"/audits/{audit}").text
    assert 'id="partly-R1"' in result and "基本符合的检查项" in result


def test_the_run_date_is_the_day_answering_began(client: Any, api: Any, rigour: str,
                                                  run: Any) -> None:
    from server.audits import service

    h = api("auditor")
    audit = _start(client, h)
    row = run(service.access_row, audit)
    assert service.run_date(row) == clock.today()
    assert service.run_date({"started_at": None}) == clock.today()
    assert service.run_date({"started_at": "2026-01-01 00:30:00+00:00"}) == date(2026, 1, 1)
