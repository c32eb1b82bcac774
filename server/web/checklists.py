"""Checklist catalogue and preview pages, and the read-only checklist API."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from server.accounts.roles import ANY_USER
from server.assets.categories import category_label
from server.audits.access import can_start
from server.checklists import store
from server.checklists.labels import label
from server.checklists.model import Kind
from server.core.i18n import gettext as _
from server.org.queries import org_units, projects
from server.web.params import OptionalQueryInt

KIND_ORDER = [k.value for k in Kind]


def kind_label(kind: str) -> str:
    return label("kind", kind)


@get("/checklists", name="checklists:catalogue", opt=ANY_USER)
async def catalogue(kind: FromQuery[str | None] = None) -> Template:
    summaries = await store.latest_summaries(kind if kind in KIND_ORDER else None)
    groups: dict[str, list[store.Summary]] = {}
    for summary in summaries:
        groups.setdefault(summary.kind, []).append(summary)
    ordered = [(k, kind_label(k), groups[k]) for k in KIND_ORDER if k in groups]
    return Template(
        "checklists/catalogue.html",
        context={
            "groups": ordered,
            "kinds": [(k, kind_label(k)) for k in KIND_ORDER],
            "active_kind": kind,
        },
    )


@get("/checklists/{key:str}", name="checklists:preview", opt=ANY_USER)
async def preview(
    request: Request[Any, Any, Any], key: FromPath[str], version: FromQuery[OptionalQueryInt] = None
) -> Template:
    checklist = await store.get(key, version)
    if checklist is None:
        raise NotFoundException(_("No checklist with this key"))
    user = request.scope["user"]
    startable = can_start(user, checklist.kind.value, checklist.key) and (
        checklist.kind.value != "inspection")
    return Template(
        "checklists/preview.html",
        context={
            "c": checklist,
            "versions": await store.versions_of(key),
            "kind_label": kind_label(checklist.kind.value),
            "category_label": category_label,
            "startable": startable,
            "org_units": await org_units() if startable else [],
            "projects": await projects() if startable else [],
        },
    )


@get("/api/v1/checklists", name="api:checklists:list", opt=ANY_USER)
async def api_list(kind: FromQuery[str | None] = None) -> list[dict[str, Any]]:
    """The newest version of every checklist."""
    return [
        {
            "key": s.key,
            "version": s.version,
            "kind": s.kind,
            "title": {"zh-CN": s.title_zh, "en": s.title_en},
            "items": s.items,
        }
        for s in await store.latest_summaries(kind)
    ]


@get("/api/v1/checklists/{key:str}", name="api:checklists:detail", opt=ANY_USER)
async def api_detail(key: FromPath[str], version: FromQuery[OptionalQueryInt] = None
                     ) -> dict[str, Any]:
    """The full definition of a checklist (the newest version unless one is asked for)."""
    checklist = await store.get(key, version)
    if checklist is None:
        raise NotFoundException(f"no checklist with key {key!r}")
    return checklist.model_dump(mode="json", by_alias=True, exclude_none=True)


ROUTES = [catalogue, preview, api_list, api_detail]
