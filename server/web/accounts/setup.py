"""The one-time setup page: the first administrator of a new installation."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from server.accounts import setup
from server.accounts.roles import PUBLIC
from server.accounts.schemas import SetupForm
from server.core.errors import Invalid, NotFound
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.web.bodies import read_form

Req = Request[Any, Any, Any]


def _from_this_machine(request: Req) -> bool:
    """A request from the server itself, not passed on by a proxy on it."""
    if request.headers.get("x-forwarded-for") or request.client is None:
        return False
    try:
        return ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def _allowed(request: Req, token: str) -> None:
    if not await setup.needs_first_admin():
        raise NotFound(_("This installation is set up already; log in instead."))
    if not setup.may_set_up(request.app.state.settings.data_dir, token,
                            _from_this_machine(request)):
        raise setup.refuse_setup()


def _page(form: SetupForm, problems: dict[str, str], status: int = 200) -> Template:
    return Template("accounts/setup.html", status_code=status,
                    context={"form": form, "problems": problems})


@get("/setup", name="setup", opt=PUBLIC)
async def setup_page(request: Req, token: FromQuery[str] = "") -> Template:
    await _allowed(request, token)
    return _page(SetupForm(token=token), {})


@post("/setup", name="setup:submit", opt=PUBLIC)
async def setup_submit(request: Req) -> Template | Redirect:
    form = parse(SetupForm, await read_form(request))
    await _allowed(request, form.token)
    if form.password != form.again:
        return _page(form, {"again": _("The two new passwords differ.")}, 422)
    try:
        await setup.create_first_admin(form.login, form.name, form.password,
                                       request.app.state.settings.data_dir)
    except Invalid as exc:
        return _page(form, exc.problems, 422)
    return Redirect("/login?next=/")


ROUTES = [setup_page, setup_submit]
