"""Asset import and export: the validation report (row, column, problem), nothing
half-imported, and the CSV/XLSX round trip."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook, load_workbook

from server.assets.importing import (
    COLUMNS,
    Lookups,
    check_rows,
    read_csv,
    read_file,
    to_csv,
    to_xlsx,
)
from server.assets.tables import Asset

EN = {"accept-language": "en"}
LOOKUPS = Lookups(
    categories=["server_room", "server", "ups"],
    org_units={"ops": 1, "运行维护部": 1, "o&m department": 1, "pmo": 2},
    projects={"p-2026-001": 11},
)


def _problems(csv_text: str, **kwargs: Any) -> list[tuple[int, str]]:
    parsed = read_csv(csv_text.encode("utf-8"))
    assert not parsed.problems, parsed.problems
    checked = check_rows(parsed.rows, LOOKUPS, **kwargs)
    return [(p.row, p.column) for p in checked.problems]


def test_a_valid_file_gives_assets_with_names_resolved() -> None:
    parsed = read_csv(
        "编号,名称,类别,部门,项目,状态\n"
        "ups-1,一号UPS,UPS,运行维护部,P-2026-001,In service\n"
        "SRV-2,Server two,server,OPS,,out_of_service\n".encode()
    )
    checked = check_rows(parsed.rows, LOOKUPS)
    assert checked.problems == []
    first, second = (data for _row, data in checked.assets)
    assert (first.code, first.category, first.org_unit, first.project, first.status) == (
        "UPS-1", "ups", 1, 11, "in_service")
    assert (second.category, second.status, second.org_unit) == ("server", "out_of_service", 1)


def test_every_problem_is_reported_by_row_and_column() -> None:
    problems = _problems(
        "code,name,category,department,project,status\n"
        "UPS-1,One,ups,,,\n"
        ",No code,ups,,,\n"  # row 3
        "BAD CODE,Name,toaster,QA,P-9,broken\n"  # row 4
        "ups-1,Dup,ups,,,\n"  # row 5: the same code as row 2 (case does not matter)
        "\n"  # blank lines are skipped, numbering continues
        "OK-2,,server,,,\n"  # row 7: no name
    )
    assert problems == [
        (3, "code"),
        (4, "department"), (4, "project"), (4, "code"), (4, "category"), (4, "status"),
        (5, "code"),
        (7, "name"),
    ]


def test_owner_rule_is_checked_per_row() -> None:
    text = "code,name,category,department\nA-1,a,ups,OPS\nA-2,b,ups,PMO\n"
    assert _problems(text, may_own=lambda unit, project: unit in (None, 1)) == [(3, "department")]


def test_header_problems() -> None:
    parsed = read_csv(b"code,title,colour\nA,b,c\n")
    assert [(p.row, p.column) for p in parsed.problems] == [
        (1, "name"), (1, "category"), (1, "title"), (1, "colour")]
    assert read_csv(b"").problems[0].row == 1
    assert read_csv(b"code,name,category\n").problems[0].message == "The file has no asset rows."


def test_gbk_and_semicolon_csv_as_excel_saves_it() -> None:
    parsed = read_csv("code;name;category\nUPS-9;九号UPS;ups\n".encode("gb18030"))
    assert parsed.problems == [] and parsed.rows[0][1]["name"] == "九号UPS"


def test_not_a_workbook_and_too_large() -> None:
    assert "not an Excel workbook" in read_file("a.xlsx", b"PK\x03\x04garbage").problems[0].message
    assert "larger than 5 MB" in read_file("a.csv", b"x" * 5_000_001).problems[0].message


def test_export_neutralises_formulas_and_import_restores_them() -> None:
    rows = [list(COLUMNS), ["A-1", "=HYPERLINK(1)", "ups", "", "-1F", "", "", "", "in_service"]]
    csv_bytes = to_csv(rows)
    assert csv_bytes.startswith("\ufeff".encode())
    assert b"'=HYPERLINK" in csv_bytes
    parsed = read_csv(csv_bytes)
    assert parsed.rows[0][1]["name"] == "=HYPERLINK(1)" and parsed.rows[0][1]["location"] == "-1F"
    book = load_workbook(io.BytesIO(to_xlsx(rows)))
    assert book["assets"]["B2"].value == "'=HYPERLINK(1)"
    assert read_file("x.xlsx", to_xlsx(rows)).rows[0][1]["name"] == "=HYPERLINK(1)"


# --- over HTTP -----------------------------------------------------------------------


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _upload(client: Any, token: str, name: str, data: bytes) -> Any:
    return client.post("/assets/import", headers=EN, data={"_csrf": token},
                       files={"file": (name, data, "application/octet-stream")})


async def _codes() -> list[str]:
    """Every asset's code: the demo's and other tests' assets are there too, so tests
    import codes of their own and compare with what was there before."""
    return sorted(r["code"] for r in await Asset.select(Asset.code))


def test_import_with_errors_writes_nothing_and_shows_the_report(
    client: Any, run: Any, as_user: Any
) -> None:
    token = as_user("quality_manager")
    before = run(_codes)
    data = _xlsx([
        ["code", "name", "category", "department", "serial_number"],
        ["UPS-B1-001", "B1 UPS", "ups", "OPS", 12345],
        ["UPS-B1-002", "", "ups", "OPS", None],
        ["UPS-B1-003", "B1 UPS 3", "fridge", "OPS", None],
    ])
    response = _upload(client, token, "assets.xlsx", data)
    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert "<td>3</td><td><code>name</code></td><td>A name is required.</td>" in response.text
    assert "<td>4</td><td><code>category</code></td>" in response.text
    assert run(_codes) == before


def test_import_creates_then_updates(client: Any, run: Any, as_user: Any) -> None:
    token = as_user("quality_manager")
    first = _upload(client, token, "a.csv",
                    "code,name,category,serial_number\nUPS-B2-001,一号,ups,00123\n"
                    "UPS-B2-002,二号,ups,\n".encode())
    assert first.status_code == 200
    assert "Imported: 2 new, 0 changed, 0 unchanged." in first.text
    second = _upload(client, token, "b.xlsx", _xlsx([
        ["code", "name", "category", "status"],
        ["UPS-B2-001", "一号", "ups", "retired"],
        ["UPS-B2-002", "二号", "ups", "in_service"],
        ["UPS-B2-003", "三号", "ups", ""],
    ]))
    assert "Imported: 1 new, 1 changed, 1 unchanged." in second.text
    assert [c for c in run(_codes) if c.startswith("UPS-B2-")] == [
        "UPS-B2-001", "UPS-B2-002", "UPS-B2-003"]
    row = run(Asset.select().where(Asset.code == "UPS-B2-001").first().run)
    assert row["status"] == "retired" and row["serial_number"] == "00123"
    page = client.get("/assets/UPS-B2-001", headers=EN).text
    assert "import" in page  # the change log names why


def test_export_round_trip(client: Any, run: Any, as_user: Any) -> None:
    token = as_user("quality_manager")
    _upload(client, token, "a.csv", "code,name,category,department,project,location\n"
            "SRV-1,服务器,server,OPS,P-2026-001,-1F\n".encode())
    csv_export = client.get("/assets/export.csv")
    assert csv_export.headers["content-type"].startswith("text/csv")
    text = csv_export.content.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert "SRV-1,服务器,server,,'-1F,OPS,P-2026-001,,in_service" in text
    xlsx = client.get("/assets/export.xlsx?category=server")
    assert xlsx.status_code == 200
    exported = [row["code"] for _n, row in read_file("assets.xlsx", xlsx.content).rows]
    assert "SRV-1" in exported  # with the demo's servers
    again = _upload(client, token, "assets.xlsx", xlsx.content)
    assert f"Imported: 0 new, 0 changed, {len(exported)} unchanged." in again.text


def test_engineers_import_only_for_their_department(client: Any, run: Any, as_user: Any) -> None:
    token = as_user("engineer")
    before = run(_codes)
    refused = _upload(client, token, "a.csv",
                      b"code,name,category,department\nX-1,x,ups,OPS\nX-2,y,ups,PMO\n")
    assert refused.status_code == 422
    assert "<td>3</td><td><code>department</code></td>" in refused.text
    assert run(_codes) == before
    as_user("owner")
    assert client.get("/assets/import").status_code == 403
