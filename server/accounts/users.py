"""User management rules. Every change goes through the change log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.accounts import sessions, tokens
from server.accounts.current import CurrentUser
from server.accounts.identity import forget
from server.accounts.passwords import hash_password, password_problem, verify_password
from server.accounts.roles import Role
from server.accounts.scopes import Grant
from server.accounts.tables import ApiToken, ProjectMember, User, UserRole
from server.changelog import record
from server.core.errors import NotFound, invalid_fields
from server.core.i18n import gettext as _
from server.db.engine import write_transaction
from server.db.search import contains
from server.org.queries import unknown_refs
from server.org.tables import OrgUnit, Project

LIMIT = 500

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


@dataclass
class UserInput:
    login: str
    name: str
    # Roles as grants (scopes.Grant as text): "auditor" everywhere, "auditor@unit:3" for a
    # department, "quality_specialist@project:7" for a project.
    roles: list[str] = field(default_factory=list)
    language: str = ""
    email: str = ""
    org_unit: int | None = None
    projects: list[int] = field(default_factory=list)
    active: bool = True


def _check(data: UserInput, password: str | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not LOGIN_RE.match(data.login):
        problems["login"] = _("Use 2-80 lower-case letters, digits, dots, dashes or underscores.")
    if not data.name.strip():
        problems["name"] = _("A name is required.")
    unknown = [r for r in data.roles if _grant(r) is None]
    if unknown:
        problems["roles"] = _("Unknown role: %(role)s", role=", ".join(unknown))
    if data.language not in ("", "zh_CN", "en"):
        problems["language"] = _("Unknown language.")
    if password is not None:
        problem = password_problem(password)
        if problem:
            problems["password"] = problem
    return problems


def _grant(text: str) -> Grant | None:
    try:
        grant = Grant.parse(text)
    except ValueError:
        return None
    return grant if grant.role in {r.value for r in Role} else None


def _normalised(roles: list[str]) -> list[str]:
    return sorted({str(g) for g in (_grant(r) for r in roles) if g is not None})


async def _unknown_refs(data: UserInput, current: User | None = None) -> dict[str, str]:
    moved = current is None or current.org_unit != data.org_unit
    problems = await unknown_refs(org_unit=data.org_unit, new=moved)
    for project in data.projects:
        if await unknown_refs(project=project):
            problems["projects"] = _("No such project.")
    for text in data.roles:
        grant = _grant(text)
        if grant and await unknown_refs(org_unit=grant.org_unit, project=grant.project):
            problems["roles"] = _("A role is held for a department or project that does "
                                  "not exist.")
    return problems


async def roles_of(user_id: int) -> list[str]:
    """The roles a user is given (as grant text), sorted; a department's head and a
    project's manager hold those roles by the department and project records too."""
    rows = await UserRole.select(UserRole.role, UserRole.org_unit, UserRole.project).where(
        UserRole.user == user_id)
    return sorted(str(Grant(r["role"], r["org_unit"], r["project"])) for r in rows)


async def projects_of(user_id: int) -> list[int]:
    rows = await ProjectMember.select(ProjectMember.project).where(ProjectMember.user == user_id)
    return sorted(r["project"] for r in rows)


async def _set_memberships(user_id: int, roles: list[str], projects: list[int]) -> None:
    await UserRole.delete().where(UserRole.user == user_id)
    grants = [g for g in (_grant(r) for r in sorted(set(roles))) if g is not None]
    if grants:
        await UserRole.insert(*[UserRole(user=user_id, role=g.role, org_unit=g.org_unit,
                                         project=g.project) for g in grants])
    await ProjectMember.delete().where(ProjectMember.user == user_id)
    if projects:
        await ProjectMember.insert(
            *[ProjectMember(user=user_id, project=p) for p in sorted(set(projects))]
        )


async def create_user(
    data: UserInput, password: str, actor: object, enforce_policy: bool = True
) -> User:
    """Create a user. Only the demo data set skips the password policy."""
    problems = {**_check(data, password if enforce_policy else None),
                **await _unknown_refs(data)}
    if not problems and await User.exists().where(User.login == data.login):
        problems["login"] = _("This login is taken.")
    if problems:
        raise invalid_fields(problems)
    data.roles = _normalised(data.roles)
    async with write_transaction():
        user = await record.create(
            User(
                login=data.login,
                name=data.name.strip(),
                email=data.email.strip(),
                password_hash=hash_password(password),
                language=data.language,
                active=data.active,
                org_unit=data.org_unit,
            ),
            actor,
        )
        await _set_memberships(user.id, data.roles, data.projects)
        await record.append(
            actor,
            "memberships",
            "app_user",
            user.id,
            {
                "roles": [[], sorted(set(data.roles))],
                "projects": [[], sorted(set(data.projects))],
            },
        )
    return user


async def update_user(user: User, data: UserInput, actor: object, reason: str = "") -> None:
    """Change an account; an admin cannot lock themselves out. Deactivating ends the
    person's sessions and revokes their API tokens."""
    problems = {**_check(data, None), **await _unknown_refs(data, user)}
    if user.id == getattr(actor, "id", None) and (
            not data.active or Role.admin.value not in data.roles):  # admin everywhere
        problems["roles"] = _("You cannot remove your own admin role or deactivate yourself.")
    if problems:
        raise invalid_fields(problems)
    data.roles = _normalised(data.roles)
    async with write_transaction():
        await record.update(
            user,
            actor,
            {
                "name": data.name.strip(),
                "email": data.email.strip(),
                "language": data.language,
                "active": data.active,
                "org_unit": data.org_unit,
            },
            reason,
        )
        old_roles, old_projects = await roles_of(user.id), await projects_of(user.id)
        new_roles, new_projects = sorted(set(data.roles)), sorted(set(data.projects))
        if (old_roles, old_projects) != (new_roles, new_projects):
            await _set_memberships(user.id, new_roles, new_projects)
            changes = {}
            if old_roles != new_roles:
                changes["roles"] = [old_roles, new_roles]
            if old_projects != new_projects:
                changes["projects"] = [old_projects, new_projects]
            await record.append(actor, "memberships", "app_user", user.id, changes, reason)
    await forget(user.id)
    if not data.active:
        await sessions.end_all_sessions(user.id)
        await tokens.revoke_all(user.id, actor)


async def change_own_password(me: CurrentUser, current: str, new: str, again: str) -> None:
    """A person changes their password: the current one first, the new one twice. Their
    other sessions end (this one stays)."""
    if new != again:
        raise invalid_fields({"again": _("The two new passwords differ.")})
    user = await get_user(me.id)
    if not verify_password(user.password_hash, current):
        raise invalid_fields({"current": _("The current password is not correct.")})
    await set_password(user, new, me)
    await sessions.end_all_sessions(me.id, except_id=me.session_id)


async def reset_password(user: User, new: str, actor: object) -> None:
    """The admin sets a new password; every session of that person ends."""
    await set_password(user, new, actor, reason="reset by admin")
    await sessions.end_all_sessions(user.id)


async def set_password(user: User, new: str, actor: object, reason: str = "") -> None:
    problem = password_problem(new)
    if problem:
        raise invalid_fields({"password": problem})
    await record.update(
        user, actor, {"password_hash": hash_password(new)}, reason, action="password"
    )


async def password_matches(user_id: int, password: str) -> bool:
    """Whether this is the user's password (a signature re-entered at sign-off)."""
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    return row is not None and verify_password(row["password_hash"], password)


async def set_language(user_id: int, language: str, actor: object) -> None:
    user = await User.objects().get(User.id == user_id)
    if user is not None:
        await record.update(user, actor, {"language": language})
        await forget(user_id)


# --- reading -----------------------------------------------------------------------


async def get_user(user_id: int) -> User:
    user = await User.objects().get(User.id == user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def input_of(user: User) -> UserInput:
    """A stored user's editable values."""
    return UserInput(
        login=user.login,
        name=user.name,
        email=user.email,
        roles=await roles_of(user.id),
        language=user.language,
        org_unit=user.org_unit,
        projects=await projects_of(user.id),
        active=user.active,
    )


async def tokens_of(user_id: int) -> list[dict[str, Any]]:
    """A user's API tokens, newest first (hashes never leave the table)."""
    return await ApiToken.select(
        ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.created_at,
        ApiToken.last_used_at, ApiToken.revoked_at,
    ).where(ApiToken.user == user_id).order_by(ApiToken.created_at, ascending=False)


async def token_owner(token_id: int) -> int:
    row = await ApiToken.select(ApiToken.user).where(ApiToken.id == token_id).first()
    if row is None:
        raise NotFound(_("No such token."))
    return int(row["user"])


async def active_users() -> list[dict[str, Any]]:
    """Who can be chosen as an owner, assignee or lead: active accounts by name."""
    return await User.select(User.id, User.name, User.login).where(
        User.active == True  # noqa: E712
    ).order_by(User.name)


async def active_user_ids(ids: Iterable[int | None]) -> set[int]:
    """Which of these ids are active accounts."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return set()
    rows = await User.select(User.id).where(User.id.is_in(wanted) & (User.active == True))  # noqa: E712
    return {r["id"] for r in rows}


async def users_holding(*roles: str) -> list[dict[str, Any]]:
    """Active users holding any of these roles, by name."""
    ids = sorted({r["user"] for r in await UserRole.select(UserRole.user).where(
        UserRole.role.is_in(list(roles)))})
    if not ids:
        return []
    return await User.select(User.id, User.name, User.login).where(
        User.id.is_in(ids) & (User.active == True)  # noqa: E712
    ).order_by(User.name)


async def holds_any_role(user_id: int, roles: Iterable[str]) -> bool:
    """Whether an active user holds one of these roles."""
    if not await active_user_ids([user_id]):
        return False
    return bool(await UserRole.exists().where(
        (UserRole.user == user_id) & UserRole.role.is_in([str(r) for r in roles])))


async def led_by(user_id: int) -> str:
    """The departments a user heads and the projects they manage (codes), as text."""
    units = await OrgUnit.select(OrgUnit.code).where(OrgUnit.head == user_id)
    managed = await Project.select(Project.code).where(Project.manager == user_id)
    return ", ".join([u["code"] for u in units] + [p["code"] for p in managed])


async def names_by_id() -> dict[int, str]:
    return {r["id"]: r["name"] for r in await User.select(User.id, User.name)}


async def user_id_of(login_or_id: str) -> int | None:
    """The id of the user with this login, or with this id."""
    condition = User.login == login_or_id.lower()
    if login_or_id.isdigit() and len(login_or_id) < 19:  # fits the id column
        condition = condition | (User.id == int(login_or_id))
    row = await User.select(User.id).where(condition).first()
    return None if row is None else int(row["id"])


async def from_json(data: Any, current: User | None = None) -> UserInput:
    """A UserInput from the API's fields, the stored values filling what was not sent."""
    base = await input_of(current) if current is not None else UserInput(login="", name="")
    org_unit = data.org_unit if data.org_unit is not None else base.org_unit
    if data.department:
        row = await OrgUnit.select(OrgUnit.id).where(
            OrgUnit.code == data.department.strip().upper()).first()
        if row is None:
            raise invalid_fields({"department": _("No such department.")})
        org_unit = row["id"]
    return UserInput(
        login=(data.login or base.login).strip().lower() if current is None else base.login,
        name=data.name if data.name is not None else base.name,
        email=data.email if data.email is not None else base.email,
        roles=data.roles if data.roles is not None else base.roles,
        language=data.language if data.language is not None else base.language,
        org_unit=org_unit,
        projects=data.projects if data.projects is not None else base.projects,
        active=data.active if data.active is not None else base.active,
    )


def user_json(user: User | dict[str, Any], roles: list[str], projects: list[int]
              ) -> dict[str, Any]:
    get = user.get if isinstance(user, dict) else lambda k: getattr(user, k)
    return {"id": get("id"), "login": get("login"), "name": get("name"),
            "email": get("email"), "language": get("language"), "active": get("active"),
            "org_unit": get("org_unit"), "roles": roles, "projects": projects}


async def users_list(q: str = "", active: str = "") -> list[dict[str, Any]]:
    """Accounts by login, with their roles; filtered by text (login, name, e-mail) and
    active ("1" or "0")."""
    query = User.select(User.id, User.login, User.name, User.email, User.active,
                        User.language, User.org_unit).order_by(User.login).limit(LIMIT)
    if q.strip():
        query = query.where(contains([User.login, User.name, User.email], q.strip()))
    if active in ("0", "1"):
        query = query.where(User.active == (active == "1"))
    rows = await query
    for row in rows:
        row["roles"] = await roles_of(row["id"])
    return rows
