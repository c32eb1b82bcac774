"""Spreadsheets people work with in Excel: exports with real date cells, widths, a frozen
header and an autofilter; imports that take codes or names (Chinese or English) in coded
columns, and templates whose coded columns have drop-downs."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from server.assets.importing import Lookups, check_rows, status_choices
from server.assets.tables import Asset
from server.core import i18n
from server.core.clock import local_zone
from server.core.sheets import Choices
from server.core.workbook import Tab, column_widths, excel_value, text_width, write
from server.directory.importing import ACTIVE, LANGUAGE, ROLES
from tests.test_findings_exports import _refs, _setup

EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-CN"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _book(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))  # not read-only: widths and validations


def _validations(sheet: Worksheet) -> dict[str, list[str]]:
    """column letter -> the values its drop-down offers (read from the hidden sheet)."""
    book = sheet.parent
    found = {}
    for rule in sheet.data_validations.dataValidation:
        assert rule.type == "list"
        where, _sep, cells = rule.formula1.partition("!")
        values = [c.value for row in book[where.strip("'")][cells.replace("$", "")]
                  for c in row]
        for ref in str(rule.sqref).split():
            found[ref.rstrip("0123456789").split(":")[0].rstrip("0123456789")] = values
            assert ref.endswith("1001")  # the rows people fill in, not just the header
    return found


# --- the writer ------------------------------------------------------------------------


def test_excel_values_are_local_naive_times_and_safe_text() -> None:
    # 09:30 UTC is 17:30 in the organisation's zone (Asia/Shanghai in the tests)
    assert excel_value(datetime(2026, 3, 20, 9, 30, 15, 500, tzinfo=UTC)) == datetime(
        2026, 3, 20, 17, 30, 15)
    assert excel_value(date(2026, 4, 1)) == date(2026, 4, 1)
    assert excel_value("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert excel_value(3) == 3
    assert text_width("质量") == 4 and text_width("ab\nabcd") == 4
    assert column_widths(["Ref", "Text"], [["NC-1", "x" * 500]]) == [8.0, 60.0]


def test_workbook_has_dates_widths_frozen_header_filter_and_drop_downs() -> None:
    rows = [["NC-2026-001", datetime(2026, 3, 20, 9, 30, tzinfo=UTC), date(2026, 4, 1),
             "运行维护部质量管理体系文件"], ["NC-2026-002", None, None, "short"]]
    book = _book(write([Tab("NCs", ["Ref", "Raised", "Due", "Department"], rows,
                            widths={0: 20}, choices={3: ["在用", "停用"]})]))
    assert book.sheetnames == ["NCs", "lists"] and book["lists"].sheet_state == "hidden"
    sheet = book["NCs"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D3"
    assert sheet["A1"].font.b
    raised, due = sheet["B2"], sheet["C2"]
    assert raised.is_date and raised.value == datetime(2026, 3, 20, 17, 30)
    assert raised.number_format == "yyyy-mm-dd hh:mm"
    assert due.is_date and due.number_format == "yyyy-mm-dd"
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    assert widths["A"] == 20  # as given
    assert widths["D"] == 27  # 13 CJK characters, two widths each, plus a margin
    assert 16 <= widths["B"] <= 20
    assert _validations(sheet) == {"D": ["在用", "停用"]}


# --- the NC export ---------------------------------------------------------------------


def test_nc_export_has_real_dates_on_the_organisations_clock(client: Any, run: Any,
                                                             as_user: Any) -> None:
    made = run(_setup)
    own = _refs(run, made)
    as_user("quality_manager")
    response = client.get("/nonconformances/export.xlsx?state=active", headers=EN)
    assert response.status_code == 200
    book = _book(response.content)
    assert book.sheetnames == ["Nonconformances", "Actions", "History"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" \
                                        f"{sheet.max_row}"
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(8 <= w <= 60 for w in widths) and len(set(widths)) > 1
    sheet = book["Nonconformances"]
    header = [c.value for c in sheet[1]]
    ours = [row for row in sheet.iter_rows(min_row=2) if row[0].value in own]
    assert ours
    for row in ours:
        raised = row[header.index("Raised at")]
        due = row[header.index("Due date")]
        assert raised.is_date and raised.value.tzinfo is None
        assert raised.number_format == "yyyy-mm-dd hh:mm"
        assert due.is_date and due.number_format == "yyyy-mm-dd"
        # the local time of day: the raise happened moments ago, on the org's clock
        now = datetime.now(UTC).astimezone(local_zone()).replace(tzinfo=None)
        assert abs((now - raised.value).total_seconds()) < 3600
    history = book["History"]
    assert all(r[1].is_date for r in history.iter_rows(min_row=2) if r[0].value in own)
    # the CSV keeps the same times as text
    text = client.get("/nonconformances/export.csv", headers=EN).content.decode("utf-8-sig")
    assert ours[0][header.index("Raised at")].value.strftime("%Y-%m-%d %H:%M") in text


def test_asset_export_has_widths_filter_and_frozen_header(client: Any, as_user: Any) -> None:
    as_user("quality_manager")
    sheet = _book(client.get("/assets/export.xlsx").content)["assets"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:I")
    assert sheet.column_dimensions["B"].width == 36  # the name column's fixed width


# --- coded columns on import -----------------------------------------------------------


LOOKUPS = Lookups(categories=["server", "ups"], org_units={}, projects={})


def _status_of(text: str) -> tuple[str | None, list[tuple[int, str, str]]]:
    checked = check_rows([(2, {"code": "X-1", "name": "x", "category": "UPS",
                               "status": text})], LOOKUPS)
    status = checked.assets[0][1].status if checked.assets else None
    return status, [(p.row, p.column, p.message) for p in checked.problems]


def test_asset_status_by_code_or_name_in_either_language() -> None:
    for text in ("在用", "In use", "in service", "IN_SERVICE", " in  use "):
        assert _status_of(text) == ("in_service", []), text
    assert _status_of("停用") == ("out_of_service", [])
    assert _status_of("Retired") == ("retired", [])
    assert _status_of("") == ("in_service", [])  # blank: the default
    status, problems = _status_of("坏了")
    assert status is None
    assert problems == [(2, "status", "Unknown value “坏了”; use one of: In service "
                         "(in_service), Out of service (out_of_service), Retired (retired)")]


def test_choices_name_every_accepted_value_in_the_readers_language() -> None:
    choices = Choices(("a", "b"), lambda: {"a": i18n.gettext("Yes"), "b": "b"}, {"aye": "a"})
    assert [choices.match(t) for t in ("a", "Yes", "是", "AYE", "", "nope")] == [
        "a", "a", "a", "a", "", None]
    assert choices.accepted() == "Yes (a), b"
    token = i18n.current_language.set("zh_CN")
    try:
        assert choices.offered() == ["是", "b"]
        assert status_choices().offered() == ["在用", "停用", "已报废"]
    finally:
        i18n.current_language.reset(token)
    assert ROLES.match("审核员") == ROLES.match("Auditor") == "auditor"
    assert LANGUAGE.match("English") == LANGUAGE.match("英文") == "en"
    assert LANGUAGE.match("中文") == "zh_CN"
    assert ACTIVE.match("否") == ACTIVE.match("No") == "no"


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _status(code: str) -> str | None:
    row = await Asset.select(Asset.status).where(Asset.code == code).first()
    return row["status"] if row else None


def test_asset_import_over_http_with_chinese_and_english_names(client: Any, run: Any,
                                                               as_user: Any) -> None:
    token = as_user("quality_manager")

    def upload(rows: list[list[Any]]) -> Any:
        return client.post("/assets/import", headers=EN, data={"_csrf": token},
                           files={"file": ("a.xlsx", _xlsx(rows), XLSX)})

    good = upload([["编号", "名称", "类别", "状态"], ["UPS-WB-1", "一号", "UPS", "在用"],
                   ["UPS-WB-2", "二号", "ups", "In use"], ["UPS-WB-3", "三号", "UPS", "停用"]])
    assert good.status_code == 200, good.text
    assert [run(_status, f"UPS-WB-{n}") for n in (1, 2, 3)] == [
        "in_service", "in_service", "out_of_service"]
    bad = upload([["code", "name", "category", "status"], ["UPS-WB-4", "四号", "ups", "在用"],
                  ["UPS-WB-5", "五号", "ups", "broken"]])
    assert bad.status_code == 422
    assert "<td>3</td><td><code>status</code></td>" in bad.text
    assert "Unknown value “broken”; use one of: In service (in_service)" in bad.text
    assert run(_status, "UPS-WB-4") is None  # nothing of the file was written


def test_asset_template_has_drop_downs(client: Any, as_user: Any) -> None:
    as_user("quality_manager")
    response = client.get("/assets/import/template.xlsx", headers=ZH)
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    sheet = _book(response.content)["assets"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["code", "name", "category"]
    found = _validations(sheet)
    status = sheet.cell(1, header.index("status") + 1).column_letter
    category = sheet.cell(1, header.index("category") + 1).column_letter
    assert found[status] == ["在用", "停用", "已报废"]
    assert "UPS" in found[category] and "服务器" in found[category]
    assert "/assets/import/template.xlsx" in client.get("/assets/import", headers=EN).text


def test_user_import_takes_role_language_and_active_by_name(client: Any, as_user: Any,
                                                            run: Any) -> None:
    token = as_user("admin")

    def upload(rows: list[list[Any]]) -> Any:
        return client.post("/admin/import", headers=EN, data={"_csrf": token, "kind": "users"},
                           files={"file": ("users.xlsx", _xlsx(rows), XLSX)})

    good = upload([["登录名", "姓名", "角色", "语言", "启用"],
                   ["wb.one", "一号", "审核员; Engineer", "英文", "是"],
                   ["wb.two", "二号", "quality_specialist", "中文", "No"]])
    assert good.status_code == 200, good.text

    async def user(login: str) -> dict[str, Any]:
        from server.accounts.tables import User
        from server.accounts.users import roles_of

        row = await User.select().where(User.login == login).first()
        return {**row, "roles": await roles_of(row["id"])}

    one, two = run(user, "wb.one"), run(user, "wb.two")
    assert (one["roles"], one["language"], one["active"]) == (["auditor", "engineer"], "en", True)
    assert (two["roles"], two["language"], two["active"]) == (["quality_specialist"], "zh_CN",
                                                              False)
    bad = upload([["login", "name", "roles", "active"], ["wb.three", "三号", "boss", "perhaps"]])
    assert bad.status_code == 422
    assert "<td>2</td><td><code>roles</code></td><td>Unknown value “boss”; use one of: " \
           "Administrator (admin)" in bad.text
    assert run(_users_named, "wb.three") == 0


async def _users_named(login: str) -> int:
    from server.accounts.tables import User

    return await User.count().where(User.login == login)


def test_directory_templates_have_drop_downs(client: Any, as_user: Any) -> None:
    as_user("admin")
    users = _book(client.get("/admin/import/template/users", headers=ZH).content)["users"]
    header = [c.value for c in users[1]]

    def letter(column: str) -> str:
        return str(users.cell(1, header.index(column) + 1).column_letter)

    found = _validations(users)
    assert found[letter("roles")][0] == "系统管理员" and "审核员" in found[letter("roles")]
    assert found[letter("language")] == ["中文", "English"]
    assert found[letter("active")] == ["是", "否"]
    assert users.freeze_panes == "A2"
    units = _book(client.get("/admin/import/template/departments", headers=EN).content)
    assert _validations(units["departments"]) == {"F": ["Yes", "No"]}


def test_checklist_export_has_a_filter_on_every_sheet() -> None:
    from server.checklists.spreadsheet import export_xlsx
    from tests.test_spreadsheet import FIXTURE

    book = _book(export_xlsx(FIXTURE))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == sheet.dimensions
