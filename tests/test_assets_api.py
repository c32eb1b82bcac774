"""The assets API with bearer tokens: register, QR images, label sheets, due list."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf
import pytest
import zxingcpp
from PIL import Image

from server.assets import qr
from server.assets.tables import Asset
from server.audits.tables import Audit
from server.core import clock
from server.demo.assets import load_demo_assets


@pytest.fixture
def demo(client: Any, run: Any) -> None:
    run(load_demo_assets)




def test_roles_and_tokens(client: Any, api: Any, demo: None, as_user: Any) -> None:
    assert client.get("/api/v1/assets").status_code == 401
    assert client.get("/api/v1/assets", headers=api("owner")).status_code == 403
    assert client.get("/api/v1/inspections/due", headers=api("owner")).status_code == 403
    assert client.get("/api/v1/assets", headers=api("auditor")).status_code == 200
    as_user("engineer")  # a session cookie is not an API credential
    assert client.get("/api/v1/assets").status_code == 401
    client.cookies.clear()
    created = client.post("/api/v1/assets", headers=api("auditor"),
                          json={"code": "X-1", "name": "x", "category": "ups"})
    assert created.status_code == 403  # auditors read, they do not register


def test_create_asset(client: Any, api: Any, demo: None, run: Any) -> None:
    headers = {**api("quality_manager"), "Accept-Language": "en"}
    made = client.post("/api/v1/assets", headers=headers, json={
        "code": "ups-c1-002", "name": "C1 UPS 二号", "category": "ups", "site": "C",
        "department": "OPS", "project": "P-2026-001", "serial_number": "SN-2"})
    assert made.status_code == 201
    assert made.headers["location"] == "/api/v1/assets/UPS-C1-002"
    assert made.json()["code"] == "UPS-C1-002" and made.json()["project"] == "P-2026-001"
    again = client.post("/api/v1/assets", headers=headers,
                        json={"code": "UPS-C1-002", "name": "dup", "category": "ups"})
    assert again.status_code == 409
    missing = client.post("/api/v1/assets", headers=headers, json={"code": "Y-1"})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["missing"] == ["name", "category"]
    bad = client.post("/api/v1/assets", headers=headers,
                      json={"code": "Y 1", "name": "y", "category": "toaster", "status": "gone"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["details"]["invalid"]) == {"code", "category", "status"}
    unknown = client.post("/api/v1/assets", headers=headers,
                          json={"code": "Y-2", "name": "y", "category": "ups", "department": "ZZ"})
    assert unknown.json()["error"]["details"]["invalid"] == {"department": "Unknown department."}
    assert client.post("/api/v1/assets", headers=headers, content=b"[1]").status_code == 400
    assert client.post("/api/v1/assets", headers=headers, content=b"{no").status_code == 400
    engineer = client.post("/api/v1/assets", headers=api("engineer"),
                           json={"code": "Z-1", "name": "z", "category": "ups",
                                 "department": "PMO"})
    assert engineer.status_code == 403
    assert run(Asset.count().where(Asset.code == "Z-1").run) == 0


def test_detail_with_due_history_and_ncs(client: Any, api: Any, demo: None, run: Any) -> None:
    async def inspected() -> None:
        # A network device of its own in the demo's department: the demo's category
        # schedule applies, and the demo's devices stay as the other tests see them.
        from server.org.tables import OrgUnit

        ops = await OrgUnit.objects().get(OrgUnit.code == "OPS")
        asset = Asset(code="NET-T-CORE-01", name="Core switch", category="network_device",
                      org_unit=ops.id)
        await asset.save()
        when = datetime.now(UTC) - timedelta(days=1)
        await Audit(checklist_key="inspection.network_device.weekly", checklist_version=1,
                    kind="inspection", asset=asset.id, status="submitted", started_at=when,
                    submitted_at=when, score_percent=100.0, passed=True).save()

    run(inspected)
    body = client.get("/api/v1/assets/net-t-core-01", headers=api("engineer")).json()
    assert body["code"] == "NET-T-CORE-01"
    assert [d["checklist"] for d in body["due"]] == ["inspection.network_device.weekly"]
    due = body["due"][0]
    assert due["last_done"] == (clock.today() - timedelta(days=1)).isoformat()
    assert due["status"] in ("upcoming", "due")
    assert body["inspections"][0]["score_percent"] == 100.0
    assert body["inspections"][0]["passed"] is True
    assert body["open_nonconformances"] == []
    missing = client.get("/api/v1/assets/NOPE", headers=api("engineer"))
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404


def test_qr_images(client: Any, api: Any, demo: None, settings: Any) -> None:
    headers = api("auditor")
    png = client.get("/api/v1/assets/UPS-A-001/qr.png", headers=headers)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert found[0].text == qr.asset_url(settings.base_url, "UPS-A-001")
    svg = client.get("/api/v1/assets/UPS-A-001/qr.svg", headers=headers)
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<path" in svg.text


def test_labels_pdf(client: Any, api: Any, demo: None) -> None:
    headers = api("engineer")
    response = client.post("/api/v1/assets/labels.pdf", headers=headers,
                           json={"codes": ["UPS-A-001", "AC-B-001"], "layout": "l7163"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "UPS-A-001" in text and "分中心精密空调" in text
    unknown = client.post("/api/v1/assets/labels.pdf", headers=headers,
                          json={"codes": ["UPS-A-001", "NOPE"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["unknown"] == ["NOPE"]
    empty = client.post("/api/v1/assets/labels.pdf", headers=headers, json={"codes": []})
    assert empty.status_code == 422
    assert empty.json()["error"]["details"]["missing"] == ["codes"]
    wrong = client.post("/api/v1/assets/labels.pdf", headers=headers,
                        json={"codes": ["UPS-A-001"], "layout": "huge"})
    assert wrong.status_code == 422 and "l7160" in wrong.json()["error"]["details"]["layouts"]


def test_due_list_filters(client: Any, api: Any, demo: None) -> None:
    manager = api("quality_manager")
    everyone = client.get("/api/v1/inspections/due?within_days=90", headers=manager).json()
    statuses = [i["status"] for i in everyone["items"]]
    assert statuses == sorted(statuses, key=["overdue", "due", "upcoming"].index)
    assert {i["asset"] for i in everyone["items"]} >= {"UPS-A-001", "NET-A-CORE-01", "SYS-HIS"}
    now = client.get("/api/v1/inspections/due", headers=manager).json()
    assert all(i["status"] != "upcoming" for i in now["items"])
    overdue = client.get("/api/v1/inspections/due?overdue=true", headers=manager).json()
    assert overdue["count"] > 0 and {i["status"] for i in overdue["items"]} == {"overdue"}
    assert all(i["days_overdue"] > 0 for i in overdue["items"])
    ups = client.get("/api/v1/inspections/due?assignee=engineer&within_days=30",
                     headers=manager).json()
    assert {i["asset"] for i in ups["items"]} >= {"UPS-A-001", "AC-A-001"}
    mine = client.get("/api/v1/inspections/due?within_days=30", headers=api("engineer")).json()
    assert {i["asset"] for i in mine["items"]} == {i["asset"] for i in ups["items"]}
    refused = client.get("/api/v1/inspections/due?assignee=quality_manager",
                         headers=api("engineer"))
    assert refused.status_code == 403
    assert client.get("/api/v1/inspections/due?within_days=-3",
                      headers=manager).status_code == 422
    assert client.get("/api/v1/inspections/due?assignee=nobody",
                      headers=manager).status_code == 404
