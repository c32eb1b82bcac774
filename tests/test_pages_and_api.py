"""Pages and JSON API through the Litestar test client."""

from __future__ import annotations

from html import escape
from typing import Any

from server.checklists.loader import load_tree
from server.core.settings import PROJECT_ROOT
from tests.support import csrf_of, new_user

SHIPPED = [r.checklist for r in load_tree([PROJECT_ROOT / "checklists"]) if r.checklist]


def test_healthz(client: Any, settings: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == settings.engine
    assert body["checklists"] >= len({c.key for c in SHIPPED})


def test_api_list_has_both_languages_and_counts(client: Any, api: Any) -> None:
    response = client.get("/api/v1/checklists", headers=api("engineer"))
    assert response.status_code == 200
    listed = {row["key"]: row for row in response.json()}
    for checklist in SHIPPED:
        row = listed[checklist.key]
        assert row["version"] == checklist.version
        assert row["kind"] == checklist.kind.value
        assert row["title"] == {"zh-CN": checklist.title.zh_CN, "en": checklist.title.en}
        assert row["items"] == len(checklist.items())


def test_api_detail_and_unknown_key(client: Any, api: Any) -> None:
    headers = api("auditor")
    checklist = SHIPPED[0]
    response = client.get(f"/api/v1/checklists/{checklist.key}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["key"] == checklist.key
    assert [s["id"] for s in body["sections"]] == [s.id for s in checklist.sections]
    missing = client.get("/api/v1/checklists/no.such.key", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
    assert missing.json()["error"]["status"] == 404


def test_catalogue_page_groups_by_kind_in_chinese_and_english(client: Any, run: Any,
                                                               as_user: Any) -> None:
    as_user("auditor")
    zh = client.get("/checklists", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200
    assert '<html lang="zh-CN">' in zh.text
    for checklist in SHIPPED:
        assert escape(checklist.title.zh_CN) in zh.text
    en = client.get("/checklists", headers={"accept-language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in en.text
    for checklist in SHIPPED:
        assert escape(checklist.title.en) in en.text
    only = client.get("/checklists?kind=inspection", headers={"accept-language": "en"})
    kinds = {c.kind.value for c in SHIPPED}
    if "inspection" in kinds and len(kinds) > 1:
        other = next(c for c in SHIPPED if c.kind.value != "inspection")
        assert escape(other.title.en) not in only.text


def test_preview_page_shows_every_item(client: Any, as_user: Any) -> None:
    as_user("engineer")
    checklist = max(SHIPPED, key=lambda c: len(c.items()))
    response = client.get(f"/checklists/{checklist.key}", headers={"accept-language": "en"})
    assert response.status_code == 200
    for item in checklist.items():
        assert f'id="item-{item.id}"' in response.text


def test_language_switch_before_login_sets_a_cookie(client: Any) -> None:
    token = csrf_of(client.get("/login", headers={"accept-language": "zh-CN"}).text)
    response = client.post("/lang", data={"lang": "en", "next": "/login", "_csrf": token},
                           follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login"
    assert '<html lang="en">' in client.get("/login", headers={"accept-language": "zh-CN"}).text
    evil = client.post("/lang", data={"lang": "en", "next": "//evil.example/", "_csrf": token},
                       follow_redirects=False)
    assert evil.headers["location"] == "/"


def test_language_switch_after_login_is_the_users_preference(
    client: Any, as_user: Any, run: Any
) -> None:
    from server.accounts.tables import User

    owner = run(lambda: new_user("owner"))  # the preference outlives the test
    token = as_user(owner)
    client.post("/lang", data={"lang": "en", "next": "/account", "_csrf": token})
    row = run(User.select(User.language).where(User.login == owner).first().run)
    assert row["language"] == "en"
    client.cookies.delete("lang")
    page = client.get("/account", headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in page.text
    client.post("/lang", data={"lang": "zh_CN", "next": "/account", "_csrf": token})
    assert '<html lang="zh-CN">' in client.get("/account").text


def test_unknown_routes_are_friendly_404s(client: Any, as_user: Any) -> None:
    as_user("auditor")
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Traceback" not in page.text
    assert client.get("/checklists/no.such.key").status_code == 404
    assert client.get("/api/v1/nothing").json()["error"]["status"] == 404
    assert client.get("/api/v1/nothing").status_code == 404


def test_bad_query_values_are_400_not_500(client: Any, as_user: Any, api: Any) -> None:
    as_user("auditor")
    assert client.get("/checklists/org.personnel?version=abc").status_code == 400
    response = client.get("/api/v1/checklists/org.personnel?version=abc", headers=api("auditor"))
    assert response.status_code == 400


def test_security_headers_on_pages_and_static(client: Any) -> None:
    for path in ("/login", "/static/app.css", "/checklists"):
        headers = client.get(path, follow_redirects=False).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_openapi_is_served(client: Any, api: Any) -> None:
    schema = client.get("/api/v1/schema/openapi.json", headers=api("auditor")).json()
    assert "/api/v1/checklists" in schema["paths"]


def test_htmx_is_vendored_not_from_a_cdn(client: Any) -> None:
    page = client.get("/login").text
    assert "/static/vendor/htmx-2.0" in page and "https://" not in page.split("<main")[0]
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
