"""Projects: their department, client, manager, quality owner, members, phase and dates.

The phase only moves forward (startup -> plan -> execution -> monitoring -> closure) and
only by its own explicit step (flows/projects.py), never by an edit of the project.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from server.accounts.current import CurrentUser
from server.accounts.identity import forget_all
from server.accounts.tables import ProjectMember
from server.accounts.users import active_user_ids, user_id_of
from server.changelog import record
from server.checklists.model import Phase
from server.core.errors import Conflict, NotFound, invalid_fields
from server.core.i18n import gettext as _
from server.core.inputs import is_clean
from server.db.engine import write_transaction
from server.directory.schemas import ProjectIn
from server.directory.units import NAME_LIMIT, normalise_code
from server.org.tables import OrgUnit, Project

PHASES = tuple(p.value for p in Phase)  # in the order a project goes through them
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")


async def get_project(project_id: int) -> Project:
    project = await Project.objects().get(Project.id == project_id)
    if project is None:
        raise NotFound(_("No such project."))
    return project


async def members_of(project_id: int) -> list[int]:
    rows = await ProjectMember.select(ProjectMember.user).where(
        ProjectMember.project == project_id)
    return sorted(r["user"] for r in rows)


async def resolve(data: ProjectIn) -> ProjectIn:
    """Department by code and people by login (API, files) as ids."""
    problems: dict[str, str] = {}
    if data.department:
        row = await OrgUnit.select(OrgUnit.id).where(
            OrgUnit.code == normalise_code(data.department)).first()
        if row is None:
            problems["department"] = _("No such department.")
        else:
            data.org_unit = row["id"]
    for login_field, id_field in (("manager_login", "manager"),
                                  ("quality_owner_login", "quality_owner")):
        login = getattr(data, login_field)
        if login:
            found = await user_id_of(login)
            if found is None:
                problems[login_field] = _("No such user.")
            else:
                setattr(data, id_field, found)
    if problems:
        raise invalid_fields(problems)
    return data


def _values(data: ProjectIn, current: Project | None) -> dict[str, Any]:
    def pick(name: str, default: Any) -> Any:
        given = getattr(data, name)
        if given is not None:
            return given.strip() if isinstance(given, str) else given
        return getattr(current, name) if current is not None else default

    values = {name: pick(name, "") for name in ("code", "name_zh", "name_en", "client")}
    values["code"] = normalise_code(values["code"])
    for name in ("org_unit", "manager", "quality_owner", "planned_start", "planned_end"):
        values[name] = pick(name, None)
    values["active"] = pick("active", True)
    return values


async def _problems(values: dict[str, Any], current: Project | None,
                    members: list[int]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not CODE_RE.match(values["code"]):
        problems["code"] = _("Use up to 40 upper-case letters, digits, dots, dashes or "
                             "underscores (e.g. P-2027-001).")
    for name in ("name_zh", "name_en"):
        if not values[name]:
            problems[name] = _("A name is required.")
    for name in ("name_zh", "name_en", "client"):
        text = values[name]
        if len(text) > NAME_LIMIT or not is_clean(text):
            problems[name] = _("At most %(n)s characters, no control characters.",
                               n=NAME_LIMIT)
    unit = values["org_unit"]
    if unit is not None:
        row = await OrgUnit.select(OrgUnit.active).where(OrgUnit.id == unit).first()
        if row is None:
            problems["org_unit"] = _("No such department.")
        elif not row["active"] and (current is None or current.org_unit != unit):
            problems["org_unit"] = _("This department is no longer active.")
    people = [values["manager"], values["quality_owner"], *members]
    active = await active_user_ids(people)
    for name in ("manager", "quality_owner"):
        if values[name] is not None and values[name] not in active:
            problems[name] = _("No active user with this id.")
    if any(m not in active for m in members):
        problems["members"] = _("No active user with this id.")
    start, end = values["planned_start"], values["planned_end"]
    if start is not None and end is not None and end < start:
        problems["planned_end"] = _("The planned end is before the planned start.")
    return problems


async def _set_members(project: Project, members: list[int], actor: CurrentUser,
                       reason: str) -> None:
    before = await members_of(project.id)
    after = sorted(set(members))
    if before == after:
        return
    await ProjectMember.delete().where(ProjectMember.project == project.id)
    if after:
        await ProjectMember.insert(*[ProjectMember(user=u, project=project.id) for u in after])
    await record.append(actor, "members", "project", project.id,
                        {"members": [before, after]}, reason)


async def create_project(data: ProjectIn, actor: CurrentUser) -> Project:
    data = await resolve(data)
    values = _values(data, None)
    members = data.members or []
    problems = await _problems(values, None, members)
    async with write_transaction():
        if problems:
            raise invalid_fields(problems)
        if await Project.exists().where(Project.code == values["code"]):
            raise Conflict(_("A project with this code exists already."),
                           invalid={"code": _("This code is taken.")})
        project = await record.create(
            Project(**values, phase=PHASES[0], phase_changed_at=datetime.now(UTC)), actor,
            data.reason)
        await _set_members(project, members, actor, data.reason)
    await forget_all()  # its manager may act on it at once
    return project


async def update_project(project: Project, data: ProjectIn, actor: CurrentUser
                         ) -> dict[str, Any]:
    data = await resolve(data)
    values = _values(data, project)
    members = data.members if data.members is not None else await members_of(project.id)
    problems = await _problems(values, project, members)
    async with write_transaction():
        if problems:
            raise invalid_fields(problems)
        if await Project.exists().where((Project.code == values["code"])
                                        & (Project.id != project.id)):
            raise Conflict(_("A project with this code exists already."),
                           invalid={"code": _("This code is taken.")})
        changed = await record.update(project, actor, values, data.reason)
        await _set_members(project, members, actor, data.reason)
    await forget_all()
    return changed


def next_phase(phase: str) -> str | None:
    index = PHASES.index(phase) if phase in PHASES else -1
    return PHASES[index + 1] if 0 <= index < len(PHASES) - 1 else None


async def move_phase(project: Project, to: str, actor: CurrentUser, reason: str) -> None:
    """Move the project one phase forward (the rules: flows/projects.py)."""
    async with write_transaction():
        await record.update(project, actor, {"phase": to, "phase_changed_at":
                                             datetime.now(UTC)}, reason, action="phase")
