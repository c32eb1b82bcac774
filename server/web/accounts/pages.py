"""Login, logout, the user's own account, the language switch, and /api/v1/me."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from server.accounts import sessions
from server.accounts.login import LoginRefused, TooManyAttempts, log_in
from server.accounts.roles import ANY_USER, PUBLIC
from server.accounts.schemas import LanguageChoice, LoginForm, PasswordChange
from server.accounts.setup import needs_first_admin
from server.accounts.users import change_own_password, set_language
from server.core import i18n
from server.core.errors import Invalid
from server.core.inputs import parse, safe_next
from server.web.bodies import read_form
from server.web.cookies import read_cookie
from server.web.middleware import LANG_COOKIE

Req = Request[Any, Any, Any]


def _secure(request: Req) -> bool:
    return str(request.app.state.settings.base_url).startswith("https://")


@get("/login", name="login", opt=PUBLIC)
async def login_page(request: Req, next: FromQuery[str] = "/") -> Template | Redirect:
    if request.scope.get("user"):
        return Redirect(safe_next(next))
    return Template("accounts/login.html", context={
        "next": safe_next(next), "error": None, "first_run": await needs_first_admin()})


@post("/login", name="login:submit", opt=PUBLIC)
async def login_submit(request: Req) -> Response[Any]:
    form = parse(LoginForm, await read_form(request))
    target = safe_next(form.next)
    try:
        token = await log_in(
            form.login, form.password, request.client.host if request.client else "unknown",
            request.app.state.login_limiter, request.headers.get("user-agent", ""),
            read_cookie(request.scope, sessions.COOKIE))
    except (LoginRefused, TooManyAttempts) as exc:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else {}
        return Template("accounts/login.html", status_code=exc.status, headers=headers,
                        context={"next": target, "error": exc.message,
                                 "first_run": await needs_first_admin()})
    response = Redirect(target)
    response.set_cookie(sessions.COOKIE, token, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")
    return response


@post("/logout", name="logout", opt=ANY_USER)
async def logout(request: Req) -> Redirect:
    token = read_cookie(request.scope, sessions.COOKIE)
    if token:
        await sessions.end_session(token)
    response = Redirect("/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@post("/lang", name="language", opt=PUBLIC)
async def switch_language(request: Req) -> Redirect:
    """Remember a language choice: the user's preference, or a cookie before login."""
    form = parse(LanguageChoice, await read_form(request))
    chosen = i18n.normalise(form.lang) or i18n.DEFAULT_LANGUAGE
    response = Redirect(safe_next(form.next))
    user = request.scope.get("user")
    if user is not None:
        await set_language(user.id, chosen, user)
    response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True,
                        samesite="lax", secure=_secure(request))
    return response


@get("/account", name="account", opt=ANY_USER)
async def account_page() -> Template:
    return Template("accounts/account.html", context={"problems": {}, "done": False})


@post("/account/password", name="account:password", opt=ANY_USER)
async def account_password(request: Req) -> Template:
    form = parse(PasswordChange, await read_form(request))
    try:
        await change_own_password(request.scope["user"], form.current, form.new, form.again)
    except Invalid as exc:
        return Template("accounts/account.html", status_code=422,
                        context={"problems": exc.problems, "done": False})
    return Template("accounts/account.html", context={"problems": {}, "done": True})


@get("/api/v1/me", name="api:me", opt=ANY_USER)
async def api_me(request: Req) -> dict[str, Any]:
    """Who the bearer token belongs to."""
    me = request.scope["user"]
    return {"id": me.id, "login": me.login, "name": me.name, "roles": sorted(me.roles),
            "language": me.language}


ROUTES = [login_page, login_submit, logout, switch_language, account_page, account_password,
          api_me]
