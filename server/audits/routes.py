"""Pages of one audit run: the form (htmx autosave), photos, submit and sign, result."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from server.accounts.passwords import verify_password
from server.accounts.roles import ANY_USER, Role, allow
from server.accounts.tables import User
from server.audits import access, service
from server.audits.programme_routes import ROUTES as PROGRAMME_ROUTES
from server.audits.service import AuditError
from server.audits.tables import Photo
from server.audits.views import RunView, load_run
from server.evidence import storage
from server.findings.tables import Nonconformance
from server.i18n import current_language
from server.i18n import gettext as _

Req = Request[Any, Any, Any]
RUNNERS = allow(Role.auditor, Role.engineer, Role.quality_manager, Role.admin)


async def owns_nc_of(user: Any, audit_id: int) -> bool:
    return bool(await Nonconformance.exists().where(
        (Nonconformance.audit == audit_id) & (Nonconformance.owner == user.id)))


async def viewable(request: Req, audit_id: int) -> dict[str, Any]:
    """The audit's access columns if the current user may see it (404 otherwise, to not
    leak ids)."""
    user = request.scope["user"]
    try:
        audit = await service.access_row(audit_id)
    except service.NotFound:
        raise NotFoundException(_("No audit with this number.")) from None
    if not access.can_view(user, audit) and not (
        access.can_view(user, audit, True) and await owns_nc_of(user, audit_id)
    ):
        raise NotFoundException(_("No audit with this number."))
    return audit


async def editable(request: Req, audit_id: int) -> dict[str, Any]:
    audit = await viewable(request, audit_id)
    if not access.can_edit(request.scope["user"], audit):
        raise PermissionDeniedException(_("Only the lead auditor can change this audit."))
    return audit


def _context(run: RunView, request: Req, **extra: Any) -> dict[str, Any]:
    user = request.scope["user"]
    return {"run": run, "c": run.checklist, "audit": run.audit,
            "can_edit": run.editable and access.can_edit(user, run.audit),
            "error": None, "saved": False, "conflict": None, "mine": None, **extra}


@get("/audits/{audit_id:int}", name="audits:run", opt=ANY_USER)
async def run_page(request: Req, audit_id: FromPath[int]) -> Template:
    await viewable(request, audit_id)
    run = await load_run(audit_id, current_language.get())
    if run.editable and access.can_edit(request.scope["user"], run.audit):
        return Template("audits/form.html", context=_context(
            run, request, eager_sections=eager_sections(run)))
    from server.changelog.record import history

    ncs = await Nonconformance.select(
        Nonconformance.id, Nonconformance.ref, Nonconformance.title, Nonconformance.severity,
        Nonconformance.state,
    ).where(Nonconformance.audit == audit_id).order_by(Nonconformance.id)
    return Template("audits/result.html", context=_context(
        run, request, ncs=ncs, history=await history("audit", audit_id)))


EAGER_ITEMS = 100


def eager_sections(run: RunView) -> set[str]:
    """Sections rendered with the page: all of a normal checklist; the first hundred
    or so items of a very long one (the rest load as they scroll into view)."""
    chosen: set[str] = set()
    count = 0
    for section in run.checklist.sections:
        if chosen and count + len(section.items) > EAGER_ITEMS:
            break
        chosen.add(section.id)
        count += len(section.items)
    return chosen if count < len(run.checklist.items()) else {
        s.id for s in run.checklist.sections}


@get("/audits/{audit_id:int}/sections/{section_id:str}", name="audits:section", opt=ANY_USER)
async def section_partial(request: Req, audit_id: FromPath[int],
                          section_id: FromPath[str]) -> Template:
    await viewable(request, audit_id)
    run = await load_run(audit_id, current_language.get())
    section = next((s for s in run.checklist.sections if s.id == section_id), None)
    if section is None:
        raise NotFoundException(_("No such section."))
    return Template("audits/partials/section.html", context=_context(run, request,
                                                                      section=section))


async def _item_response(request: Req, audit_id: int, item_id: str, status: int = 200,
                         **extra: Any) -> Template:
    """The re-rendered item, with the progress bar out of band."""
    run = await load_run(audit_id, current_language.get(), item_id=item_id)
    item = run.checklist.item(item_id)
    return Template("audits/partials/item_saved.html", status_code=status,
                    context=_context(run, request, item=item, **extra))


@post("/audits/{audit_id:int}/answers/{item_id:str}", name="audits:answer", opt=RUNNERS)
async def save_answer(request: Req, audit_id: FromPath[int], item_id: FromPath[str]) -> Template:
    """htmx autosave of one item: answers with the re-rendered item (and progress, OOB)."""
    await editable(request, audit_id)
    form = await request.form()
    mode = str(form.get("mode", "value"))
    raw: Any
    if ("value" in form and len(form.getall("value")) > 1) or form.get("multi") == "1":
        raw = [str(v) for v in form.getall("value") if str(v)] if "value" in form else []
    else:
        raw = form.get("value")
    base = form.get("base_version")
    try:
        base_version = int(str(base)) if base not in (None, "") else None
    except ValueError:
        base_version = None
    comment = form.get("comment")
    try:
        await service.save_answer(
            audit_id, item_id, raw, request.scope["user"],
            comment=str(comment) if comment is not None else None,
            base_version=base_version, keep_value=(mode == "comment"),
        )
    except service.Conflict as exc:
        return await _item_response(request, audit_id, item_id, 409,
                                    conflict=exc.details["current"],
                                    mine={"value": raw, "comment": comment})
    except service.Invalid as exc:
        return await _item_response(request, audit_id, item_id, 422, error=exc.message)
    return await _item_response(request, audit_id, item_id, saved=True)


async def _upload(request: Req) -> bytes:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(status_code=422, detail=_("Choose a photo to upload."))
    return await upload.read()


@post("/audits/{audit_id:int}/items/{item_id:str}/photos", name="audits:photo:add",
      opt=RUNNERS)
async def add_photo(request: Req, audit_id: FromPath[int], item_id: FromPath[str]) -> Template:
    await editable(request, audit_id)
    data = await _upload(request)
    kind = "signature" if request.query_params.get("kind") == "signature" else "photo"
    try:
        await service.add_image(audit_id, item_id, data, request.scope["user"],
                                request.app.state.settings.data_dir, kind=kind)
    except AuditError as exc:
        if exc.status in (413, 415, 422):
            return await _item_response(request, audit_id, item_id, exc.status,
                                        error=exc.message)
        raise
    return await _item_response(request, audit_id, item_id, 201, saved=True)


@post("/audits/{audit_id:int}/photos/{photo_id:int}/remove", name="audits:photo:remove",
      opt=RUNNERS)
async def remove_photo(request: Req, audit_id: FromPath[int], photo_id: FromPath[int]) -> Template:
    await editable(request, audit_id)
    row = await Photo.select(Photo.item_id).where(
        (Photo.id == photo_id) & (Photo.audit == audit_id)).first()
    if row is None:
        raise NotFoundException(_("No such photo."))
    await service.remove_image(audit_id, photo_id, request.scope["user"])
    return await _item_response(request, audit_id, row["item_id"], saved=True)


async def _photo_file(request: Req, audit_id: int, photo_id: int, thumb: bool) -> File:
    await viewable(request, audit_id)
    row = await Photo.select(Photo.path, Photo.thumb_path, Photo.content_type).where(
        (Photo.id == photo_id) & (Photo.audit == audit_id)).first()
    if row is None:
        raise NotFoundException(_("No such photo."))
    data_dir = request.app.state.settings.data_dir
    try:
        path = storage.resolve(data_dir, row["thumb_path"] if thumb else row["path"])
    except ValueError:
        raise NotFoundException(_("No such photo.")) from None
    if not path.exists():
        raise NotFoundException(_("No such photo."))
    return File(path, media_type=row["content_type"] if not thumb else None,
                content_disposition_type="inline",
                headers={"Cache-Control": "private, max-age=86400"})


@get("/audits/{audit_id:int}/photos/{photo_id:int}", name="audits:photo", opt=ANY_USER)
async def photo(request: Req, audit_id: FromPath[int], photo_id: FromPath[int]) -> File:
    return await _photo_file(request, audit_id, photo_id, thumb=False)


@get("/audits/{audit_id:int}/photos/{photo_id:int}/thumb", name="audits:photo:thumb",
     opt=ANY_USER)
async def photo_thumb(request: Req, audit_id: FromPath[int], photo_id: FromPath[int]) -> File:
    return await _photo_file(request, audit_id, photo_id, thumb=True)


@get("/audits/{audit_id:int}/submit", name="audits:review", opt=RUNNERS)
async def review_page(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    await editable(request, audit_id)
    run = await load_run(audit_id, current_language.get())
    if not run.editable:
        return Redirect(f"/audits/{audit_id}")
    return Template("audits/submit.html", context=_context(
        run, request, missing=run.missing, meaning=service.SIGNATURE_MEANING, error=None))


@post("/audits/{audit_id:int}/submit", name="audits:submit", opt=RUNNERS)
async def submit(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    """Submit and sign: the auditor re-enters their password."""
    await editable(request, audit_id)
    form = await request.form()
    user = request.scope["user"]
    row = await User.select(User.password_hash).where(User.id == user.id).first()
    if row is None or not verify_password(row["password_hash"], str(form.get("password", ""))):
        run = await load_run(audit_id, current_language.get())
        return Template("audits/submit.html", status_code=403, context=_context(
            run, request, missing=[], meaning=service.SIGNATURE_MEANING,
            error=_("The password is not correct; the audit was not submitted.")))
    try:
        await service.submit(audit_id, user)
    except service.Invalid as exc:
        run = await load_run(audit_id, current_language.get())
        return Template("audits/submit.html", status_code=422, context=_context(
            run, request, missing=run.missing,
            meaning=service.SIGNATURE_MEANING, error=exc.message))
    return Redirect(f"/audits/{audit_id}/nonconformances?submitted=1")


@post("/audits/{audit_id:int}/close", name="audits:close",
      opt=allow(Role.quality_manager, Role.admin))
async def close(request: Req, audit_id: FromPath[int]) -> Redirect:
    await viewable(request, audit_id)
    form = await request.form()
    await service.close(audit_id, request.scope["user"], str(form.get("note", "")))
    return Redirect(f"/audits/{audit_id}")


@get("/audits/{audit_id:int}/report.pdf", name="audits:report", opt=ANY_USER)
async def report_pdf(request: Req, audit_id: FromPath[int]) -> Response[bytes]:
    await viewable(request, audit_id)
    from server.reports.audit_report import load_audit_report, render_audit_report

    report = await load_audit_report(audit_id)
    if report is None:
        raise NotFoundException(_("No audit with this number."))
    import asyncio

    pdf = await asyncio.to_thread(
        render_audit_report, report, lang=current_language.get(),
        data_dir=request.app.state.settings.data_dir)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="audit-{audit_id}.pdf"'})


def _all_routes() -> list[Any]:
    from server.audits.api import ROUTES as API_ROUTES

    return [*PAGE_ROUTES, *API_ROUTES]


PAGE_ROUTES: list[Any] = [
    run_page, section_partial, save_answer, add_photo, remove_photo, photo, photo_thumb,
    review_page, submit,
    close, report_pdf, *PROGRAMME_ROUTES,
]


ROUTES: list[Any] = _all_routes()
