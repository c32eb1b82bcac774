"""The Excel round trip and canonical YAML: checklists survive export and import
unchanged, and bad workbooks come back as problems with sheet, row and column."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from server.checklists import loader
from server.checklists.model import Checklist, ItemType
from server.checklists.serialize import SCHEMA_COMMENT, to_yaml
from server.checklists.spreadsheet import ITEMS_HEADER, export_xlsx, import_xlsx

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = loader.find_files([ROOT / "checklists"])
FILE = "upload.xlsx"

# Every item type, scale labels, inline choices, choice lists, show_if, an evidence
# note, and texts holding the characters the compact cell format has to escape.
FIXTURE_YAML = r"""
key: test.every_type
version: 3
kind: inspection
scope: {asset_category: ups, frequency: weekly}
title: {zh-CN: 全类型测试, en: "Every type: a test"}
description: {zh-CN: "说明; 含 | 和 = 号", en: "Text with ; | = and \\ in it"}
source: "  kept exactly  "
pass_threshold: 72.5
choice_lists:
  condition:
    - {id: good, label: {zh-CN: 好, en: Good}, points: 1}
    - {id: fair, label: {zh-CN: 一般, en: Fair}, points: 0.5}
    - {id: bad, label: {zh-CN: 差, en: Bad}, points: 0, fails: true}
  tags:
    - {id: dust, label: {zh-CN: 灰尘, en: Dust}}
    - {id: noise, label: {zh-CN: 噪音, en: "Noise, loud"}}
sections:
  - id: S1
    title: {zh-CN: 第一部分, en: Part one}
    items:
      - id: S1.yn
        type: yes_no_na
        prompt: {zh-CN: 是否正常？, en: "Is it normal? {yes}"}
        guidance: {zh-CN: "第一行\n第二行", en: "Line one\nLine two"}
        weight: 2.5
        critical: true
        severity_if_failed: major
        evidence:
          photo: required_if_failed
          min_photos: 2
          note: {zh-CN: 拍铭牌, en: Photograph the nameplate}
      - id: S1.pf
        type: pass_fail
        prompt: {zh-CN: "=SUM(A1)", en: "=not a formula"}
        required: false
        show_if: "S1.yn == 'no'"
      - id: S1.scale
        type: scale
        prompt: {zh-CN: 清洁度, en: Cleanliness}
        scale:
          min: 0
          max: 4
          pass_min: 2
          labels:
            0: {zh-CN: 很差, en: Very poor}
            4: {zh-CN: "好; 很好", en: "Good | great"}
      - id: S1.num
        type: number
        prompt: {zh-CN: 温度, en: Temperature}
        unit: {zh-CN: 摄氏度, en: °C}
        min: -5.5
        max: 0.30000000000000004
        weight: 0
  - id: S2
    title: {zh-CN: 第二部分, en: Part two}
    items:
      - id: S2.text
        type: text
        prompt: {zh-CN: 备注, en: Notes}
        show_if: S1.num is answered and not (S1.scale < 2)
      - id: S2.date
        type: date
        prompt: {zh-CN: 日期, en: Date}
      - id: S2.single
        type: single_choice
        prompt: {zh-CN: 状态, en: State}
        choices:
          - {id: ok, label: {zh-CN: 合格, en: OK}, points: 1}
          - {id: meh, label: {zh-CN: "a=b", en: "x\\y"}}
          - {id: ko, label: {zh-CN: 不合格, en: Not OK}, fails: true}
      - id: S2.multi
        type: multi_choice
        prompt: {zh-CN: 发现, en: Findings}
        choices: tags
      - id: S2.cond
        type: single_choice
        prompt: {zh-CN: 外观, en: Looks}
        choices: condition
        show_if: S2.multi == 'dust'
      - id: S2.photo
        type: photo
        prompt: {zh-CN: 照片, en: Photo}
        evidence: {photo: required, min_photos: 3}
      - id: S2.sign
        type: signature
        prompt: {zh-CN: 签名, en: Signature}
        evidence: {photo: none}
"""
# Row of each fixture item in the "items" sheet (row 1 is the header).
ROW = {"S1.yn": 2, "S1.pf": 3, "S1.scale": 4, "S1.num": 5, "S2.single": 8}


def _fixture() -> Checklist:
    result = loader.parse_text(FIXTURE_YAML, "fixture.yaml")
    assert result.checklist is not None, [str(p) for p in result.problems]
    return result.checklist


FIXTURE = _fixture()
FIXTURE_XLSX = export_xlsx(FIXTURE)


def _edit(sheet: str, row: int, column: str | int, value: Any, data: bytes = FIXTURE_XLSX) -> bytes:
    """The workbook with one cell changed; column is a header name or a 1-based index."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb[sheet]
    if isinstance(column, str):
        column = [c.value for c in ws[1]].index(column) + 1
    ws.cell(row=row, column=column).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _problems(data: bytes) -> list[str]:
    result = import_xlsx(data, FILE)
    assert result.checklist is None and result.yaml_text is None
    return result.problems


# --- round trips -------------------------------------------------------------------


def test_fixture_uses_every_item_type() -> None:
    assert {item.type for item in FIXTURE.items()} == set(ItemType)
    assert FIXTURE.choice_lists and any(isinstance(i.choices, list) for i in FIXTURE.items())
    assert any(i.scale and i.scale.labels for i in FIXTURE.items())
    assert any(i.evidence.note for i in FIXTURE.items())
    assert any(i.show_if for i in FIXTURE.items())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_checklist_round_trips(path: Path) -> None:
    loaded = loader.load_file(path, ROOT)
    if loaded.checklist is None:
        pytest.skip(f"does not load (the loader tests report it): {loaded.problems[0]}")
    checklist = loaded.checklist
    assert loader.parse_text(to_yaml(checklist), "x").checklist == checklist
    result = import_xlsx(export_xlsx(checklist), path.name)
    assert result.problems == []
    assert result.checklist == checklist


def test_fixture_round_trips_through_xlsx() -> None:
    result = import_xlsx(FIXTURE_XLSX, FILE)
    assert result.problems == []
    assert result.checklist == FIXTURE
    assert result.yaml_text == to_yaml(FIXTURE)


def test_to_yaml_round_trips_and_is_canonical() -> None:
    text = to_yaml(FIXTURE)
    assert text.splitlines()[0] == SCHEMA_COMMENT
    assert loader.parse_text(text, "x").checklist == FIXTURE
    assert "zh-CN: 全类型测试" in text  # readable Chinese, aliases as keys
    assert "&" not in text and "*" not in text  # no anchors or aliases
    assert "required: true" not in text and "min_photos: 1" not in text  # defaults left out
    assert list(loader.parse_text(text, "x").raw)[:4] == ["key", "version", "kind", "scope"]
    again = loader.parse_text(text, "x").checklist
    assert again is not None and to_yaml(again) == text


def test_to_yaml_leaves_out_defaults() -> None:
    minimal = (
        "key: t.min\nversion: 1\nkind: survey\ntitle: {zh-CN: 标题, en: Title}\n"
        "sections:\n  - id: S\n    title: {zh-CN: 节, en: Part}\n    items:\n"
        "      - id: A\n        type: scale\n        prompt: {zh-CN: 问, en: Ask}\n"
    )
    checklist = loader.parse_text(minimal, "x").checklist
    assert checklist is not None
    text = to_yaml(checklist)
    assert "scale" not in text.replace("type: scale", "")
    assert "evidence" not in text and "pass_threshold" not in text and "scope" not in text


def test_empty_cells_mean_default() -> None:
    data = _edit("items", ROW["S1.yn"], "weight", None)
    data = _edit("items", ROW["S1.yn"], "severity_if_failed", None, data)
    data = _edit("checklist", 14, "value", None, data)  # pass_threshold
    result = import_xlsx(data, FILE)
    assert result.problems == []
    assert result.checklist is not None
    item = result.checklist.item("S1.yn")
    assert item is not None and item.weight == 1 and item.severity_if_failed == "minor"
    assert result.checklist.pass_threshold == 80


def test_blank_section_cells_continue_the_section() -> None:
    data = FIXTURE_XLSX
    for column in ("section_id", "section_title_zh-CN", "section_title_en"):
        data = _edit("items", ROW["S1.pf"], column, None, data)
    result = import_xlsx(data, FILE)
    assert result.problems == [] and result.checklist == FIXTURE


# --- import problems ---------------------------------------------------------------


def test_negative_weight() -> None:
    assert _problems(_edit("items", ROW["S1.pf"], "weight", -1)) == [
        f"{FILE}: sheet items, row 3, column weight: weight must not be negative"
    ]


def test_unknown_type() -> None:
    assert _problems(_edit("items", ROW["S1.yn"], "type", "checkbox")) == [
        f"{FILE}: sheet items, row 2, column type: type: input should be 'yes_no_na', "
        "'pass_fail', 'scale', 'number', 'text', 'date', 'single_choice', 'multi_choice', "
        "'photo' or 'signature'"
    ]


def test_missing_prompt_en() -> None:
    assert _problems(_edit("items", ROW["S1.num"], "prompt_en", None)) == [
        f"{FILE}: sheet items, row 5, column prompt_en: prompt_en is required"
    ]


@pytest.mark.parametrize("data", [b"", b"hello", b"PK\x03\x04broken", FIXTURE_XLSX[:2000]])
def test_not_a_workbook(data: bytes) -> None:
    assert _problems(data) == [f"{FILE}: not an Excel workbook (.xlsx) that can be read"]


def test_missing_items_sheet() -> None:
    wb = load_workbook(io.BytesIO(FIXTURE_XLSX))
    del wb["items"]
    out = io.BytesIO()
    wb.save(out)
    assert _problems(out.getvalue()) == [f"{FILE}: sheet items: the workbook has no 'items' sheet"]


def test_missing_and_unknown_columns() -> None:
    assert _problems(_edit("items", 1, "weight", "wieght")) == [
        f"{FILE}: sheet items, row 1, column K: unknown column 'wieght'",
        f"{FILE}: sheet items, row 1: the header row lacks the columns weight",
    ]


def test_wrong_cell_types() -> None:
    data = _edit("items", ROW["S1.yn"], "required", "maybe")
    data = _edit("items", ROW["S1.pf"], "min_photos", "two", data)
    data = _edit("checklist", 3, "value", "three", data)
    assert _problems(data) == [
        f"{FILE}: sheet checklist, row 3, column value: version must be a whole number",
        f"{FILE}: sheet items, row 2, column required: must be TRUE or FALSE",
        f"{FILE}: sheet items, row 3, column min_photos: min_photos: input should be a valid "
        "integer, unable to parse string as an integer",
    ]


def test_compact_cells() -> None:
    data = _edit("items", ROW["S1.scale"], "scale_labels", "1=差")
    data = _edit("items", ROW["S2.single"], "choices", "ok=合格|OK|lots", data)
    assert _problems(data) == [
        f"{FILE}: sheet items, row 4, column scale_labels: scale label 1 should look like "
        "1=中文|English",
        f"{FILE}: sheet items, row 8, column choices: choice 'ok': points 'lots' is not a number",
    ]


def test_cross_item_rules_point_at_cells() -> None:
    data = _edit("items", ROW["S2.single"], "choices", "nolist")
    data = _edit("items", ROW["S1.yn"], "show_if", "S2.text is answered", data)
    assert _problems(data) == [
        f"{FILE}: sheet items, row 2, column show_if: show_if refers to 'S2.text', not an "
        "earlier item",
        f"{FILE}: sheet items, row 8, column choices: choice list 'nolist' is not defined",
    ]


def test_choice_list_problem() -> None:
    assert _problems(_edit("choice_lists", 3, "points", 2)) == [
        f"{FILE}: sheet choice_lists, row 3, column points: points: input should be less than "
        "or equal to 1"
    ]


def test_scope_problem_points_at_kind() -> None:
    assert _problems(_edit("checklist", 4, "value", "org_audit")) == [
        f"{FILE}: sheet checklist, row 4, column value: an org_audit checklist needs scope.area"
    ]


# --- never raises ------------------------------------------------------------------

SHEET_ROWS: dict[str, list[list[Any]]] = {
    ws.title: [list(row) for row in ws.iter_rows(values_only=True)]
    for ws in load_workbook(io.BytesIO(FIXTURE_XLSX)).worksheets
}
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2200, 1, 1)),
    TEXT,
    st.sampled_from(
        [*ItemType, "nan", "-1", "1e999", "TRUE", "1=a|b; 2=c", "x=|||", "\\", ";;", "S1.yn"]
    ),
)
EDITS = st.lists(
    st.tuples(
        st.sampled_from(list(SHEET_ROWS)),
        st.integers(0, 13),
        st.integers(0, len(ITEMS_HEADER)),
        CELLS,
    ),
    min_size=1,
    max_size=15,
)


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_import_never_raises_on_random_cells(edits: list[tuple[str, int, int, Any]]) -> None:
    sheets = {title: [list(row) for row in rows] for title, rows in SHEET_ROWS.items()}
    for title, row, column, value in edits:
        rows = sheets[title]
        while len(rows) <= row:
            rows.append([])
        rows[row].extend([None] * (column + 1 - len(rows[row])))
        rows[row][column] = value
    result = import_xlsx(_workbook(sheets), FILE)
    assert (result.checklist is None) == bool(result.problems)
    assert all(p.startswith(f"{FILE}: ") for p in result.problems)
    if result.checklist is not None:
        assert result.yaml_text is not None
        assert loader.parse_text(result.yaml_text, "x").checklist == result.checklist


def _overwrite(at: int, junk: bytes) -> bytes:
    return FIXTURE_XLSX[:at] + junk + FIXTURE_XLSX[at + len(junk) :]


CORRUPTED = st.builds(_overwrite, st.integers(0, len(FIXTURE_XLSX) - 1), st.binary(min_size=1))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000) | CORRUPTED)
def test_import_never_raises_on_random_bytes(data: bytes) -> None:
    result = import_xlsx(data, FILE)
    assert (result.checklist is None) == bool(result.problems)


@settings(max_examples=40, deadline=None)
@given(TEXT.filter(str.strip), TEXT.filter(str.strip), TEXT.filter(str.strip))
def test_any_text_survives_yaml_and_xlsx(zh: str, en: str, source: str) -> None:
    data = FIXTURE.model_dump(by_alias=True)
    data["title"] = {"zh-CN": zh, "en": en}
    data["source"] = source
    data["sections"][0]["items"][2]["scale"]["labels"][4] = {"zh-CN": zh, "en": en}
    data["sections"][1]["items"][2]["choices"][0]["label"] = {"zh-CN": en, "en": zh}
    checklist = Checklist.model_validate(data)
    assert loader.parse_text(to_yaml(checklist), "x").checklist == checklist
    assert import_xlsx(export_xlsx(checklist), FILE).checklist == checklist
