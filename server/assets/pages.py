"""Asset pages: the register, one asset (also at /a/{code}, where QR codes lead), the
form, import and export, QR images, label sheets, and starting an inspection."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server import clock
from server.accounts.roles import Role, allow
from server.assets import access, categories, importing, labels, qr, views
from server.assets.register import (
    CODE_RE,
    AssetError,
    AssetInput,
    create_asset,
    input_of,
    normalise_code,
    update_asset,
)
from server.assets.render import HELPERS
from server.assets.tables import Asset
from server.audits.service import AuditError, start_audit
from server.changelog import record
from server.changelog.record import history
from server.checklists import store
from server.db.engine import write_transaction
from server.i18n import gettext as _

Req = Request[Any, Any, Any]
STARTERS = allow(Role.engineer, Role.quality_manager, Role.auditor, Role.admin)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _form_input(form: FormMultiDict) -> AssetInput:
    return AssetInput(
        code=str(form.get("code", "")),
        name=str(form.get("name", "")),
        category=str(form.get("category", "")),
        site=str(form.get("site", "")),
        location=str(form.get("location", "")),
        org_unit=_int(form.get("org_unit")),
        project=_int(form.get("project")),
        serial_number=str(form.get("serial_number", "")),
        status=str(form.get("status", "in_service")),
    )


async def _choices() -> dict[str, Any]:
    org = await views.organisation()
    return {
        "org": org,
        "all_categories": await categories.known_categories(),
        "statuses": categories.STATUSES,
    }


def _labels_context() -> dict[str, Any]:
    return {"layouts": labels.LAYOUTS, "default_layout": labels.DEFAULT_LAYOUT}


async def visible_asset(request: Req, code: str) -> Asset:
    """The asset with this code if the user may see it; 404 otherwise."""
    asset = await views.find_asset(normalise_code(code))
    user = request.scope["user"]
    if asset is None or not await access.sees(user, asset.to_dict()):
        raise NotFoundException(_("No asset with this code."))
    return asset


def _guard_edit(request: Req, org_unit: int | None, project: int | None) -> None:
    if not access.can_edit(request.scope["user"], org_unit, project):
        raise PermissionDeniedException(
            _("You can register and change assets only for your own department or projects.")
        )


# --- the register ------------------------------------------------------------------


@get("/assets", name="assets:list", opt=access.READERS)
async def asset_list(
    request: Req,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    site: FromQuery[str] = "",
    status: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    user = request.scope["user"]
    query = views.ListQuery(
        q=q[:100], category=category, site=site, status=status, page=max(page, 1)
    )
    rows, total = await views.list_assets(user, query)
    pages = max((total + views.PAGE_SIZE - 1) // views.PAGE_SIZE, 1)
    return Template(
        "assets/list.html",
        context={
            **HELPERS,
            **await _choices(),
            **_labels_context(),
            "assets": rows,
            "total": total,
            "query": query,
            "pages": pages,
            "sites": await views.sites(user),
            "can_add": user.has_any(Role.engineer, Role.quality_manager, Role.admin),
            "filter_qs": _filter_qs(query),
        },
    )


def _filter_qs(query: views.ListQuery) -> str:
    parts = [
        f"{k}={quote(v)}"
        for k, v in (
            ("q", query.q),
            ("category", query.category),
            ("site", query.site),
            ("status", query.status),
        )
        if v
    ]
    return "&".join(parts)


@get("/assets/new", name="assets:new", opt=access.EDITORS)
async def new_asset_page(request: Req) -> Template:
    user = request.scope["user"]
    data = AssetInput(code="", name="", category="", org_unit=user.org_unit_id)
    return Template(
        "assets/form.html",
        context={**HELPERS, **await _choices(), "asset": None, "data": data, "problems": {}},
    )


@post("/assets", name="assets:create", opt=access.EDITORS, status_code=200)
async def create_asset_submit(request: Req) -> Template | Redirect:
    form = await request.form()
    data = _form_input(form)
    _guard_edit(request, data.org_unit, data.project)
    choices = await _choices()
    try:
        asset = await create_asset(data, choices["all_categories"], request.scope["user"])
    except AssetError as exc:
        return Template(
            "assets/form.html",
            status_code=422,
            context={**HELPERS, **choices, "asset": None, "data": data, "problems": exc.problems},
        )
    return Redirect(f"/assets/{quote(asset.code)}")


# --- one asset ---------------------------------------------------------------------


async def _detail(request: Req, code: str) -> Template:
    user = request.scope["user"]
    asset = await views.find_asset(normalise_code(code))
    if asset is None:
        return Template(
            "assets/unknown.html",
            status_code=404,
            context={**HELPERS, "code": normalise_code(code)[:60]},
        )
    if not await access.sees(user, asset.to_dict()):
        raise PermissionDeniedException(
            _("This asset belongs to a department or project you are not part of.")
        )
    page = await views.asset_page(asset, clock.today())
    return Template(
        "assets/detail.html",
        context={
            **HELPERS,
            **_labels_context(),
            "page": page,
            "a": asset,
            "titles": page.titles,
            "today": clock.today(),
            "org": await views.organisation(),
            "qr_url": qr.asset_url(request.app.state.settings.base_url, asset.code),
            "can_edit": access.can_edit(user, asset.org_unit, asset.project),
            "can_plan": access.can_plan(user),
            "can_start": user.has_any(*STARTERS["roles"]),
            "history": await history("asset", asset.id),
        },
    )


@get("/assets/{code:str}", name="assets:detail", opt=access.READERS)
async def asset_detail(request: Req, code: FromPath[str]) -> Template:
    return await _detail(request, code)


@get("/a/{code:str}", name="assets:scan-target", opt=access.READERS)
async def scan_target(request: Req, code: FromPath[str]) -> Template:
    """Where a label's QR code leads: the asset page (after login, then straight back)."""
    return await _detail(request, code)


@get("/assets/{code:str}/edit", name="assets:edit", opt=access.EDITORS)
async def edit_asset_page(request: Req, code: FromPath[str]) -> Template:
    asset = await visible_asset(request, code)
    _guard_edit(request, asset.org_unit, asset.project)
    return Template(
        "assets/form.html",
        context={
            **HELPERS,
            **await _choices(),
            "asset": asset,
            "data": input_of(asset),
            "problems": {},
        },
    )


@post("/assets/{code:str}/edit", name="assets:update", opt=access.EDITORS, status_code=200)
async def update_asset_submit(request: Req, code: FromPath[str]) -> Template | Redirect:
    asset = await visible_asset(request, code)
    _guard_edit(request, asset.org_unit, asset.project)
    form = await request.form()
    data = _form_input(form)
    _guard_edit(request, data.org_unit, data.project)  # and not moved out of reach
    choices = await _choices()
    try:
        await update_asset(
            asset,
            data,
            choices["all_categories"],
            request.scope["user"],
            str(form.get("reason", ""))[:500],
        )
    except AssetError as exc:
        return Template(
            "assets/form.html",
            status_code=422,
            context={**HELPERS, **choices, "asset": asset, "data": data, "problems": exc.problems},
        )
    return Redirect(f"/assets/{quote(asset.code)}")


def qr_response(request: Req, asset: Asset, kind: str, download: bool) -> Response[bytes]:
    url = qr.asset_url(request.app.state.settings.base_url, asset.code)
    if kind == "png":
        body, media = qr.png(url), "image/png"
    else:
        body, media = qr.svg(url, title=asset.code).encode("utf-8"), "image/svg+xml"
    headers = {"Cache-Control": "private, max-age=3600"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="qr-{asset.code}.{kind}"'
    return Response(body, media_type=media, headers=headers)


@get("/assets/{code:str}/qr.png", name="assets:qr:png", opt=access.READERS)
async def qr_png(
    request: Req, code: FromPath[str], download: FromQuery[bool] = False
) -> Response[bytes]:
    return qr_response(request, await visible_asset(request, code), "png", download)


@get("/assets/{code:str}/qr.svg", name="assets:qr:svg", opt=access.READERS)
async def qr_svg(
    request: Req, code: FromPath[str], download: FromQuery[bool] = False
) -> Response[bytes]:
    return qr_response(request, await visible_asset(request, code), "svg", download)


async def _matching_checklist(asset: Asset, key: str) -> store.Summary | None:
    groups = await categories.checklists_by_category()
    return next((s for s in groups.get(asset.category, []) if s.key == key), None)


async def begin_inspection(asset: Asset, key: str, actor: Any) -> tuple[int, bool]:
    """Start (or resume) an inspection of the asset: (audit id, newly started)."""
    async with write_transaction():
        running = await views.open_run(asset.id, key)
        if running is not None:
            return running, False
        audit = await start_audit(
            key,
            actor,
            asset=asset.id,
            org_unit=asset.org_unit,
            project=asset.project,
            title=f"{asset.code} {asset.name}",
        )
    return audit.id, True


@post("/assets/{code:str}/inspections", name="assets:inspect", opt=STARTERS, status_code=200)
async def start_inspection(request: Req, code: FromPath[str]) -> Redirect:
    asset = await visible_asset(request, code)
    form = await request.form()
    key = str(form.get("checklist", ""))
    if asset.status != "in_service":
        raise ClientException(_("Only assets in service are inspected."), status_code=409)
    if await _matching_checklist(asset, key) is None:
        raise ClientException(_("This checklist does not apply to this asset."), status_code=422)
    try:
        audit_id, _started = await begin_inspection(asset, key, request.scope["user"])
    except AuditError as exc:
        raise ClientException(exc.message, status_code=exc.status) from None
    return Redirect(f"/audits/{audit_id}", status_code=303)


# --- scanning ----------------------------------------------------------------------


@get("/scan", name="assets:scan", opt=access.READERS)
async def scan_page(code: FromQuery[str] = "") -> Template | Redirect:
    """The camera scanner; with ?code= (typed by hand) straight to that asset."""
    typed = normalise_code(code)
    if typed and CODE_RE.match(typed):
        return Redirect(f"/a/{typed}")
    if typed:  # not even shaped like a code: say so here rather than follow it
        return Template(
            "assets/unknown.html", status_code=404, context={**HELPERS, "code": typed[:60]}
        )
    return Template(
        "assets/scan.html",
        context={
            **HELPERS,
        },
    )


# --- import and export -------------------------------------------------------------


@get("/assets/import", name="assets:import", opt=access.EDITORS)
async def import_page() -> Template:
    return Template(
        "assets/import.html", context={**HELPERS, **await _import_help(), "result": None}
    )


async def _import_help() -> dict[str, Any]:
    org = await views.organisation()
    return {
        "columns": importing.COLUMNS,
        "all_categories": await categories.known_categories(),
        "statuses": categories.STATUSES,
        "org": org,
    }


async def lookups() -> importing.Lookups:
    org = await views.organisation()
    return importing.Lookups(
        categories=await categories.known_categories(),
        org_units=importing.Lookups.keyed(org.units.values()),
        projects=importing.Lookups.keyed(org.projects.values()),
    )


async def apply_import(
    user: Any, filename: str, data: bytes
) -> tuple[list[importing.Problem], dict[str, int]]:
    """Check a file and, only when it has no problem, write every row in one transaction."""
    parsed = importing.read_file(filename, data)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    if parsed.problems:
        return parsed.problems, counts
    checked = importing.check_rows(
        parsed.rows, await lookups(), lambda unit, project: access.can_edit(user, unit, project)
    )
    if checked.problems:
        return checked.problems, counts
    codes = [data.code for _row, data in checked.assets]
    async with write_transaction():
        existing = (
            {a.code: a for a in await Asset.objects().where(Asset.code.is_in(codes))}
            if codes
            else {}
        )
        problems = [
            importing.Problem(
                number,
                "department",
                _("You can change assets only of your own department or projects."),
            )
            for number, item in checked.assets
            if item.code in existing
            and not access.can_edit(user, existing[item.code].org_unit, existing[item.code].project)
        ]
        if problems:
            return problems, counts
        given = parsed.fields()
        for _number, item in checked.assets:
            current = existing.get(item.code)
            if current is None:
                await record.create(Asset(**item.values()), user, "import")
                counts["created"] += 1
            elif await record.update(
                current, user, {k: v for k, v in item.values().items() if k in given}, "import"
            ):
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    return [], counts


@post("/assets/import", name="assets:import:submit", opt=access.EDITORS, status_code=200)
async def import_submit(request: Req) -> Template:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        problems = [importing.Problem(1, "", _("Choose a CSV or XLSX file."))]
        counts = None
    else:
        problems, counts = await apply_import(
            request.scope["user"], upload.filename or "", await upload.read()
        )
    return Template(
        "assets/import.html",
        status_code=422 if problems else 200,
        context={
            **HELPERS,
            **await _import_help(),
            "result": {"problems": problems, "counts": counts},
        },
    )


async def export_table(user: Any, query: views.ListQuery) -> list[list[str]]:
    rows, _total = await views.list_assets(user, query, limit=None)
    org = await views.organisation()
    return importing.export_rows(
        rows,
        {i: u["code"] for i, u in org.units.items()},
        {i: p["code"] for i, p in org.projects.items()},
    )


async def export_assets(
    request: Req, fmt: str, q: str, category: str, site: str, status: str
) -> Response[bytes]:
    query = views.ListQuery(q=q[:100], category=category, site=site, status=status)
    table = await export_table(request.scope["user"], query)
    if fmt == "csv":
        body, media = importing.to_csv(table), "text/csv; charset=utf-8"
    else:
        body = importing.to_xlsx(table)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="assets.{fmt}"'},
    )


@get("/assets/export.csv", name="assets:export:csv", opt=access.READERS)
async def export_csv(
    request: Req,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    site: FromQuery[str] = "",
    status: FromQuery[str] = "",
) -> Response[bytes]:
    return await export_assets(request, "csv", q, category, site, status)


@get("/assets/export.xlsx", name="assets:export:xlsx", opt=access.READERS)
async def export_xlsx(
    request: Req,
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    site: FromQuery[str] = "",
    status: FromQuery[str] = "",
) -> Response[bytes]:
    return await export_assets(request, "xlsx", q, category, site, status)


# --- label sheets ------------------------------------------------------------------


def refusal(request: Req, message: str, **details: Any) -> HTTPException:
    """A 422: with its details for the API, with the message on a page."""
    if request.url.path.startswith("/api/"):
        return ValidationException(message, status_code=422, extra=details or None)
    return ClientException(message, status_code=422)


async def labels_pdf(
    request: Req, user: Any, codes: list[str], layout: str, skip: int
) -> Response[bytes]:
    """The label PDF for these codes (in this order); unknown or hidden codes are a 422."""
    from server.reports.pdf import render_pdf_async

    wanted = list(dict.fromkeys(normalise_code(c) for c in codes if normalise_code(c)))
    if not wanted:
        raise refusal(request, _("Choose at least one asset."), missing=["codes"])
    if len(wanted) > labels.MAX_LABELS:
        raise ClientException(
            _("At most %(n)s labels at a time.", n=labels.MAX_LABELS), status_code=413
        )
    if layout not in labels.LAYOUTS:
        raise refusal(request, _("Unknown label layout."), layouts=list(labels.LAYOUTS))
    query = Asset.select(
        Asset.id, Asset.code, Asset.name, Asset.site, Asset.location, Asset.category
    ).where(Asset.code.is_in(wanted))
    visible = await access.visible_filter(user)
    if visible is not None:
        query = query.where(visible)
    found = {r["code"]: r for r in await query}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise refusal(
            request,
            _("Unknown asset codes: %(codes)s", codes=", ".join(unknown[:20])),
            unknown=unknown,
        )
    context = labels.label_context(
        [found[c] for c in wanted], request.app.state.settings.base_url, layout, skip
    )
    pdf = await render_pdf_async(
        "assets/labels_pdf.html", context, data_dir=request.app.state.settings.data_dir
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="labels.pdf"'},
    )


@post("/assets/labels.pdf", name="assets:labels", opt=access.READERS, status_code=200)
async def labels_submit(request: Req) -> Response[bytes]:
    form = await request.form()
    user = request.scope["user"]
    codes = [str(c) for c in form.getall("codes")] if "codes" in form else []
    if form.get("all") == "1":
        query = views.ListQuery(
            q=str(form.get("q", ""))[:100],
            category=str(form.get("category", "")),
            site=str(form.get("site", "")),
            status=str(form.get("status", "")),
        )
        rows, _total = await views.list_assets(user, query, limit=labels.MAX_LABELS + 1)
        codes = [r["code"] for r in rows]
    return await labels_pdf(
        request,
        user,
        codes,
        str(form.get("layout", labels.DEFAULT_LAYOUT)),
        _int(form.get("skip")) or 0,
    )


ROUTES = [
    asset_list,
    new_asset_page,
    create_asset_submit,
    import_page,
    import_submit,
    export_csv,
    export_xlsx,
    labels_submit,
    asset_detail,
    scan_target,
    edit_asset_page,
    update_asset_submit,
    qr_png,
    qr_svg,
    start_inspection,
    scan_page,
]
