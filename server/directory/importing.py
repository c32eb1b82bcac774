"""Importing the directory from a spreadsheet (CSV or XLSX): departments, projects or
users. Every row goes through the same rules as the pages and the API; the file is
written in one transaction only when no row has a problem, so nothing is half-imported.
Rows are taken in order: a department's parent may be a row above it.

Users get the password of their row, or a new random one that the result shows once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.roles import Role
from server.accounts.tables import User
from server.accounts.users import UserInput, create_user, get_user, input_of, update_user
from server.checklists.labels import label
from server.core import sheets
from server.core.errors import DomainError
from server.core.i18n import LANGUAGE_NAMES
from server.core.i18n import gettext as _
from server.core.inputs import day
from server.core.sheets import Choices, Problem, Sheet, off_loop
from server.db.engine import write_transaction
from server.directory import projects, units
from server.directory.schemas import ProjectIn, UnitIn
from server.org.tables import OrgUnit, Project

SHEETS = {
    "departments": Sheet(
        ("code", "name_zh", "name_en", "parent", "head", "active"), ("code", "name_zh",
                                                                      "name_en"),
        {"编号": "code", "代码": "code", "名称": "name_zh", "中文名称": "name_zh",
         "英文名称": "name_en", "上级部门": "parent", "负责人": "head", "启用": "active"},
        "departments", lambda: _("The file has no department rows.")),
    "projects": Sheet(
        ("code", "name_zh", "name_en", "department", "client", "manager", "quality_owner",
         "members", "planned_start", "planned_end", "active"), ("code", "name_zh", "name_en"),
        {"编号": "code", "名称": "name_zh", "中文名称": "name_zh", "英文名称": "name_en",
         "部门": "department", "客户": "client", "项目经理": "manager",
         "质量负责人": "quality_owner", "成员": "members", "计划开始": "planned_start",
         "计划结束": "planned_end", "启用": "active"},
        "projects", lambda: _("The file has no project rows.")),
    "users": Sheet(
        ("login", "name", "email", "department", "roles", "projects", "language", "active",
         "password"), ("login", "name"),
        {"登录名": "login", "账号": "login", "姓名": "name", "邮箱": "email",
         "部门": "department", "角色": "roles", "项目": "projects", "语言": "language",
         "启用": "active", "密码": "password"},
        "users", lambda: _("The file has no user rows.")),
}
# A field a rule names -> the column of the file it came from.
COLUMN_OF = {"parent_code": "parent", "head_login": "head", "org_unit": "department",
             "manager_login": "manager", "quality_owner_login": "quality_owner",
             "parent": "parent", "head": "head"}


# The coded columns: a cell holds the code or its name in either language.
ACTIVE = Choices(("yes", "no"), lambda: {"yes": _("Yes"), "no": _("No")}, {
    "1": "yes", "true": "yes", "on": "yes", "y": "yes", "启用": "yes", "active": "yes",
    "0": "no", "false": "no", "off": "no", "n": "no", "停用": "no", "inactive": "no"})
ROLES = Choices(tuple(r.value for r in Role), lambda: {r.value: label("role", r) for r in Role})
LANGUAGE = Choices(tuple(LANGUAGE_NAMES), lambda: dict(LANGUAGE_NAMES), {
    "zh": "zh_CN", "zh-cn": "zh_CN", "zh_cn": "zh_CN", "chinese": "zh_CN", "简体中文": "zh_CN",
    "英文": "en", "英语": "en", "en_us": "en", "en-us": "en"})
CHOICES = {"departments": {"active": ACTIVE}, "projects": {"active": ACTIVE},
           "users": {"roles": ROLES, "language": LANGUAGE, "active": ACTIVE}}


@dataclass
class Result:
    problems: list[Problem] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    passwords: list[tuple[str, str]] = field(default_factory=list)  # (login, new password)


class _Refused(Exception):
    """Rolls the whole file back once a row was refused."""


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("；", ";").replace(",", ";").split(";")
            if part.strip()]


class _Coded:
    """Reads a row's coded cells, gathering every unknown value, so that one 422 names
    them all with the values each column takes."""

    def __init__(self, row: dict[str, str]) -> None:
        self.row = row
        self.invalid: dict[str, str] = {}

    def code(self, column: str, choices: Choices, text: str | None = None) -> str:
        text = self.row.get(column, "") if text is None else text
        code = choices.match(text)
        if code is None:
            self.invalid.setdefault(column, choices.problem(0, column, text).message)
            return ""
        return code

    def active(self) -> bool | None:
        code = self.code("active", ACTIVE)
        return None if not code else code == "yes"

    def roles(self) -> list[str]:
        """Each role by code or name, a scope ("@unit:3") kept as written."""
        roles = []
        for part in _list(self.row.get("roles", "")):
            role, at, where = part.partition("@")
            roles.append(self.code("roles", ROLES, role) + at + where)
        return roles

    def check(self) -> None:
        if self.invalid:
            raise DomainError(_("Some values are not valid"), status=422, invalid=self.invalid)


def _active(row: dict[str, str]) -> bool | None:
    cells = _Coded(row)
    active = cells.active()
    cells.check()
    return active


def _problems_of(number: int, exc: DomainError) -> list[Problem]:
    found = [Problem(number, COLUMN_OF.get(name, name), message)
             for name, message in exc.problems.items()]
    return found or [Problem(number, "", exc.message)]


async def _unit_row(row: dict[str, str], actor: CurrentUser) -> bool:
    code = units.normalise_code(row.get("code"))
    data = UnitIn(code=code, name_zh=row.get("name_zh"), name_en=row.get("name_en"),
                  parent_code=row.get("parent") or None, head_login=row.get("head") or None,
                  active=_active(row), reason="import")
    current = await OrgUnit.objects().get(OrgUnit.code == code)
    if current is None:
        await units.create_unit(data, actor)
        return True
    await units.update_unit(current, data, actor)
    return False


async def _ids_of_logins(logins: list[str]) -> list[int]:
    rows = await User.select(User.id, User.login).where(
        User.login.is_in([login.lower() for login in logins])) if logins else []
    found = {r["login"]: r["id"] for r in rows}
    missing = [login for login in logins if login.lower() not in found]
    if missing:
        raise DomainError(_("Unknown logins: %(logins)s", logins=", ".join(missing)),
                          status=422, invalid={"members": _("Unknown logins: %(logins)s",
                                                            logins=", ".join(missing))})
    return [found[login.lower()] for login in logins]


async def _project_row(row: dict[str, str], actor: CurrentUser) -> bool:
    code = units.normalise_code(row.get("code"))
    dates: dict[str, Any] = {}
    for name in ("planned_start", "planned_end"):
        try:
            dates[name] = day(row.get(name))
        except ValueError:
            raise DomainError(_("Some values are not valid"), status=422, invalid={
                name: _("Enter a date (YYYY-MM-DD).")}) from None
    data = ProjectIn(code=code, name_zh=row.get("name_zh"), name_en=row.get("name_en"),
                     department=row.get("department") or None, client=row.get("client"),
                     manager_login=row.get("manager") or None,
                     quality_owner_login=row.get("quality_owner") or None,
                     members=await _ids_of_logins(_list(row.get("members", "")))
                     if "members" in row else None,
                     active=_active(row), reason="import", **dates)
    current = await Project.objects().get(Project.code == code)
    if current is None:
        await projects.create_project(data, actor)
        return True
    await projects.update_project(current, data, actor)
    return False


async def _user_row(row: dict[str, str], actor: CurrentUser, result: Result) -> bool:
    login = row.get("login", "").strip().lower()
    unit = None
    if row.get("department"):
        found = await OrgUnit.select(OrgUnit.id).where(
            OrgUnit.code == units.normalise_code(row["department"])).first()
        if found is None:
            raise DomainError(_("Some values are not valid"), status=422,
                              invalid={"department": _("No such department.")})
        unit = found["id"]
    codes = _list(row.get("projects", ""))
    project_rows = await Project.select(Project.id, Project.code).where(
        Project.code.is_in([c.upper() for c in codes])) if codes else []
    if len(project_rows) != len(set(c.upper() for c in codes)):
        raise DomainError(_("Some values are not valid"), status=422,
                          invalid={"projects": _("No such project.")})
    cells = _Coded(row)
    active, roles = cells.active(), cells.roles()
    language = cells.code("language", LANGUAGE)
    cells.check()
    existing = await User.objects().get(User.login == login)
    base = await input_of(existing) if existing else UserInput(login=login, name="")
    data = UserInput(
        login=login, name=row.get("name") or base.name, email=row.get("email", base.email),
        roles=roles if "roles" in row else base.roles,
        language=language if "language" in row else base.language,
        org_unit=unit if "department" in row else base.org_unit,
        projects=[p["id"] for p in project_rows] if "projects" in row else base.projects,
        active=base.active if active is None else active)
    if existing is None:
        password = row.get("password") or secrets.token_urlsafe(9)
        await create_user(data, password, actor)
        if not row.get("password"):
            result.passwords.append((login, password))
        return True
    await update_user(await get_user(existing.id), data, actor, "import")
    return False


async def import_file(kind: str, actor: CurrentUser, filename: str, data: bytes) -> Result:
    """Check and, only when every row is right, write a whole file."""
    sheet = SHEETS[kind]
    parsed = await off_loop(sheets.read_file, sheet, filename, data)
    result = Result(problems=list(parsed.problems))
    if result.problems:
        return result
    try:
        async with write_transaction():
            for number, row in parsed.rows:
                try:
                    if kind == "departments":
                        created = await _unit_row(row, actor)
                    elif kind == "projects":
                        created = await _project_row(row, actor)
                    else:
                        created = await _user_row(row, actor, result)
                except DomainError as exc:
                    result.problems += _problems_of(number, exc)
                    continue
                result.created += created
                result.updated += not created
            if result.problems:
                raise _Refused
    except _Refused:
        return Result(problems=result.problems)
    return result


def template(kind: str) -> bytes:
    """An empty workbook with the columns of this kind of file, to fill in; the coded
    columns with drop-downs of their names in the reader's language."""
    return sheets.to_xlsx([list(SHEETS[kind].columns)], SHEETS[kind].sheet_name, {},
                          CHOICES[kind])
