"""User management rules. Every change goes through the change log."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.accounts.identity import forget
from server.accounts.passwords import hash_password, password_problem, verify_password
from server.accounts.roles import Role
from server.accounts.tables import ProjectMember, User, UserRole
from server.changelog import record
from server.db.engine import write_transaction
from server.i18n import gettext as _

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


class UserError(ValueError):
    """A user change that the rules refuse; `problems` maps field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass
class UserInput:
    login: str
    name: str
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
    unknown = [r for r in data.roles if r not in {x.value for x in Role}]
    if unknown:
        problems["roles"] = _("Unknown role: %(role)s", role=", ".join(unknown))
    if data.language not in ("", "zh_CN", "en"):
        problems["language"] = _("Unknown language.")
    if password is not None:
        problem = password_problem(password)
        if problem:
            problems["password"] = problem
    return problems


async def roles_of(user_id: int) -> list[str]:
    rows = await UserRole.select(UserRole.role).where(UserRole.user == user_id)
    return sorted(r["role"] for r in rows)


async def projects_of(user_id: int) -> list[int]:
    rows = await ProjectMember.select(ProjectMember.project).where(ProjectMember.user == user_id)
    return sorted(r["project"] for r in rows)


async def _set_memberships(user_id: int, roles: list[str], projects: list[int]) -> None:
    await UserRole.delete().where(UserRole.user == user_id)
    if roles:
        await UserRole.insert(*[UserRole(user=user_id, role=r) for r in sorted(set(roles))])
    await ProjectMember.delete().where(ProjectMember.user == user_id)
    if projects:
        await ProjectMember.insert(
            *[ProjectMember(user=user_id, project=p) for p in sorted(set(projects))]
        )


async def create_user(
    data: UserInput, password: str, actor: object, enforce_policy: bool = True
) -> User:
    """Create a user. Only the demo data set skips the password policy."""
    problems = _check(data, password if enforce_policy else None)
    if not problems and await User.exists().where(User.login == data.login):
        problems["login"] = _("This login is taken.")
    if problems:
        raise UserError(problems)
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
    problems = _check(data, None)
    if problems:
        raise UserError(problems)
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
    forget(user.id)


async def change_password(user: User, current: str, new: str, actor: object) -> None:
    if not verify_password(user.password_hash, current):
        raise UserError({"current": _("The current password is not correct.")})
    await set_password(user, new, actor)


async def set_password(user: User, new: str, actor: object, reason: str = "") -> None:
    problem = password_problem(new)
    if problem:
        raise UserError({"password": problem})
    await record.update(
        user, actor, {"password_hash": hash_password(new)}, reason, action="password"
    )


async def set_language(user_id: int, language: str, actor: object) -> None:
    user = await User.objects().get(User.id == user_id)
    if user is not None:
        await record.update(user, actor, {"language": language})
        forget(user_id)
