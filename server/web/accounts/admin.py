"""The admin's user management pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server.accounts import tokens, users
from server.accounts.roles import Role, allow
from server.accounts.schemas import NewPassword, TokenRequest, UserForm
from server.accounts.scopes import Grant
from server.accounts.tables import User
from server.core.errors import Invalid
from server.core.inputs import parse
from server.directory.history import USER
from server.history.readable import of as history_of
from server.org.queries import Organisation, org_units, organisation, projects
from server.web.bodies import read_form

Req = Request[Any, Any, Any]
ADMIN = allow(Role.admin)


def _input(form: UserForm, login: str) -> users.UserInput:
    roles = list(form.roles)
    if form.grant_role and (form.grant_unit or form.grant_project):
        roles.append(str(Grant(form.grant_role, form.grant_unit,
                               None if form.grant_unit else form.grant_project)))
    return users.UserInput(
        login=login.strip().lower(), name=form.name, email=form.email, roles=roles,
        language=form.language, org_unit=form.org_unit,
        projects=[p for p in form.projects if p], active=form.active,
    )


def _scoped(roles: list[str], org: Organisation) -> list[dict[str, str]]:
    """The roles held for one department or project, with where, for the form."""
    shown = []
    for text in roles:
        try:
            grant = Grant.parse(text)
        except ValueError:
            continue
        if not grant.everywhere:
            where = (org.unit_name(grant.org_unit) if grant.org_unit is not None
                     else org.project_code(grant.project))
            shown.append({"text": text, "role": grant.role, "where": where or "?"})
    return shown


async def _form_page(user: User | None, data: users.UserInput, problems: dict[str, str],
                     status: int = 200, new_token: str | None = None) -> Template:
    org = await organisation()
    return Template("admin/user_form.html", status_code=status, context={
        "all_roles": [r.value for r in Role],
        "scoped_roles": _scoped(data.roles, org),
        "led": await users.led_by(user.id) if user else "",
        "org_units": await org_units(),
        "projects": await projects(),
        "user": user,
        "data": data,
        "problems": problems,
        "history": await history_of(USER, user.id) if user else [],
        "api_tokens": await users.tokens_of(user.id) if user else [],
        "new_token": new_token,
    })


@get("/admin/users", name="admin:users", opt=ADMIN)
async def users_page(q: FromQuery[str] = "", active: FromQuery[str] = "") -> Template:
    return Template("admin/users.html", context={
        "users": await users.users_list(q[:100], active), "q": q[:100], "active": active})


@get("/admin/users/new", name="admin:users:new", opt=ADMIN)
async def new_user_page() -> Template:
    return await _form_page(None, users.UserInput(login="", name=""), {})


@post("/admin/users", name="admin:users:create", opt=ADMIN)
async def create_user_submit(request: Req) -> Template | Redirect:
    form = parse(UserForm, await read_form(request))
    data = _input(form, form.login)
    try:
        user = await users.create_user(data, form.password, request.scope["user"])
    except Invalid as exc:
        return await _form_page(None, data, exc.problems, 422)
    return Redirect(f"/admin/users/{user.id}")


@get("/admin/users/{user_id:int}", name="admin:users:edit", opt=ADMIN)
async def edit_user_page(user_id: FromPath[int]) -> Template:
    user = await users.get_user(user_id)
    return await _form_page(user, await users.input_of(user), {})


@post("/admin/users/{user_id:int}", name="admin:users:update", opt=ADMIN)
async def update_user_submit(request: Req, user_id: FromPath[int]) -> Template | Redirect:
    user = await users.get_user(user_id)
    form = parse(UserForm, await read_form(request))
    data = _input(form, user.login)
    try:
        await users.update_user(user, data, request.scope["user"], form.reason)
    except Invalid as exc:
        return await _form_page(user, data, exc.problems, 422)
    return Redirect(f"/admin/users/{user.id}")


@post("/admin/users/{user_id:int}/password", name="admin:users:password", opt=ADMIN)
async def reset_password(request: Req, user_id: FromPath[int]) -> Template | Redirect:
    user = await users.get_user(user_id)
    form = parse(NewPassword, await read_form(request))
    try:
        await users.reset_password(user, form.password, request.scope["user"])
    except Invalid as exc:
        return await _form_page(user, await users.input_of(user), exc.problems, 422)
    return Redirect(f"/admin/users/{user.id}")


@post("/admin/users/{user_id:int}/tokens", name="admin:tokens:issue", opt=ADMIN)
async def issue_token(request: Req, user_id: FromPath[int]) -> Template:
    user = await users.get_user(user_id)
    form = parse(TokenRequest, await read_form(request))
    token = await tokens.issue_token(user.id, form.name or "api", request.scope["user"])
    return await _form_page(user, await users.input_of(user), {}, new_token=token)


@post("/admin/tokens/{token_id:int}/revoke", name="admin:tokens:revoke", opt=ADMIN)
async def revoke_token(request: Req, token_id: FromPath[int]) -> Redirect:
    owner = await users.token_owner(token_id)
    await tokens.revoke_token(token_id, request.scope["user"])
    return Redirect(f"/admin/users/{owner}")


ROUTES = [users_page, new_user_page, create_user_submit, edit_user_page, update_user_submit,
          reset_password, issue_token, revoke_token]
