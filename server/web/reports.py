"""PDFs: a run's report, an NC's rectification notice, and QR label sheets."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template

from server.accounts.roles import ANY_USER, Role, allow
from server.assets import access as asset_access
from server.assets import labels
from server.assets.schemas import LabelForm, LabelRequest
from server.assets.views import ListQuery
from server.core.errors import DomainError
from server.core.i18n import current_language
from server.core.inputs import parse
from server.flows.runs import visible_run
from server.reports import letterhead
from server.reports.audit_report import audit_report_pdf
from server.reports.label_sheets import label_sheet_pdf
from server.reports.notice import notice_pdf
from server.web.bodies import json_object, read_form

Req = Request[Any, Any, Any]


def _pdf(body: bytes, filename: str | None = None) -> Response[bytes]:
    disposition = f'inline; filename="{filename}"' if filename else "inline"
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": disposition})


async def _report(request: Req, audit_id: int) -> bytes:
    await visible_run(request.scope["user"], audit_id)
    return await audit_report_pdf(audit_id, lang=current_language.get(),
                                  data_dir=request.app.state.settings.data_dir)


@get("/audits/{audit_id:int}/report.pdf", name="audits:report", opt=ANY_USER)
async def report_pdf(request: Req, audit_id: FromPath[int]) -> Response[bytes]:
    return _pdf(await _report(request, audit_id), f"audit-{audit_id}.pdf")


@get("/api/v1/audits/{audit_id:int}/report.pdf", name="api:audits:report", opt=ANY_USER)
async def api_report_pdf(request: Req, audit_id: FromPath[int]) -> Response[bytes]:
    return Response(await _report(request, audit_id), media_type="application/pdf")


async def _notice(request: Req, nc_id: int) -> Response[bytes]:
    ref, body = await notice_pdf(
        nc_id, request.scope["user"], data_dir=request.app.state.settings.data_dir,
        lang=request.query_params.get("lang") or current_language.get())
    return _pdf(body, f"{ref}.pdf")


@get("/nonconformances/{nc_id:int}/notice.pdf", name="findings:notice", opt=ANY_USER)
async def notice(request: Req, nc_id: FromPath[int]) -> Response[bytes]:
    return await _notice(request, nc_id)


@get("/api/v1/nonconformances/{nc_id:int}/notice.pdf", name="api:findings:notice",
     opt=ANY_USER)
async def api_notice(request: Req, nc_id: FromPath[int]) -> Response[bytes]:
    return await _notice(request, nc_id)


@post("/assets/labels.pdf", name="assets:labels", opt=asset_access.READERS, status_code=200)
async def labels_submit(request: Req) -> Response[bytes]:
    form = parse(LabelForm, await read_form(request))
    every = ListQuery(q=form.q[:100], category=form.category, site=form.site,
                      status=form.status) if form.all else None
    return _pdf(await label_sheet_pdf(
        request.scope["user"], form.codes, form.layout or labels.DEFAULT_LAYOUT, form.skip or 0,
        base_url=request.app.state.settings.base_url,
        data_dir=request.app.state.settings.data_dir, every_asset_of=every), "labels.pdf")


@post("/api/v1/assets/labels.pdf", name="api:assets:labels", opt=asset_access.READERS,
      status_code=200)
async def api_labels(request: Req) -> Response[bytes]:
    """{"codes": [...], "layout": "l7160", "skip": 0} -> an A4 label sheet PDF."""
    data = parse(LabelRequest, await json_object(request))
    return _pdf(await label_sheet_pdf(
        request.scope["user"], data.codes, data.layout or labels.DEFAULT_LAYOUT, data.skip,
        base_url=request.app.state.settings.base_url,
        data_dir=request.app.state.settings.data_dir), "labels.pdf")


# --- the letterhead of controlled records (the admin's) ------------------------------

ADMIN = allow(Role.admin)


async def _letterhead_page(data: dict[str, Any], problems: dict[str, str], *, saved: bool,
                           status: int = 200) -> Template:
    return Template("reports/letterhead.html", status_code=status, context={
        "data": data, "problems": problems, "saved": saved,
        "records": letterhead.record_names(), "history": await letterhead.letterhead_history()})


def _shown(head: letterhead.Letterhead) -> dict[str, Any]:
    return {"org_name": head.org_name, "logo_url": head.logo_url,
            **{f"form_{k}": head.form_number(k) for k in letterhead.RECORDS}}


@get("/admin/letterhead", name="reports:letterhead", opt=ADMIN)
async def letterhead_page() -> Template:
    return await _letterhead_page(_shown(await letterhead.load()), {}, saved=False)


@post("/admin/letterhead", name="reports:letterhead:save", opt=ADMIN, status_code=200)
async def letterhead_save(request: Req) -> Template:
    form = await read_form(request)
    upload = form.get("logo")
    logo = await upload.read() if isinstance(upload, UploadFile) else b""
    numbers = {k: form.get(f"form_{k}", "") for k in letterhead.RECORDS}
    try:
        head = await letterhead.save(form.get("org_name", ""), numbers, logo or None,
                                     form.get("remove_logo") == "on", request.scope["user"],
                                     str(form.get("reason", ""))[:500])
    except DomainError as exc:
        typed = {"org_name": str(form.get("org_name", "")),
                 "logo_url": (await letterhead.load()).logo_url,
                 **{f"form_{k}": str(v) for k, v in numbers.items()}}
        problems = exc.problems or {"logo": exc.message}
        return await _letterhead_page(typed, problems, saved=False, status=exc.status)
    return await _letterhead_page(_shown(head), {}, saved=True)


ROUTES: list[Any] = [report_pdf, api_report_pdf, notice, api_notice, labels_submit, api_labels,
                     letterhead_page, letterhead_save]
