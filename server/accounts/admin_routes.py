"""The admin's user management pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server.accounts import sessions, tokens
from server.accounts.roles import Role, allow
from server.accounts.tables import ApiToken, User
from server.accounts.users import (
    UserError,
    UserInput,
    create_user,
    projects_of,
    roles_of,
    set_password,
    update_user,
)
from server.changelog.record import history
from server.i18n import gettext as _
from server.org.tables import OrgUnit, Project

Req = Request[Any, Any, Any]
ADMIN = allow(Role.admin)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _input(form: FormMultiDict, login: str) -> UserInput:
    return UserInput(
        login=login.strip().lower(),
        name=str(form.get("name", "")),
        email=str(form.get("email", "")),
        roles=[str(r) for r in form.getall("roles")] if "roles" in form else [],
        language=str(form.get("language", "")),
        org_unit=_int_or_none(form.get("org_unit")),
        projects=[p for p in (_int_or_none(x) for x in form.getall("projects")) if p]
        if "projects" in form
        else [],
        active=form.get("active") == "on",
    )


async def _choices() -> dict[str, Any]:
    return {
        "all_roles": [r.value for r in Role],
        "org_units": await OrgUnit.select().order_by(OrgUnit.code),
        "projects": await Project.select().order_by(Project.code),
    }


async def _load(user_id: int) -> User:
    user = await User.objects().get(User.id == user_id)
    if user is None:
        raise NotFoundException()
    return user


@get("/admin/users", name="admin:users", opt=ADMIN)
async def users_page() -> Template:
    users = await User.select(User.id, User.login, User.name, User.active, User.language).order_by(
        User.login
    )
    for user in users:
        user["roles"] = await roles_of(user["id"])
    return Template("admin/users.html", context={"users": users})


@get("/admin/users/new", name="admin:users:new", opt=ADMIN)
async def new_user_page() -> Template:
    return Template(
        "admin/user_form.html",
        context={
            **await _choices(),
            "user": None,
            "data": UserInput(login="", name=""),
            "problems": {},
            "history": [],
            "api_tokens": [],
            "new_token": None,
        },
    )


@post("/admin/users", name="admin:users:create", opt=ADMIN)
async def create_user_submit(request: Req) -> Template | Redirect:
    form = await request.form()
    data = _input(form, str(form.get("login", "")))
    try:
        user = await create_user(data, str(form.get("password", "")), request.scope["user"])
    except UserError as exc:
        return Template(
            "admin/user_form.html",
            status_code=422,
            context={
                **await _choices(),
                "user": None,
                "data": data,
                "problems": exc.problems,
                "history": [],
                "api_tokens": [],
                "new_token": None,
            },
        )
    return Redirect(f"/admin/users/{user.id}")


async def _edit_context(user: User, **extra: Any) -> dict[str, Any]:
    data = UserInput(
        login=user.login,
        name=user.name,
        email=user.email,
        roles=await roles_of(user.id),
        language=user.language,
        org_unit=user.org_unit,
        projects=await projects_of(user.id),
        active=user.active,
    )
    api_tokens = (
        await ApiToken.select()
        .where(ApiToken.user == user.id)
        .order_by(ApiToken.created_at, ascending=False)
    )
    return {
        **await _choices(),
        "user": user,
        "data": data,
        "problems": {},
        "history": await history("app_user", user.id),
        "api_tokens": api_tokens,
        "new_token": None,
        **extra,
    }


@get("/admin/users/{user_id:int}", name="admin:users:edit", opt=ADMIN)
async def edit_user_page(user_id: FromPath[int]) -> Template:
    return Template("admin/user_form.html", context=await _edit_context(await _load(user_id)))


@post("/admin/users/{user_id:int}", name="admin:users:update", opt=ADMIN)
async def update_user_submit(request: Req, user_id: FromPath[int]) -> Template | Redirect:
    user = await _load(user_id)
    form = await request.form()
    data = _input(form, user.login)
    me = request.scope["user"]
    if user.id == me.id and (not data.active or Role.admin.value not in data.roles):
        problems = {"roles": _("You cannot remove your own admin role or deactivate yourself.")}
        return Template(
            "admin/user_form.html",
            status_code=422,
            context=await _edit_context(user, data=data, problems=problems),
        )
    try:
        await update_user(user, data, me, str(form.get("reason", "")))
    except UserError as exc:
        return Template(
            "admin/user_form.html",
            status_code=422,
            context=await _edit_context(user, data=data, problems=exc.problems),
        )
    if not data.active:
        await sessions.end_all_sessions(user.id)
    return Redirect(f"/admin/users/{user.id}")


@post("/admin/users/{user_id:int}/password", name="admin:users:password", opt=ADMIN)
async def reset_password(request: Req, user_id: FromPath[int]) -> Template | Redirect:
    user = await _load(user_id)
    form = await request.form()
    try:
        await set_password(
            user, str(form.get("password", "")), request.scope["user"], reason="reset by admin"
        )
    except UserError as exc:
        return Template(
            "admin/user_form.html",
            status_code=422,
            context=await _edit_context(user, problems=exc.problems),
        )
    await sessions.end_all_sessions(user.id)
    return Redirect(f"/admin/users/{user.id}")


@post("/admin/users/{user_id:int}/tokens", name="admin:tokens:issue", opt=ADMIN)
async def issue_token(request: Req, user_id: FromPath[int]) -> Template:
    user = await _load(user_id)
    form = await request.form()
    token = await tokens.issue_token(
        user.id, str(form.get("name", "")) or "api", request.scope["user"]
    )
    return Template("admin/user_form.html", context=await _edit_context(user, new_token=token))


@post("/admin/tokens/{token_id:int}/revoke", name="admin:tokens:revoke", opt=ADMIN)
async def revoke_token(request: Req, token_id: FromPath[int]) -> Redirect:
    row = await ApiToken.select(ApiToken.user).where(ApiToken.id == token_id).first()
    if row is None:
        raise NotFoundException()
    await tokens.revoke_token(token_id, request.scope["user"])
    return Redirect(f"/admin/users/{row['user']}")


ROUTES = [
    users_page,
    new_user_page,
    create_user_submit,
    edit_user_page,
    update_user_submit,
    reset_password,
    issue_token,
    revoke_token,
]
