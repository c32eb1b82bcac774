"""The NC JSON API (bearer tokens): list, detail, transitions, actions, concessions.

Refusals: 404 an NC this person cannot see; 409 an illegal transition (the body says
why); 403 the wrong person; 422 missing or invalid fields, listed in
error.details.missing / error.details.invalid.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, patch, post
from litestar.params import FromPath
from litestar.response import File

from server.accounts.roles import ANY_USER, Role, allow
from server.core import clock
from server.core.i18n import gettext as _
from server.core.inputs import sent
from server.findings import serialize, service
from server.findings.access import RAISERS
from server.findings.queries import Filters, read_register
from server.findings.schemas import (
    ActionFields,
    AttachmentFields,
    ConcessionFields,
    MergeFields,
    NcFields,
)
from server.findings.workflow import WorkflowError
from server.web.bodies import json_object, read_form
from server.web.findings.uploads import data_dir, download, upload_in

Req = Request[Any, Any, Any]


@get("/api/v1/nonconformances", name="api:findings:list", opt=ANY_USER)
async def api_list(request: Req) -> dict[str, Any]:
    """Filters: audit, state (a state; "active": open to verification; "all": every issued
    NC; default: everything you can see, drafts included), severity, owner, overdue=true,
    project, org_unit, concession=true, q; paging: limit (max 500), offset."""
    filters = Filters.parse(request.query_params, default_state="any")
    rows, total = await read_register(filters, request.scope["user"], clock.today())
    return {"items": [serialize.summary(r) for r in rows], "total": total,
            "limit": filters.limit, "offset": filters.offset}


@post("/api/v1/nonconformances", name="api:findings:create", status_code=201,
      opt=RAISERS)
async def api_create(request: Req) -> dict[str, Any]:
    """Raise an NC by hand (a draft; with "issue": true and an owner, issued at once)."""
    user = request.scope["user"]
    nc = await service.raise_and_issue(sent(NcFields, await json_object(request)), user)
    return await serialize.full_json(nc.id, user)


@get("/api/v1/nonconformances/{nc_id:int}", name="api:findings:detail", opt=ANY_USER)
async def api_detail(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    user = request.scope["user"]
    await service.load_visible(nc_id, user)
    return await serialize.full_json(nc_id, user)


@patch("/api/v1/nonconformances/{nc_id:int}", name="api:findings:edit", opt=ANY_USER)
async def api_edit(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """Edit a draft (title, description, verification_standard, owner) or change the
    severity (with severity_reason)."""
    user = request.scope["user"]
    await service.edit(nc_id, user, sent(NcFields, await json_object(request)))
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/transitions", name="api:findings:transition",
      status_code=200, opt=ANY_USER)
async def api_transition(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """{"to": STATE, ...fields, "comment": "...", "version": n (optional, checked)}.
    A minor NC fixed on the spot: {"to": "closed", "step": "fix_on_spot", "containment":
    what was done, "verification_note": how it was checked}, after attaching the evidence
    (POST .../attachments with step "on_the_spot")."""
    user = request.scope["user"]
    fields = sent(NcFields, await json_object(request))
    if not fields.get("to"):
        await service.load_visible(nc_id, user)
        raise WorkflowError(422, _("Say which state to move to."), missing=["to"])
    await service.transition(nc_id, user, fields["to"], fields)
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/actions", name="api:findings:action:add",
      status_code=201, opt=ANY_USER)
async def api_action_add(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """{"kind": correction|corrective|preventive, "description", "owner": user id,
    "due_date": "YYYY-MM-DD"}: the NC's owner, while planning (state root_cause)."""
    user = request.scope["user"]
    await service.add_action(nc_id, user, sent(ActionFields, await json_object(request)))
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/actions/{action_id:int}/done",
      name="api:findings:action:done", status_code=200, opt=ANY_USER)
async def api_action_done(request: Req, nc_id: FromPath[int], action_id: FromPath[int]
                          ) -> dict[str, Any]:
    user = request.scope["user"]
    fields = sent(ActionFields, await json_object(request))
    await service.complete_action(nc_id, action_id, user, fields.get("note") or "")
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/actions/{action_id:int}/withdraw",
      name="api:findings:action:withdraw", status_code=200, opt=ANY_USER)
async def api_action_withdraw(request: Req, nc_id: FromPath[int], action_id: FromPath[int]
                              ) -> dict[str, Any]:
    user = request.scope["user"]
    fields = sent(ActionFields, await json_object(request))
    await service.withdraw_action(nc_id, action_id, user, fields.get("reason") or "")
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/reassign", name="api:findings:reassign",
      status_code=200, opt=ANY_USER)
async def api_reassign(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    user = request.scope["user"]
    await service.reassign(nc_id, user, sent(NcFields, await json_object(request)))
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/concession", name="api:findings:concession",
      status_code=200, opt=ANY_USER)
async def api_concession(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """{"plan", "until": "YYYY-MM-DD", "client_name", "approved_on": "YYYY-MM-DD",
    "approval_attachment": id of the signed approval attached before (step "concession"),
    "client_contact" (optional)} grants a concession; {"done": true, "note"} records that
    its agreed plan is done."""
    user = request.scope["user"]
    await service.concession(nc_id, user, sent(ConcessionFields, await json_object(request)))
    return await serialize.full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/attachments", name="api:findings:attach",
      status_code=201, opt=ANY_USER)
async def api_attach(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """Multipart: `file` (a photo, PDF, .docx or .xlsx, checked by content, at most
    20 MB), `step` (containment | action | verification | concession | on_the_spot) and,
    for an action, `action` (its id). 413 too large, 415 another type, 422 damaged."""
    user = request.scope["user"]
    form = await read_form(request)
    fields = sent(AttachmentFields, form)
    upload = await upload_in(form)
    if upload is None:
        await service.load_visible(nc_id, user)
        raise WorkflowError(422, _("Choose a file to attach."), missing=["file"])
    await service.attach(nc_id, user, fields.get("step") or "", upload, data_dir(request),
                         fields.get("action"))
    return await serialize.full_json(nc_id, user)


@get("/api/v1/nonconformances/{nc_id:int}/attachments/{attachment_id:int}",
     name="api:findings:attachment", opt=ANY_USER)
async def api_attachment(request: Req, nc_id: FromPath[int], attachment_id: FromPath[int]
                         ) -> File:
    return await download(request, nc_id, attachment_id)


@post("/api/v1/nonconformances/merge", name="api:findings:merge", status_code=200,
      opt=allow(Role.quality_manager, Role.auditor))
async def api_merge(request: Req) -> dict[str, Any]:
    """{"keep": id, "other": id}: merge two drafts of one audit."""
    user = request.scope["user"]
    keep = await service.merge_fields(sent(MergeFields, await json_object(request)), user)
    return await serialize.full_json(keep.id, user)


ROUTES: list[Any] = [
    api_list, api_create, api_detail, api_edit, api_transition, api_action_add,
    api_action_done, api_action_withdraw, api_reassign, api_concession, api_attach,
    api_attachment, api_merge,
]
