"""Malformed and hostile input into every route the app has: no 5xx, ever, and the
exports still open afterwards. Routes come from the app's own route list, so a new route
is covered by itself; the values are the ones that broke things before (integers past
64 bits, ids of no record, lone surrogates, NUL and other control characters, 1e999,
JSON nested a million deep, bytes that are no text in the declared charset)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from server.demo.assets import load_demo_assets
from tests.support import login

HUGE_INTS = [2**63, 2**64 + 7, 10**30, -(2**63) - 1, 2**31, -1, 0]
TEXTS = ["x\x00y", "\x01bell", "\ud800", "a" * 6000, "../../etc/passwd", "%00", "NC-2026-0001",
         "' OR 1=1 --", "<script>alert(1)</script>", "=HYPERLINK(1)", " ", ""]
# Field names that some route reads: every schema's fields, and a few of the forms'.
FIELDS = ["title", "description", "source", "severity", "severity_reason", "incident_level",
          "owner", "project", "org_unit", "asset", "requirement", "evidence", "recurrence_of",
          "verification_standard", "containment", "root_cause", "cause_category",
          "five_whys", "similar_elsewhere", "verification_note", "disposition", "comment",
          "reason", "version", "to", "issue", "kind", "due_date", "note", "plan", "until",
          "client_contact", "done", "keep", "other", "checklist", "value", "base_version",
          "mode", "multi", "lead_auditor", "planned_date", "half", "code", "name", "category",
          "site", "location", "department", "serial_number", "status", "checklist_key",
          "frequency", "start_date", "asset_code", "every_n_days", "grace_days", "assignee",
          "assignee_org_unit", "active", "codes", "layout", "skip", "all", "login",
          "password", "email", "roles", "language", "projects", "current", "new", "again",
          "lang", "next", "op", "then", "issue_now", "file", "why1"]
QUERY = ["q", "state", "owner", "page", "limit", "offset", "half", "kind", "version", "view",
         "within", "site", "category", "status", "assignee", "within_days", "lang", "audit"]
SKIP = {("POST", "/logout")}  # would end the session the rest of the run uses

values = st.one_of(st.sampled_from(HUGE_INTS), st.sampled_from(TEXTS),
                   st.sampled_from([None, True, [], {}, [1, "x"], {"a": {"b": "\x00"}}, 3.5]))
RAW_JSON = [b"1e999", b'{"title": 1e999, "value": -1e999}', b'{"title": "\\ud800"}',
            b'{"value": NaN}', b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"\xff\xfe", b'{"to": "\\u0000"}']
MULTIPART = [
    b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\n\xff\xfe\r\n--B--\r\n',
    b'--B\r\nContent-Disposition: form-data; name="title"\r\nContent-Type: text/plain;'
    b' charset=nope\r\n\r\nabc\r\n--B--\r\n',
]


def routes(app: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    found = set()
    for route in app.routes:
        if route.path.startswith(("/static", "/api/v1/schema")):
            continue
        for handler in route.route_handlers:
            roles = tuple(str(r) for r in handler.opt.get("roles", ()))
            for method in handler.http_methods:
                if method not in ("OPTIONS", "HEAD") and (method, route.path) not in SKIP:
                    found.add((method, route.path, roles))
    return sorted(found)


def fill(path: str, ints: list[Any], texts: list[str]) -> str:
    path = re.sub(r"\{[^}:]+:int\}", lambda _m: str(ints.pop(0) if ints else 2**63), path)
    return re.sub(r"\{[^}]+\}", lambda _m: texts.pop(0) if texts else "x%00", path)


def quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="/")


@pytest.fixture
def identities(client: Any, api: Any, run: Any) -> dict[str, Any]:
    run(load_demo_assets)
    tokens = {role: api(role) for role in ("quality_manager", "admin", "auditor", "engineer")}
    return {"tokens": tokens, "csrf": login(client, "quality_manager")}


def role_for(roles: tuple[str, ...]) -> str:
    for role in ("quality_manager", "admin", "auditor", "engineer"):
        if not roles or role in roles:
            return role
    return "quality_manager"


def send(client: Any, ids: dict[str, Any], method: str, path: str, roles: tuple[str, ...],
         data: Any) -> Any:
    api = path.startswith("/api/")
    headers = dict(ids["tokens"][role_for(roles)]) if api else {"x-csrf-token": ids["csrf"]}
    kind, body, query = data
    if query and method == "GET":
        path += "?" + "&".join(f"{k}={quoted(str(v))}" for k, v in query.items())
    if method == "GET":
        return client.get(path, headers=headers, follow_redirects=False)
    if kind == "json":
        headers["content-type"] = "application/json"
        content = body if isinstance(body, bytes) else json.dumps(body).encode(
            "utf-8", "surrogatepass")
        return client.request(method, path, content=content, headers=headers,
                              follow_redirects=False)
    if kind == "multipart":
        headers["content-type"] = "multipart/form-data; boundary=B"
        return client.request(method, path, content=body, headers=headers,
                              follow_redirects=False)
    form = "&".join(f"{k}={quoted(str(v))}" for k, v in body.items())
    headers["content-type"] = "application/x-www-form-urlencoded"
    return client.request(method, path, content=form.encode(), headers=headers,
                          follow_redirects=False)


bodies = st.one_of(
    st.tuples(st.just("json"), st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
              st.dictionaries(st.sampled_from(QUERY), values, max_size=3)),
    st.tuples(st.just("json"), st.sampled_from(RAW_JSON), st.just({})),
    st.tuples(st.just("form"), st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
              st.dictionaries(st.sampled_from(QUERY), values, max_size=3)),
    st.tuples(st.just("multipart"), st.sampled_from(MULTIPART), st.just({})),
)


def test_no_route_answers_hostile_input_with_a_server_error(client: Any,
                                                           identities: dict[str, Any]) -> None:
    table = routes(client.app)
    assert len(table) > 80

    @settings(max_examples=len(table) * 6, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(table), st.lists(st.sampled_from([*HUGE_INTS, 1, 2]), max_size=3),
           st.lists(st.sampled_from(TEXTS), max_size=3), bodies)
    def probe(route: tuple[str, str, tuple[str, ...]], ints: list[Any], texts: list[str],
              data: Any) -> None:
        method, template, roles = route
        path = fill(template, list(ints), [quoted(t) for t in texts])
        response = send(client, identities, method, path, roles, data)
        assert response.status_code < 500, (method, path, data, response.text[:300])

    probe()
    # Whatever was stored on the way, the exports still open.
    for path in ("/nonconformances/export.xlsx", "/assets/export.xlsx"):
        response = client.get(path)
        assert response.status_code == 200, path
        load_workbook(io.BytesIO(response.content))
    for path in ("/nonconformances/export.csv", "/assets/export.csv"):
        assert client.get(path).status_code == 200, path


def test_every_route_is_probed_once_with_each_kind_of_body(client: Any,
                                                          identities: dict[str, Any]) -> None:
    """The random walk above may miss a route; this goes through all of them, in order."""
    for method, template, roles in routes(client.app):
        for data in (("json", {f: "\x00\ud800" for f in FIELDS[:20]}, {"q": "\ud800"}),
                     ("json", RAW_JSON[4], {}), ("form", {f: 2**63 for f in FIELDS}, {}),
                     ("multipart", MULTIPART[0], {})):
            path = fill(template, [1, 1], ["UPS-A-001"])  # real records: handlers run
            response = send(client, identities, method, path, roles, data)
            assert response.status_code < 500, (method, path, response.text[:300])
