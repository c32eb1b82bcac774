"""The assets JSON API (bearer tokens): the register, QR images, label sheets and the
due list."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import FromPath, FromQuery

from server import clock
from server.accounts.identity import load_user
from server.accounts.tables import User
from server.assets import access, categories, due, labels, qr, views
from server.assets.pages import labels_pdf, lookups, qr_response, visible_asset
from server.assets.plan_routes import clamp_days, person_of
from server.assets.register import AssetError, AssetInput, create_asset
from server.assets.tables import Asset
from server.i18n import gettext as _

Req = Request[Any, Any, Any]


def invalid(message: str, extra: dict[str, Any] | None = None) -> ValidationException:
    """A 422 whose details (which fields are missing or wrong) reach the JSON error."""
    return ValidationException(message, status_code=422, extra=extra)


MAX_LIMIT = 500
TEXT_FIELDS = ("code", "name", "category", "site", "location", "serial_number", "status")


def asset_json(row: dict[str, Any], org: views.Organisation, base_url: str) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "category": row["category"],
        "site": row["site"],
        "location": row["location"],
        "department": org.unit_code(row["org_unit"]) or None,
        "project": org.project_code(row["project"]) or None,
        "serial_number": row["serial_number"],
        "status": row["status"],
        "qr_url": qr.asset_url(base_url, row["code"]),
    }


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
        "assignee": {
            "user": who.user_id,
            "org_unit": who.org_unit_id,
            "project": who.project_id,
        },
        "url": qr.asset_url(base_url, item.asset.code),
    }


@get("/api/v1/assets", name="api:assets:list", opt=access.READERS)
async def api_assets(
    request: Req,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    site: FromQuery[str] = "",
    status: FromQuery[str] = "",
    limit: FromQuery[int] = 100,
    offset: FromQuery[int] = 0,
) -> dict[str, Any]:
    """Assets the token's user sees, by code; `limit` up to 500."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise invalid(
            _("Some values are not valid"),
            extra={"invalid": ["limit" if not 1 <= limit <= MAX_LIMIT else "offset"]},
        )
    query = views.ListQuery(q=q[:100], category=category, site=site, status=status)
    select_limit = limit + offset
    rows, total = await views.list_assets(request.scope["user"], query, limit=select_limit)
    org = await views.organisation()
    base = request.app.state.settings.base_url
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [asset_json(r, org, base) for r in rows[offset : offset + limit]],
    }


async def _json_body(request: Req) -> dict[str, Any]:
    try:
        body = await request.json()
    except Exception:  # any parse failure is the client's
        raise ClientException(_("The body must be a JSON object."), status_code=400) from None
    if not isinstance(body, dict):
        raise ClientException(_("The body must be a JSON object."), status_code=400)
    return body


@post("/api/v1/assets", name="api:assets:create", opt=access.EDITORS, status_code=201)
async def api_create_asset(request: Req) -> Response[dict[str, Any]]:
    body = await _json_body(request)
    missing = [f for f in ("code", "name", "category") if not str(body.get(f) or "").strip()]
    wrong_type = [
        f for f in TEXT_FIELDS if f in body and body[f] is not None and not isinstance(body[f], str)
    ]
    if missing or wrong_type:
        raise invalid(
            _("Some values are not valid"), extra={"missing": missing, "invalid": wrong_type}
        )
    known = await lookups()
    problems: dict[str, str] = {}
    unit = project = None
    if body.get("department"):
        unit = known.org_units.get(str(body["department"]).strip().lower())
        if unit is None:
            problems["department"] = _("Unknown department.")
    if body.get("project"):
        project = known.projects.get(str(body["project"]).strip().lower())
        if project is None:
            problems["project"] = _("Unknown project.")
    if problems:
        raise invalid(_("Some values are not valid"), extra={"problems": problems})
    user = request.scope["user"]
    if not access.can_edit(user, unit, project):
        raise PermissionDeniedException(
            _("You can register assets only for your own department or projects.")
        )
    data = AssetInput(
        code=str(body["code"]),
        name=str(body["name"]),
        category=str(body["category"]),
        site=str(body.get("site") or ""),
        location=str(body.get("location") or ""),
        org_unit=unit,
        project=project,
        serial_number=str(body.get("serial_number") or ""),
        status=str(body.get("status") or "in_service"),
    )
    try:
        asset = await create_asset(data, known.categories, user)
    except AssetError as exc:
        if exc.problems.get("code") == _("This code is taken."):
            raise HTTPException(
                status_code=409, detail=_("An asset with this code exists already.")
            ) from None
        raise invalid(_("Some values are not valid"), extra={"problems": exc.problems}) from None
    org = await views.organisation()
    row = await Asset.select().where(Asset.id == asset.id).first()
    assert row is not None
    return Response(
        asset_json(row, org, request.app.state.settings.base_url),
        status_code=201,
        headers={"Location": f"/api/v1/assets/{asset.code}"},
    )


@get("/api/v1/assets/{code:str}", name="api:assets:detail", opt=access.READERS)
async def api_asset(request: Req, code: FromPath[str]) -> dict[str, Any]:
    asset = await visible_asset(request, code)
    base = request.app.state.settings.base_url
    page = await views.asset_page(asset, clock.today())
    row = await Asset.select().where(Asset.id == asset.id).first()
    assert row is not None
    return {
        **asset_json(row, await views.organisation(), base),
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
            {
                "id": n["id"],
                "ref": n["ref"],
                "title": n["title"],
                "severity": n["severity"],
                "state": n["state"],
            }
            for n in page.open_ncs
        ],
    }


@get("/api/v1/assets/{code:str}/qr.png", name="api:assets:qr:png", opt=access.READERS)
async def api_qr_png(request: Req, code: FromPath[str]) -> Response[bytes]:
    return qr_response(request, await visible_asset(request, code), "png", False)


@get("/api/v1/assets/{code:str}/qr.svg", name="api:assets:qr:svg", opt=access.READERS)
async def api_qr_svg(request: Req, code: FromPath[str]) -> Response[bytes]:
    return qr_response(request, await visible_asset(request, code), "svg", False)


@post("/api/v1/assets/labels.pdf", name="api:assets:labels", opt=access.READERS, status_code=200)
async def api_labels(request: Req) -> Response[bytes]:
    """{"codes": [...], "layout": "l7160", "skip": 0} -> an A4 label sheet PDF."""
    body = await _json_body(request)
    codes = body.get("codes")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or not codes:
        raise invalid(
            _("Some values are not valid"),
            extra={"missing" if not codes else "invalid": ["codes"]},
        )
    layout = body.get("layout") or labels.DEFAULT_LAYOUT
    skip = body.get("skip") or 0
    if not isinstance(layout, str) or not isinstance(skip, int) or isinstance(skip, bool):
        raise invalid(
            _("Some values are not valid"),
            extra={
                "invalid": [
                    n
                    for n, ok in (
                        ("layout", isinstance(layout, str)),
                        ("skip", isinstance(skip, int)),
                    )
                    if not ok
                ]
            },
        )
    return await labels_pdf(request, request.scope["user"], codes, layout, skip)


async def _person_for(request: Req, assignee: str) -> Any:
    """The person whose due list is asked for: "me" (default), a login or a user id."""
    me = request.scope["user"]
    if assignee in ("", "me"):
        return person_of(me)
    if assignee == "all":
        if not access.can_plan(me):
            raise PermissionDeniedException(_("Only quality managers see everyone's list."))
        return None
    row = (
        await User.select(User.id)
        .where(
            (User.login == assignee.lower())
            | (User.id == (int(assignee) if assignee.isdigit() else -1))
        )
        .first()
    )
    if row is None:
        raise NotFoundException(_("No such user."))
    if row["id"] != me.id and not access.can_plan(me):
        raise PermissionDeniedException(_("Only quality managers see other people's lists."))
    other = await load_user(row["id"])
    if other is None:
        raise NotFoundException(_("No such user."))
    return person_of(other)


@get("/api/v1/inspections/due", name="api:inspections:due", opt=access.DUE_READERS)
async def api_due(
    request: Req,
    assignee: FromQuery[str] = "",
    within_days: FromQuery[int | None] = None,
    overdue: FromQuery[bool] = False,
    site: FromQuery[str] = "",
    category: FromQuery[str] = "",
) -> dict[str, Any]:
    """Due inspections, most urgent first. Without `within_days` only what is due by today.

    `assignee`: "me" (default), a login or user id, or "all" (quality managers);
    a quality manager's default is "all".
    """
    me = request.scope["user"]
    if within_days is not None and not 0 <= within_days <= 366:
        raise invalid(_("Some values are not valid"), extra={"invalid": ["within_days"]})
    if not assignee and access.can_plan(me):
        assignee = "all"
    person = await _person_for(request, assignee)
    today = clock.today()
    items = await due.load_due(today)
    if site:
        items = [i for i in items if i.asset.site == site]
    if category:
        items = [i for i in items if i.asset.category == category]
    chosen = due.filter_due(
        items, today, person=person, within_days=clamp_days(within_days), overdue_only=overdue
    )
    base = request.app.state.settings.base_url
    return {
        "today": today.isoformat(),
        "count": len(chosen),
        "items": [due_json(i, base) for i in chosen],
    }


ROUTES = [
    api_assets,
    api_create_asset,
    api_labels,
    api_asset,
    api_qr_png,
    api_qr_svg,
    api_due,
]
