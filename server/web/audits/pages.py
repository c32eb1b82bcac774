"""Pages of one audit run: the form (htmx autosave), photos, submit and sign, result."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from server.accounts.roles import ANY_USER
from server.assets.due import next_due
from server.audits import access, offline, service
from server.audits.access import PLANNERS, RUNNERS
from server.audits.history import audit_history
from server.audits.schemas import AnswerBatch, AnswerForm, CloseForm, SignForm
from server.audits.service import meaning_text
from server.audits.views import RunView, eager_sections, load_run
from server.core import clock
from server.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from server.core.i18n import current_language
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.findings.queries import ncs_of_audit
from server.findings.workflow import state_label
from server.flows.runs import editable_run, visible_run
from server.flows.submission import sign_and_submit
from server.web.bodies import json_object, read_form

Req = Request[Any, Any, Any]


def _context(run: RunView, request: Req, **extra: Any) -> dict[str, Any]:
    user = request.scope["user"]
    return {"run": run, "c": run.checklist, "audit": run.audit,
            "can_edit": run.editable and access.can_edit(user, run.audit),
            "error": None, "saved": False, "conflict": None, "mine": None, "problem": None,
            "saved_item": None, **extra}


def _htmx(request: Req) -> bool:
    """An enhanced request (the page's script) gets a fragment; a plain form post (no
    JavaScript) gets the whole page, by a redirect back to the item it changed."""
    return bool(request.headers.get("hx-request"))


def _back_to(audit_id: int, item_id: str, saved: bool = True) -> Redirect:
    query = f"?saved={quote(item_id)}" if saved else ""
    return Redirect(f"/audits/{audit_id}{query}#item-{quote(item_id)}", status_code=303)


async def _form_page(request: Req, audit_id: int, status: int = 200, **extra: Any) -> Template:
    run = await load_run(audit_id, current_language.get())
    return Template("audits/form.html", status_code=status, context=_context(
        run, request, eager_sections=eager_sections(run), **extra))


@get("/audits/{audit_id:int}", name="audits:run", opt=ANY_USER)
async def run_page(request: Req, audit_id: FromPath[int], saved: FromQuery[str] = "",
                   all: FromQuery[bool] = False) -> Template:
    """The form (or the result of a submitted run). `all` renders every section with the
    page, for browsers without JavaScript, which cannot load the later ones."""
    await visible_run(request.scope["user"], audit_id)
    run = await load_run(audit_id, current_language.get())
    if run.editable and access.can_edit(request.scope["user"], run.audit):
        eager = {s.id for s in run.checklist.sections} if all else eager_sections(run)
        return Template("audits/form.html", context=_context(
            run, request, eager_sections=eager, saved_item=saved or None))
    submitted = request.query_params.get("submitted") == "1" and run.audit["kind"] == "inspection"
    return Template("audits/result.html", context=_context(
        run, request, ncs=await ncs_of_audit(audit_id), history=await audit_history(audit_id),
        just_submitted=submitted, state_label=state_label,
        signature_words=meaning_text(run.audit.get("signature_meaning") or ""),
        next_due=await next_due(request.scope["user"], clock.today(), run.audit["asset"])
        if submitted else None))


@get("/audits/offline-set", name="audits:offline-set", opt=ANY_USER)
async def offline_set(request: Req) -> dict[str, Any]:
    """The runs this user's device keeps for use without a network (static/offline.js)."""
    user = request.scope["user"]
    ids = await offline.runs_to_keep(user.id, clock.today())
    return {"runs": [f"/audits/{i}" for i in ids]}


@get("/audits/{audit_id:int}/sections/{section_id:str}", name="audits:section", opt=ANY_USER)
async def section_partial(request: Req, audit_id: FromPath[int],
                          section_id: FromPath[str]) -> Template | Redirect:
    await visible_run(request.scope["user"], audit_id)
    run = await load_run(audit_id, current_language.get())
    section = next((s for s in run.checklist.sections if s.id == section_id), None)
    if section is None:
        raise NotFound(_("No such section."))
    if not _htmx(request):  # a link followed, e.g. after logging in: the whole form
        return Redirect(f"/audits/{audit_id}?all=1#section-{quote(section_id)}")
    return Template("audits/partials/section.html", context=_context(run, request,
                                                                      section=section))


async def _item_response(request: Req, audit_id: int, item_id: str, status: int = 200,
                         **extra: Any) -> Template:
    """The re-rendered item, with the progress bar out of band."""
    run = await load_run(audit_id, current_language.get(), item_id=item_id)
    item = run.checklist.item(item_id)
    return Template("audits/partials/item_saved.html", status_code=status,
                    context=_context(run, request, item=item, **extra))


async def _refused(request: Req, audit_id: int, item_id: str, status: int,
                   **problem: Any) -> Template:
    """A save refused (conflict, invalid): the item again with why, as a fragment, or as
    the whole form with the problem beside that item."""
    if _htmx(request):
        return await _item_response(request, audit_id, item_id, status, **problem)
    return await _form_page(request, audit_id, status, problem={"item_id": item_id, **problem})


@post("/audits/{audit_id:int}/answers/{item_id:str}", name="audits:answer", opt=RUNNERS)
async def save_answer(request: Req, audit_id: FromPath[int],
                      item_id: FromPath[str]) -> Template | Redirect:
    """Autosave of one item: answers with the re-rendered item (and progress, OOB); a plain
    form post is sent back to the item (post-redirect-get)."""
    await editable_run(request.scope["user"], audit_id)
    form = parse(AnswerForm, await read_form(request))
    try:
        await service.save_answer(
            audit_id, item_id, form.answer(), request.scope["user"], comment=form.comment,
            base_version=form.base_version, keep_value=(form.mode == "comment"),
        )
    except Conflict as exc:
        if "current" not in exc.details:
            raise
        return await _refused(request, audit_id, item_id, 409, conflict=exc.details["current"],
                              mine={"value": form.answer(), "comment": form.comment})
    except Invalid as exc:
        return await _refused(request, audit_id, item_id, 422, error=exc.message)
    if not _htmx(request):
        return _back_to(audit_id, item_id)
    return await _item_response(request, audit_id, item_id, saved=True)


@post("/audits/{audit_id:int}/answers:batch", name="audits:answers", status_code=200,
      opt=RUNNERS)
async def save_answers(request: Req, audit_id: FromPath[int]) -> dict[str, Any]:
    """The page's outbox, sent in one request when it holds several answers (the same
    body and results as the API's answers:batch, with the session and its CSRF token)."""
    await editable_run(request.scope["user"], audit_id)
    data = parse(AnswerBatch, await json_object(request))
    return {"results": await service.save_answers(audit_id, data.answers, request.scope["user"])}


@get("/audits/{audit_id:int}/answers/{item_id:str}", name="audits:answer:page", opt=ANY_USER)
async def answer_page(audit_id: FromPath[int], item_id: FromPath[str]) -> Redirect:
    """Where a login interrupted by an expired session sends someone back (it can only
    repeat a GET): the form, at the item."""
    return _back_to(audit_id, item_id, saved=False)


@get("/audits/{audit_id:int}/items/{item_id:str}/photos", name="audits:photos:page",
     opt=ANY_USER)
async def photos_page(audit_id: FromPath[int], item_id: FromPath[str]) -> Redirect:
    return _back_to(audit_id, item_id, saved=False)


async def upload_of(request: Req) -> bytes:
    """The bytes of the form's `file` field."""
    upload = (await read_form(request)).get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid(_("Choose a photo to upload."), missing=["file"])
    return await upload.read()


@post("/audits/{audit_id:int}/items/{item_id:str}/photos", name="audits:photo:add",
      opt=RUNNERS)
async def add_photo(request: Req, audit_id: FromPath[int],
                    item_id: FromPath[str]) -> Template | Redirect:
    await editable_run(request.scope["user"], audit_id)
    form = await read_form(request)
    kind = "signature" if "signature" in (request.query_params.get("kind"),
                                          form.get("kind")) else "photo"
    try:
        data = await upload_of(request)
        await service.add_image(audit_id, item_id, data, request.scope["user"],
                                request.app.state.settings.data_dir, kind=kind)
    except DomainError as exc:
        if exc.status in (413, 415, 422):
            return await _refused(request, audit_id, item_id, exc.status, error=exc.message)
        raise
    if not _htmx(request):
        return _back_to(audit_id, item_id)
    return await _item_response(request, audit_id, item_id, 201, saved=True)


@post("/audits/{audit_id:int}/photos/{photo_id:int}/remove", name="audits:photo:remove",
      opt=RUNNERS)
async def remove_photo(request: Req, audit_id: FromPath[int],
                       photo_id: FromPath[int]) -> Template | Redirect:
    await editable_run(request.scope["user"], audit_id)
    item_id = await service.remove_image(audit_id, photo_id, request.scope["user"])
    if not _htmx(request):
        return _back_to(audit_id, item_id)
    return await _item_response(request, audit_id, item_id, saved=True)


async def _photo_file(request: Req, audit_id: int, photo_id: int, thumb: bool) -> File:
    await visible_run(request.scope["user"], audit_id)
    path, media_type = await service.stored_photo(
        audit_id, photo_id, request.app.state.settings.data_dir, thumb)
    return File(path, media_type=media_type, content_disposition_type="inline",
                headers={"Cache-Control": "private, max-age=86400"})


@get("/audits/{audit_id:int}/photos/{photo_id:int}", name="audits:photo", opt=ANY_USER)
async def photo(request: Req, audit_id: FromPath[int], photo_id: FromPath[int]) -> File:
    return await _photo_file(request, audit_id, photo_id, thumb=False)


@get("/audits/{audit_id:int}/photos/{photo_id:int}/thumb", name="audits:photo:thumb",
     opt=ANY_USER)
async def photo_thumb(request: Req, audit_id: FromPath[int], photo_id: FromPath[int]) -> File:
    return await _photo_file(request, audit_id, photo_id, thumb=True)


def _submit_page(run: RunView, request: Req, status: int = 200, error: str | None = None,
                 missing: Any = None) -> Template:
    return Template("audits/submit.html", status_code=status, context=_context(
        run, request, missing=run.missing if missing is None else missing,
        meaning=service.SIGNATURE_MEANING, error=error))


@get("/audits/{audit_id:int}/submit", name="audits:review", opt=RUNNERS)
async def review_page(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    await editable_run(request.scope["user"], audit_id)
    run = await load_run(audit_id, current_language.get())
    if not run.editable:
        return Redirect(f"/audits/{audit_id}")
    return _submit_page(run, request)


@post("/audits/{audit_id:int}/submit", name="audits:submit", opt=RUNNERS)
async def submit(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    """Submit and sign: the auditor re-enters their password."""
    await editable_run(request.scope["user"], audit_id)
    form = parse(SignForm, await read_form(request))
    try:
        await sign_and_submit(audit_id, request.scope["user"], form.password)
    except Forbidden as exc:
        run = await load_run(audit_id, current_language.get())
        return _submit_page(run, request, 403, exc.message, missing=[])
    except Invalid as exc:
        run = await load_run(audit_id, current_language.get())
        return _submit_page(run, request, 422, exc.message)
    if (await service.access_row(audit_id))["kind"] == "inspection":
        # The engineer's next job, not NC triage: the drafts go to auditors to review.
        return Redirect(f"/audits/{audit_id}?submitted=1")
    return Redirect(f"/audits/{audit_id}/nonconformances?submitted=1")


@post("/audits/{audit_id:int}/close", name="audits:close",
      opt=PLANNERS)
async def close(request: Req, audit_id: FromPath[int]) -> Redirect:
    await visible_run(request.scope["user"], audit_id)
    form = parse(CloseForm, await read_form(request))
    await service.close(audit_id, request.scope["user"], form.note)
    return Redirect(f"/audits/{audit_id}")


ROUTES: list[Any] = [
    run_page, offline_set, section_partial, save_answer, save_answers, answer_page,
    photos_page, add_photo, remove_photo, photo, photo_thumb, review_page, submit, close,
]
