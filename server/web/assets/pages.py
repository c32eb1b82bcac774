"""Asset pages: the register, one asset (also at /a/{code}, where QR codes lead), the
form, import and export, QR images, and starting an inspection."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server.accounts.roles import Role
from server.assets import access, categories, importing, labels, qr, views
from server.assets.history import asset_history
from server.assets.register import (
    CODE_RE,
    AssetInput,
    create_asset,
    input_of,
    normalise_code,
    update_asset,
)
from server.assets.render import HELPERS
from server.assets.schemas import AssetForm, InspectForm
from server.assets.tables import Asset
from server.core import clock
from server.core.errors import Conflict, Forbidden, Invalid
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.directory.queries import locations_list
from server.findings.queries import open_ncs_of_asset
from server.flows.inspections import begin_inspection
from server.org.queries import organisation
from server.web.assets.qr_images import qr_response
from server.web.bodies import read_form
from server.web.params import QueryInt

Req = Request[Any, Any, Any]


def _input(form: AssetForm) -> AssetInput:
    return AssetInput(code=form.code, name=form.name, category=form.category, site=form.site,
                      location=form.location, org_unit=form.org_unit, project=form.project,
                      serial_number=form.serial_number, status=form.status or "in_service",
                      place=form.place)


async def _form_page(asset: Asset | None, data: AssetInput, problems: dict[str, str],
                     status: int = 200) -> Template:
    return Template("assets/form.html", status_code=status, context={
        **HELPERS, **await _choices(), "asset": asset, "data": data, "problems": problems})


async def _choices() -> dict[str, Any]:
    return {"org": await organisation(), "all_categories": await categories.known_categories(),
            "statuses": categories.STATUSES, "places": await locations_list(active="1")}


def _labels_context() -> dict[str, Any]:
    return {"layouts": labels.LAYOUTS, "default_layout": labels.DEFAULT_LAYOUT}


def _guard_edit(request: Req, org_unit: int | None, project: int | None) -> None:
    if not access.can_edit(request.scope["user"], org_unit, project):
        raise Forbidden(
            _("You can register and change assets only for your own department or projects."))


# --- the register ------------------------------------------------------------------


@get("/assets", name="assets:list", opt=access.READERS)
async def asset_list(
    request: Req,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    site: FromQuery[str] = "",
    status: FromQuery[str] = "",
    page: FromQuery[QueryInt] = 1,
) -> Template:
    user = request.scope["user"]
    query = views.ListQuery(q=q[:100], category=category, site=site, status=status,
                            page=max(page, 1))
    rows, total = await views.list_assets(user, query)
    return Template("assets/list.html", context={
        **HELPERS, **await _choices(), **_labels_context(),
        "assets": rows, "total": total, "query": query,
        "pages": max((total + views.PAGE_SIZE - 1) // views.PAGE_SIZE, 1),
        "sites": await views.sites(user),
        "can_add": user.has_any(Role.engineer, Role.quality_manager, Role.admin),
        "filter_qs": "&".join(f"{k}={quote(v)}" for k, v in (
            ("q", query.q), ("category", query.category), ("site", query.site),
            ("status", query.status)) if v),
    })


@get("/assets/new", name="assets:new", opt=access.EDITORS)
async def new_asset_page(request: Req) -> Template:
    data = AssetInput(code="", name="", category="", org_unit=request.scope["user"].org_unit_id)
    return await _form_page(None, data, {})


@post("/assets", name="assets:create", opt=access.EDITORS, status_code=200)
async def create_asset_submit(request: Req) -> Template | Redirect:
    data = _input(parse(AssetForm, await read_form(request)))
    _guard_edit(request, data.org_unit, data.project)
    try:
        asset = await create_asset(data, request.scope["user"])
    except (Invalid, Conflict) as exc:
        return await _form_page(None, data, exc.problems, 422)
    return Redirect(f"/assets/{quote(asset.code)}")


# --- one asset ---------------------------------------------------------------------


async def _detail(request: Req, code: str) -> Template:
    user = request.scope["user"]
    asset = await views.find_asset(normalise_code(code))
    if asset is None:
        return Template("assets/unknown.html", status_code=404,
                        context={**HELPERS, "code": normalise_code(code)[:60]})
    if not await access.sees(user, asset.to_dict()):
        raise Forbidden(_("This asset belongs to a department or project you are not part of."))
    page = await views.asset_page(asset, clock.today())
    return Template("assets/detail.html", context={
        **HELPERS, **_labels_context(),
        "page": page, "a": asset, "titles": page.titles, "today": clock.today(),
        "org": await organisation(),
        "open_ncs": await open_ncs_of_asset(asset.id),
        "qr_url": qr.asset_url(request.app.state.settings.base_url, asset.code),
        "can_edit": access.can_edit(user, asset.org_unit, asset.project),
        "can_plan": access.can_plan(user),
        "can_start": user.has_any(*access.STARTERS["roles"]),
        "history": await asset_history(asset.id),
    })


@get("/assets/{code:str}", name="assets:detail", opt=access.READERS)
async def asset_detail(request: Req, code: FromPath[str]) -> Template:
    return await _detail(request, code)


@get("/a/{code:str}", name="assets:scan-target", opt=access.READERS)
async def scan_target(request: Req, code: FromPath[str]) -> Template:
    """Where a label's QR code leads: the asset page (after login, then straight back)."""
    return await _detail(request, code)


@get("/assets/{code:str}/edit", name="assets:edit", opt=access.EDITORS)
async def edit_asset_page(request: Req, code: FromPath[str]) -> Template:
    asset = await views.visible_asset(request.scope["user"], code)
    _guard_edit(request, asset.org_unit, asset.project)
    return await _form_page(asset, input_of(asset), {})


@post("/assets/{code:str}/edit", name="assets:update", opt=access.EDITORS, status_code=200)
async def update_asset_submit(request: Req, code: FromPath[str]) -> Template | Redirect:
    asset = await views.visible_asset(request.scope["user"], code)
    _guard_edit(request, asset.org_unit, asset.project)
    form = parse(AssetForm, await read_form(request))
    data = _input(form)
    _guard_edit(request, data.org_unit, data.project)  # and not moved out of reach
    try:
        await update_asset(asset, data, request.scope["user"], form.reason)
    except (Invalid, Conflict) as exc:
        return await _form_page(asset, data, exc.problems, 422)
    return Redirect(f"/assets/{quote(asset.code)}")


@get("/assets/{code:str}/qr.png", name="assets:qr:png", opt=access.READERS)
async def qr_png(request: Req, code: FromPath[str], download: FromQuery[bool] = False
                 ) -> Response[bytes]:
    asset = await views.visible_asset(request.scope["user"], code)
    return qr_response(request, asset, "png", download)


@get("/assets/{code:str}/qr.svg", name="assets:qr:svg", opt=access.READERS)
async def qr_svg(request: Req, code: FromPath[str], download: FromQuery[bool] = False
                 ) -> Response[bytes]:
    asset = await views.visible_asset(request.scope["user"], code)
    return qr_response(request, asset, "svg", download)


@post("/assets/{code:str}/inspections", name="assets:inspect", opt=access.STARTERS,
      status_code=200)
async def start_inspection(request: Req, code: FromPath[str]) -> Redirect:
    asset = await views.visible_asset(request.scope["user"], code)
    form = parse(InspectForm, await read_form(request))
    audit_id, _started = await begin_inspection(asset, form.checklist, request.scope["user"])
    return Redirect(f"/audits/{audit_id}", status_code=303)


# --- scanning ----------------------------------------------------------------------


@get("/scan", name="assets:scan", opt=access.READERS)
async def scan_page(code: FromQuery[str] = "") -> Template | Redirect:
    """The camera scanner; with ?code= (typed by hand) straight to that asset."""
    typed = normalise_code(code)
    if typed and CODE_RE.match(typed):
        return Redirect(f"/a/{typed}")
    if typed:  # not even shaped like a code: say so here rather than follow it
        return Template("assets/unknown.html", status_code=404,
                        context={**HELPERS, "code": typed[:60]})
    return Template("assets/scan.html", context={**HELPERS})


# --- import and export -------------------------------------------------------------


async def _import_page(result: dict[str, Any] | None, status: int = 200) -> Template:
    return Template("assets/import.html", status_code=status, context={
        **HELPERS, "columns": importing.COLUMNS,
        "all_categories": await categories.known_categories(),
        "statuses": categories.STATUSES, "org": await organisation(), "result": result})


@get("/assets/import", name="assets:import", opt=access.EDITORS)
async def import_page() -> Template:
    return await _import_page(None)


@post("/assets/import", name="assets:import:submit", opt=access.EDITORS, status_code=200)
async def import_submit(request: Req) -> Template:
    upload = (await read_form(request)).get("file")
    if not isinstance(upload, UploadFile):
        problems, counts = [importing.Problem(1, "", _("Choose a CSV or XLSX file."))], None
    else:
        problems, counts = await importing.apply_import(
            request.scope["user"], upload.filename or "", await upload.read())
    return await _import_page({"problems": problems, "counts": counts},
                              422 if problems else 200)


@get("/assets/import/template.xlsx", name="assets:import:template", opt=access.EDITORS)
async def import_template() -> Response[bytes]:
    return Response(await importing.template(), headers={
        "Content-Disposition": 'attachment; filename="assets-template.xlsx"'},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


async def _export(request: Req, fmt: str, q: str, category: str, site: str, status: str
                  ) -> Response[bytes]:
    query = views.ListQuery(q=q[:100], category=category, site=site, status=status)
    body = await importing.export_file(request.scope["user"], query, fmt)
    media = ("text/csv; charset=utf-8" if fmt == "csv" else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="assets.{fmt}"'})


@get("/assets/export.csv", name="assets:export:csv", opt=access.READERS)
async def export_csv(request: Req, q: FromQuery[str] = "", category: FromQuery[str] = "",
                     site: FromQuery[str] = "", status: FromQuery[str] = "") -> Response[bytes]:
    return await _export(request, "csv", q, category, site, status)


@get("/assets/export.xlsx", name="assets:export:xlsx", opt=access.READERS)
async def export_xlsx(request: Req, q: FromQuery[str] = "", category: FromQuery[str] = "",
                      site: FromQuery[str] = "", status: FromQuery[str] = "") -> Response[bytes]:
    return await _export(request, "xlsx", q, category, site, status)


ROUTES = [
    asset_list, new_asset_page, create_asset_submit, import_page, import_submit, import_template,
    export_csv, export_xlsx, asset_detail, scan_target, edit_asset_page, update_asset_submit,
    qr_png, qr_svg, start_inspection, scan_page,
]
