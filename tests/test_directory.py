"""The organisation's directory through the API: departments as a tree, projects with
their people and phase, users; 422 with the field named, 409 on a taken code, a
department no longer active refused for new records, every change in the change log."""

from __future__ import annotations

from typing import Any

from server.accounts.tokens import issue_token
from server.accounts.users import UserInput, create_user
from server.changelog.record import SYSTEM
from server.changelog.tables import ChangeLog

UNITS = "/api/v1/org-units"


async def _token(user_id: int) -> str:
    return await issue_token(user_id, "test", SYSTEM)

PROJECTS = "/api/v1/projects"


def test_departments_form_a_tree_and_refuse_bad_input(client: Any, api: Any, run: Any) -> None:
    qm = {**api("quality_manager"), "Accept-Language": "en"}
    top = client.post(UNITS, headers=qm, json={"code": "ops2", "name_zh": "运维二部",
                                               "name_en": "O&M 2"})
    assert top.status_code == 201, top.text
    assert top.json()["code"] == "OPS2"
    child = client.post(UNITS, headers=qm, json={
        "code": "OPS2-NET", "name_zh": "网络组", "name_en": "Network team",
        "parent_code": "OPS2", "head_login": "engineer"})
    assert child.status_code == 201, child.text
    assert child.json()["parent"] == top.json()["id"]
    taken = client.post(UNITS, headers=qm, json={"code": "OPS2", "name_zh": "x", "name_en": "x"})
    assert taken.status_code == 409
    bad = client.post(UNITS, headers=qm, json={"code": "no spaces", "name_zh": "",
                                               "name_en": "x", "head": 999999})
    assert bad.status_code == 422
    assert {"code", "name_zh", "head"} <= set(bad.json()["error"]["details"]["invalid"])
    loop = client.patch(f"{UNITS}/{top.json()['id']}", headers=qm,
                        json={"parent": child.json()["id"]})
    assert loop.status_code == 422 and "parent" in loop.json()["error"]["details"]["invalid"]
    tree = client.get(f"{UNITS}?q=network", headers=api("owner")).json()["items"]
    assert [u["code"] for u in tree] == ["OPS2", "OPS2-NET"]  # the match and what is above
    assert [u["depth"] for u in tree] == [0, 1]
    assert client.post(UNITS, headers=api("auditor"), json={"code": "X"}).status_code == 403

    async def logged() -> int:
        return await ChangeLog.count().where((ChangeLog.record_table == "org_unit")
                                             & (ChangeLog.record_id == str(child.json()["id"])))

    assert run(logged) == 1


def test_projects_their_people_and_a_phase_that_only_moves_forward(client: Any, api: Any,
                                                                   run: Any) -> None:
    qm = {**api("quality_manager"), "Accept-Language": "en"}
    made_pm = client.post("/api/v1/users", headers=api("admin"), json={
        "login": "dir-pm", "name": "项目经理", "password": "long-enough-1"})
    assert made_pm.status_code == 201, made_pm.text
    pm = {"Authorization": "Bearer " + run(_token, made_pm.json()["id"])}
    unit = client.post(UNITS, headers=qm, json={"code": "PM2", "name_zh": "项目二部",
                                                "name_en": "Projects 2"}).json()
    made = client.post(PROJECTS, headers=qm, json={
        "code": "p-2027-101", "name_zh": "机房改造", "name_en": "Server room refit",
        "department": "PM2", "client": "市医院", "manager_login": "dir-pm",
        "quality_owner_login": "auditor", "planned_start": "2027-01-01",
        "planned_end": "2027-06-30"})
    assert made.status_code == 201, made.text
    project = made.json()
    assert project["code"] == "P-2027-101" and project["phase"] == "startup"
    assert project["org_unit"] == unit["id"]
    wrong_dates = client.patch(f"{PROJECTS}/{project['id']}", headers=qm,
                               json={"planned_end": "2026-12-31"})
    assert wrong_dates.status_code == 422
    assert "planned_end" in wrong_dates.json()["error"]["details"]["invalid"]
    # The phase moves one step at a time, with a reason while its audit is not passed.
    skip = client.post(f"{PROJECTS}/{project['id']}/phase", headers=qm,
                       json={"to": "execution", "reason": "x"})
    assert skip.status_code == 422 and skip.json()["error"]["details"]["invalid"]["to"] == "plan"
    no_reason = client.post(f"{PROJECTS}/{project['id']}/phase", headers=qm, json={"to": "plan"})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["details"]["missing"] == ["reason"]
    # The project's manager may move it.
    moved = client.post(f"{PROJECTS}/{project['id']}/phase", headers=pm,
                        json={"to": "plan", "reason": "startup audit planned next week"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["phase"] == "plan"

    async def phase_rows() -> list[dict[str, Any]]:
        return await ChangeLog.select(ChangeLog.actor_login, ChangeLog.reason).where(
            (ChangeLog.record_table == "project") & (ChangeLog.record_id == str(project["id"]))
            & (ChangeLog.action == "phase"))

    assert run(phase_rows) == [{"actor_login": "dir-pm",
                                "reason": "startup audit planned next week"}]
    # A department that is no longer active takes no new project.
    assert client.patch(f"{UNITS}/{unit['id']}", headers=qm,
                        json={"active": False}).status_code == 200
    refused = client.post(PROJECTS, headers=qm, json={
        "code": "P-2027-102", "name_zh": "x", "name_en": "x", "org_unit": unit["id"]})
    assert refused.status_code == 422
    assert "org_unit" in refused.json()["error"]["details"]["invalid"]
    assert client.post(PROJECTS, headers=qm, json={
        "code": "P-2027-101", "name_zh": "x", "name_en": "x"}).status_code == 409


def test_users_through_the_api(client: Any, api: Any) -> None:
    admin = {**api("admin"), "Accept-Language": "en"}
    made = client.post("/api/v1/users", headers=admin, json={
        "login": "Dept.Head", "name": "部门负责人", "password": "long-enough-1",
        "roles": ["department_head@unit:1", "auditor"], "department": "QA"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["login"] == "dept.head" and body["roles"] == ["auditor",
                                                              "department_head@unit:1"]
    short = client.post("/api/v1/users", headers=admin, json={
        "login": "shorty", "name": "x", "password": "short"})
    assert short.status_code == 422 and "password" in short.json()["error"]["details"]["invalid"]
    taken = client.post("/api/v1/users", headers=admin, json={
        "login": "dept.head", "name": "x", "password": "long-enough-1"})
    assert taken.status_code == 422 and "login" in taken.json()["error"]["details"]["invalid"]
    patched = client.patch(f"/api/v1/users/{body['id']}", headers=admin,
                           json={"roles": ["quality_specialist"], "active": False})
    assert patched.status_code == 200
    assert patched.json()["roles"] == ["quality_specialist"] and not patched.json()["active"]
    found = client.get("/api/v1/users?q=dept", headers=api("quality_manager")).json()
    assert [u["login"] for u in found["items"]] == ["dept.head"]
    assert client.get("/api/v1/users", headers=api("auditor")).status_code == 403


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


def test_import_departments_projects_and_users_all_or_nothing(client: Any, as_user: Any,
                                                             run: Any) -> None:
    token = as_user("admin")
    run(create_user, UserInput(login="imp.pm", name="PM"), "long-enough-1", SYSTEM)

    def upload(kind: str, data: bytes) -> Any:
        return client.post("/admin/import", data={"_csrf": token, "kind": kind},
                           files={"file": (f"{kind}.csv", data, "text/csv")},
                           headers={"accept-language": "en"})

    units = upload("departments", _csv("编号,中文名称,英文名称,上级部门,负责人",
                                       "IMP,导入部,Imported,,",
                                       "IMP-A,导入一组,Team A,IMP,engineer"))
    assert units.status_code == 200, units.text
    assert "2 new, 0 changed" in units.text
    bad = upload("projects", _csv("code,name_zh,name_en,department,manager,members",
                                  "IMP-P1,项目,Project,IMP,imp.pm,auditor;engineer",
                                  "IMP-P2,项目二,Project 2,NOPE,nobody,"))
    assert bad.status_code == 422
    assert "<td>3</td><td><code>department</code></td>" in bad.text
    assert "<td>3</td><td><code>manager</code></td>" in bad.text

    async def count(code: str) -> int:
        from server.org.tables import Project

        return await Project.count().where(Project.code == code)

    assert run(count, "IMP-P1") == 0  # the good row was not written either
    good = upload("projects", _csv("code,name_zh,name_en,department,manager,members",
                                   "IMP-P1,项目,Project,IMP,imp.pm,auditor;engineer"))
    assert good.status_code == 200 and "1 new" in good.text
    people = upload("users", _csv("login,name,department,roles,projects",
                                  "imp.user,导入用户,IMP-A,auditor;quality_specialist,IMP-P1"))
    assert people.status_code == 200, people.text
    assert "Initial passwords" in people.text and "imp.user" in people.text
    assert client.get("/admin/import/template/users").status_code == 200
