"""Login, logout, the user's own account, and the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from server import i18n
from server.accounts import sessions
from server.accounts.passwords import verify_password
from server.accounts.roles import ANY_USER, PUBLIC
from server.accounts.tables import User
from server.accounts.users import UserError, change_password, set_language
from server.i18n import gettext as _
from server.web.cookies import read_cookie
from server.web.middleware import LANG_COOKIE

Req = Request[Any, Any, Any]


def safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _secure(request: Req) -> bool:
    return str(request.app.state.settings.base_url).startswith("https://")


@get("/login", name="login", opt=PUBLIC)
async def login_page(request: Req, next: FromQuery[str] = "/") -> Template | Redirect:
    if request.scope.get("user"):
        return Redirect(safe_next(next))
    return Template("accounts/login.html", context={"next": safe_next(next), "error": None})


@post("/login", name="login:submit", opt=PUBLIC)
async def login_submit(request: Req) -> Response[Any]:
    form = await request.form()
    login = str(form.get("login", "")).strip().lower()[:80]
    password = str(form.get("password", ""))[:200]
    target = safe_next(str(form.get("next", "/")))
    address = request.client.host if request.client else "unknown"
    limiter = request.app.state.login_limiter
    keys = (f"login:{login}", f"ip:{address}")
    wait = limiter.blocked(*keys)
    if wait:
        return Template(
            "accounts/login.html",
            context={"next": target, "error": _("Too many attempts; please wait a moment")},
            status_code=429,
            headers={"Retry-After": str(int(wait) + 1)},
        )
    user = await User.objects().get(User.login == login) if login else None
    if user is None or not user.active or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(None, password)  # same work either way: no login enumeration
        limiter.failed(*keys)
        return Template(
            "accounts/login.html",
            context={"next": target, "error": _("The login or password is not correct.")},
            status_code=401,
        )
    limiter.succeeded(keys[0])
    old = read_cookie(request.scope, sessions.COOKIE)
    if old:
        await sessions.end_session(old)
    token = await sessions.start_session(user.id, request.headers.get("user-agent", ""))
    response = Redirect(target)
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
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
    form = await request.form()
    chosen = i18n.normalise(str(form.get("lang", ""))) or i18n.DEFAULT_LANGUAGE
    response = Redirect(safe_next(str(form.get("next", "/"))))
    user = request.scope.get("user")
    if user is not None:
        await set_language(user.id, chosen, user)
    response.set_cookie(
        LANG_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


@get("/account", name="account", opt=ANY_USER)
async def account_page(request: Req) -> Template:
    return Template("accounts/account.html", context={"problems": {}, "done": False})


@post("/account/password", name="account:password", opt=ANY_USER)
async def account_password(request: Req) -> Template:
    form = await request.form()
    me = request.scope["user"]
    user = await User.objects().get(User.id == me.id)
    new, again = str(form.get("new", "")), str(form.get("again", ""))
    problems: dict[str, str] = {}
    if new != again:
        problems["again"] = _("The two new passwords differ.")
    else:
        try:
            await change_password(user, str(form.get("current", "")), new, me)
        except UserError as exc:
            problems = exc.problems
    if not problems:
        await sessions.end_all_sessions(me.id, except_id=me.session_id)
    return Template(
        "accounts/account.html",
        context={"problems": problems, "done": not problems},
        status_code=422 if problems else 200,
    )


@get("/api/v1/me", name="api:me", opt=ANY_USER)
async def api_me(request: Req) -> dict[str, Any]:
    """Who the bearer token belongs to."""
    me = request.scope["user"]
    return {
        "id": me.id,
        "login": me.login,
        "name": me.name,
        "roles": sorted(me.roles),
        "language": me.language,
    }


def login_redirect(request: Req) -> Response[Any]:
    """Where an anonymous page request goes: the login page, then straight back."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(b"", status_code=401, headers={"HX-Redirect": location})
    return Redirect(location)


ROUTES = [login_page, login_submit, logout, switch_language, account_page, account_password, api_me]
