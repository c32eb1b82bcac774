"""The assets JSON API (bearer tokens): the register, QR images and the due list."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from server.assets import access, categories, due, qr, views
from server.assets.register import register_from_json
from server.assets.schemas import AssetJson
from server.core import clock
from server.core.errors import Invalid
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.findings.queries import open_ncs_of_asset
from server.org.queries import Organisation, organisation
from server.web.assets.qr_images import qr_response
from server.web.bodies import json_object
from server.web.params import OptionalQueryInt, QueryInt

Req = Request[Any, Any, Any]
MAX_LIMIT = 500


def asset_json(row: dict[str, Any], org: Organisation, base_url: str) -> dict[str, Any]:
    return {**views.outside(row, org), "qr_url": qr.asset_url(base_url, row["code"])}


def due_json(item: due.DueItem, base_url: str) -> dict[str, Any]:
    who = item.responsible
    return {
        "asset": item.asset.code,
        "asset_name": item.asset.name,
        "site": item.asset.site,
        "location": item.asset.location,
        "checklist": item.checklist_key,
        "schedule": item.schedule.id,
        "frequency": item.schedule.frequency,
        "every_n_days": item.schedule.every_n_days,
        "due_date": item.due_date.isoformat(),
        "grace_days": item.schedule.grace_days,
        "status": item.status,
        "days_overdue": item.days_overdue,
        "last_done": item.last_done.isoformat() if item.last_done else None,
        "open_audit": item.open_run,
        "assignee": {"user": who.user_id, "org_unit": who.org_unit_id,
                     "project": who.project_id},
        "url": qr.asset_url(base_url, item.asset.code),
    }


@get("/api/v1/assets", name="api:assets:list", opt=access.READERS)
async def api_assets(
    request: Req,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    site: FromQuery[str] = "",
    status: FromQuery[str] = "",
    limit: FromQuery[QueryInt] = 100,
    offset: FromQuery[QueryInt] = 0,
) -> dict[str, Any]:
    """Assets the token's user sees, by code; `limit` up to 500."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(_("Some values are not valid"),
                      invalid={"limit": _("From 1 to %(n)s.", n=MAX_LIMIT)})
    if offset < 0:
        raise Invalid(_("Some values are not valid"), invalid={"offset": _("At least 0.")})
    query = views.ListQuery(q=q[:100], category=category, site=site, status=status)
    rows, total = await views.list_assets(request.scope["user"], query, limit=limit + offset)
    org = await organisation()
    base = request.app.state.settings.base_url
    return {"total": total, "limit": limit, "offset": offset,
            "items": [asset_json(r, org, base) for r in rows[offset: offset + limit]]}


@post("/api/v1/assets", name="api:assets:create", opt=access.EDITORS, status_code=201)
async def api_create_asset(request: Req) -> Response[dict[str, Any]]:
    data = parse(AssetJson, await json_object(request))
    asset = await register_from_json(data, request.scope["user"])
    return Response(
        asset_json(asset.to_dict(), await organisation(), request.app.state.settings.base_url),
        status_code=201, headers={"Location": f"/api/v1/assets/{asset.code}"})


@get("/api/v1/assets/{code:str}", name="api:assets:detail", opt=access.READERS)
async def api_asset(request: Req, code: FromPath[str]) -> dict[str, Any]:
    asset = await views.visible_asset(request.scope["user"], code)
    base = request.app.state.settings.base_url
    page = await views.asset_page(asset, clock.today())
    return {
        **asset_json(asset.to_dict(), await organisation(), base),
        "category_name": categories.category_label(asset.category),
        "due": [due_json(i, base) for i in page.due],
        "inspections": [
            {
                "audit": h["id"],
                "checklist": h["checklist_key"],
                "version": h["checklist_version"],
                "status": h["status"],
                "score_percent": h["score_percent"],
                "passed": h["passed"],
                "submitted_at": h["submitted_at"].isoformat() if h["submitted_at"] else None,
            }
            for h in page.history
        ],
        "open_nonconformances": [
            {"id": n["id"], "ref": n["ref"], "title": n["title"], "severity": n["severity"],
             "state": n["state"]}
            for n in await open_ncs_of_asset(asset.id)
        ],
    }


@get("/api/v1/assets/{code:str}/qr.png", name="api:assets:qr:png", opt=access.READERS)
async def api_qr_png(request: Req, code: FromPath[str]) -> Response[bytes]:
    return qr_response(request, await views.visible_asset(request.scope["user"], code), "png",
                       False)


@get("/api/v1/assets/{code:str}/qr.svg", name="api:assets:qr:svg", opt=access.READERS)
async def api_qr_svg(request: Req, code: FromPath[str]) -> Response[bytes]:
    return qr_response(request, await views.visible_asset(request.scope["user"], code), "svg",
                       False)


@get("/api/v1/inspections/due", name="api:inspections:due", opt=access.DUE_READERS)
async def api_due(
    request: Req,
    assignee: FromQuery[str] = "",
    within_days: FromQuery[OptionalQueryInt] = None,
    overdue: FromQuery[bool] = False,
    site: FromQuery[str] = "",
    category: FromQuery[str] = "",
) -> dict[str, Any]:
    """Due inspections, most urgent first. Without `within_days` only what is due by today.

    `assignee`: "me" (default), a login or user id, or "all" (quality managers);
    a quality manager's default is "all".
    """
    today = clock.today()
    chosen = await due.due_for(request.scope["user"], assignee, today, within_days=within_days,
                               overdue=overdue, site=site, category=category)
    base = request.app.state.settings.base_url
    return {"today": today.isoformat(), "count": len(chosen),
            "items": [due_json(i, base) for i in chosen]}


ROUTES = [api_assets, api_create_asset, api_asset, api_qr_png, api_qr_svg, api_due]
