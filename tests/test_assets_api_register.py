"""The assets API's register as the demo left it: the engineer's total, a filter and a
page. (Its own module: a test that registers an asset would change the counts.)"""

from __future__ import annotations

from typing import Any


def test_list_filter_and_page(client: Any, api: Any, settings: Any) -> None:
    headers = api("engineer")
    body = client.get("/api/v1/assets", headers=headers).json()
    assert body["total"] == 12 and len(body["items"]) == 12
    ups = client.get("/api/v1/assets?category=ups", headers=headers).json()
    assert [a["code"] for a in ups["items"]] == ["UPS-A-001", "UPS-B-001"]
    first = ups["items"][0]
    assert first["name"] == "A栋UPS主机1号" and first["department"] == "OPS"
    assert first["project"] == "P-2026-001"
    assert first["qr_url"] == f"{settings.base_url}/a/UPS-A-001"
    page = client.get("/api/v1/assets?limit=5&offset=10", headers=headers).json()
    assert len(page["items"]) == 2 and page["total"] == 12
    assert client.get("/api/v1/assets?limit=0", headers=headers).status_code == 422
