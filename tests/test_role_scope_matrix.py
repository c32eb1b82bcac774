"""Who sees which record, from the role they hold and where they hold it: the matrix of
role x scope x record. A department head sees the runs, issued NCs and assets of their
department, of the departments under it and of its projects; a project manager those of
their project; those who read everything (quality manager, management representative,
quality specialist) see all. Each answer is checked on one record's API (the Python rule)
and in the list (the SQL rule), which must agree."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from server.accounts.tokens import issue_token
from server.accounts.users import UserInput, create_user
from server.changelog.record import SYSTEM

PASSWORD = "long-enough-1"


@pytest.fixture
def world(client: Any, api: Any, run: Any) -> dict[str, Any]:
    qm = api("quality_manager")
    ids: dict[str, Any] = {}
    tag = secrets.token_hex(3).upper()  # each test its own world

    def unit(code: str, parent: str | None = None) -> int:
        body = {"code": f"{code}-{tag}", "name_zh": code, "name_en": code}
        if parent:
            body["parent_code"] = f"{parent}-{tag}"
        response = client.post("/api/v1/org-units", headers=qm, json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids["A"], ids["B"] = unit("MX-A"), unit("MX-B")
    ids["A1"] = unit("MX-A1", "MX-A")
    for code, dept in (("MX-PA", "MX-A1"), ("MX-PB", "MX-B")):
        response = client.post("/api/v1/projects", headers=qm, json={
            "code": f"{code}-{tag}", "name_zh": code, "name_en": code,
            "department": f"{dept}-{tag}"})
        ids[code] = response.json()["id"]

    async def people() -> dict[str, dict[str, str]]:
        grants = {
            "head-a": [f"department_head@unit:{ids['A']}"],
            "head-b": [f"department_head@unit:{ids['B']}"],
            "pm-a": [f"project_manager@project:{ids['MX-PA']}"],
            "pm-b": [f"project_manager@project:{ids['MX-PB']}"],
            "qs": ["quality_specialist"],
            "rep": ["management_rep"],
            "plain": ["owner"],
        }
        out = {}
        for login, roles in grants.items():
            user = await create_user(UserInput(login=f"mx-{login}-{tag.lower()}", name=login,
                                               roles=roles), PASSWORD, SYSTEM)
            out[login] = {"Authorization": f"Bearer {await issue_token(user.id, 't', SYSTEM)}"}
        return out

    ids["who"] = run(people)

    def audit(**where: Any) -> int:
        response = client.post("/api/v1/audits", headers=qm,
                               json={"checklist": "org.personnel", **where})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids["run-A1"] = audit(org_unit=ids["A1"])
    ids["run-PB"] = audit(project=ids["MX-PB"])
    owner = client.get("/api/v1/me", headers=api("owner")).json()["id"]

    def nc(**where: Any) -> int:
        response = client.post("/api/v1/nonconformances", headers=qm, json={
            "source": "manual", "title": "matrix", "severity": "minor",
            "description": "d", "issue": True, "owner": owner, **where})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids["nc-PA"] = nc(project=ids["MX-PA"])
    ids["nc-B"] = nc(org_unit=ids["B"])
    return ids


# record -> the people (of the world's) who see it
SEES = {
    "run-A1": {"head-a", "qs", "rep"},
    "run-PB": {"head-b", "pm-b", "qs", "rep"},
    "nc-PA": {"head-a", "pm-a", "qs", "rep"},
    "nc-B": {"head-b", "qs", "rep"},
}
PEOPLE = ("head-a", "head-b", "pm-a", "pm-b", "qs", "rep", "plain")


def test_who_sees_which_record(client: Any, world: dict[str, Any]) -> None:
    for record, allowed in SEES.items():
        kind, _, _where = record.partition("-")
        for person in PEOPLE:
            headers = world["who"][person]
            if kind == "run":
                status = client.get(f"/api/v1/audits/{world[record]}", headers=headers)
            else:
                status = client.get(f"/api/v1/nonconformances/{world[record]}",
                                    headers=headers)
            expected = 200 if person in allowed else 404
            assert status.status_code == expected, (person, record, status.status_code)
            if kind == "nc":
                listed = client.get("/api/v1/nonconformances?state=all&limit=500",
                                    headers=headers).json()["items"]
                assert (world[record] in {n["id"] for n in listed}) == (person in allowed), (
                    person, record)


def test_scoped_roles_open_their_routes_but_not_others(client: Any,
                                                      world: dict[str, Any]) -> None:
    head = world["who"]["head-a"]
    assert client.get("/api/v1/inspections/due", headers=head).status_code == 200
    assert client.post("/api/v1/org-units", headers=head,
                       json={"code": "X"}).status_code == 403
    # A project manager starts the routine check of their project, not of another's.
    pm = world["who"]["pm-a"]
    own = client.post("/api/v1/audits", headers=pm, json={
        "checklist": "project.routine_check", "project": world["MX-PA"]})
    assert own.status_code == 201, own.text
    other = client.post("/api/v1/audits", headers=pm, json={
        "checklist": "project.routine_check", "project": world["MX-PB"]})
    assert other.status_code == 403
    audit = client.post("/api/v1/audits", headers=pm, json={"checklist": "org.personnel"})
    assert audit.status_code == 403
