"""The home page: each person's work, by their roles (flows/home.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from server.accounts.roles import ANY_USER
from server.assets.render import HELPERS
from server.assets.views import checklist_titles
from server.checklists import store
from server.core import clock
from server.core.i18n import current_language
from server.flows.home import home


@get("/", name="home", opt=ANY_USER)
async def home_page(request: Request[Any, Any, Any]) -> Template:
    today = clock.today()
    lang = current_language.get()
    return Template("home.html", context={
        **HELPERS, "home": await home(request.scope["user"], today), "today": today,
        "titles": await checklist_titles(),
        "check_titles": {s.key: s.title(lang) for s in await store.latest_summaries()},
    })


ROUTES = [home_page]
