"""The NC JSON API (bearer tokens): list, detail, transitions, actions, the notice.

Refusals: 404 an NC this person cannot see; 409 an illegal transition (the body says
why); 403 the wrong person; 422 missing or invalid fields, listed in
error.details.missing / error.details.invalid.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, patch, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from server import clock
from server.accounts.roles import ANY_USER, Role, allow
from server.db.engine import write_transaction
from server.findings import serialize, service
from server.findings.pages import notice_response
from server.findings.queries import Filters, detail, read_snapshot, register
from server.findings.raising import raise_manual
from server.findings.views import facts_from
from server.findings.workflow import Who, WorkflowError, available
from server.i18n import gettext as _

Req = Request[Any, Any, Any]


async def body_of(request: Req) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise HTTPException(status_code=400, detail=_("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise HTTPException(status_code=400, detail=_("The body must be a JSON object."))
    return data


async def full_json(nc_id: int, user: Any) -> dict[str, Any]:
    nc = await detail(nc_id, clock.today())
    if nc is None:
        raise WorkflowError(404, _("No such nonconformance."))
    names = [t.target for t in available(facts_from(nc), Who.of(user))]
    return serialize.full(nc, names)


@get("/api/v1/nonconformances", name="api:findings:list", opt=ANY_USER)
async def api_list(request: Req) -> dict[str, Any]:
    """Filters: audit, state (a state; "active": open to verification; "all": every issued
    NC; default: everything you can see, drafts included), severity, owner, overdue=true,
    project, org_unit, concession=true, q; paging: limit (max 500), offset."""
    filters = Filters.parse(request.query_params, default_state="any")
    async with read_snapshot():
        rows, total = await register(filters, request.scope["user"], clock.today())
    return {"items": [serialize.summary(r) for r in rows], "total": total,
            "limit": filters.limit, "offset": filters.offset}


@post("/api/v1/nonconformances", name="api:findings:create", status_code=201,
      opt=allow(Role.quality_manager, Role.auditor, Role.engineer))
async def api_create(request: Req) -> dict[str, Any]:
    """Raise an NC by hand (a draft; with "issue": true and an owner, issued at once)."""
    user = request.scope["user"]
    data = await body_of(request)
    # Raised and issued together or not at all.
    async with write_transaction():
        nc = await raise_manual(data, user)
        if data.get("issue"):
            await service.transition(nc.id, user, "open", data)
    return await full_json(nc.id, user)


@get("/api/v1/nonconformances/{nc_id:int}", name="api:findings:detail", opt=ANY_USER)
async def api_detail(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    user = request.scope["user"]
    await service.load_visible(nc_id, user)
    return await full_json(nc_id, user)


@patch("/api/v1/nonconformances/{nc_id:int}", name="api:findings:edit", opt=ANY_USER)
async def api_edit(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """Edit a draft (title, description, verification_standard, owner) or change the
    severity (with severity_reason)."""
    user = request.scope["user"]
    await service.edit(nc_id, user, await body_of(request))
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/transitions", name="api:findings:transition",
      status_code=200, opt=ANY_USER)
async def api_transition(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """{"to": STATE, ...fields, "comment": "...", "version": n (optional, checked)}."""
    user = request.scope["user"]
    data = await body_of(request)
    to = data.get("to")
    if not isinstance(to, str) or not to:
        await service.load_visible(nc_id, user)
        raise WorkflowError(422, _("Say which state to move to."), missing=["to"])
    await service.transition(nc_id, user, to, data)
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/actions", name="api:findings:action:add",
      status_code=201, opt=ANY_USER)
async def api_action_add(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """{"kind": correction|corrective|preventive, "description", "owner": user id,
    "due_date": "YYYY-MM-DD"}: the NC's owner, while planning (state root_cause)."""
    user = request.scope["user"]
    await service.add_action(nc_id, user, await body_of(request))
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/actions/{action_id:int}/done",
      name="api:findings:action:done", status_code=200, opt=ANY_USER)
async def api_action_done(request: Req, nc_id: FromPath[int], action_id: FromPath[int]
                          ) -> dict[str, Any]:
    user = request.scope["user"]
    data = await body_of(request)
    await service.complete_action(nc_id, action_id, user, str(data.get("note") or ""))
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/actions/{action_id:int}/withdraw",
      name="api:findings:action:withdraw", status_code=200, opt=ANY_USER)
async def api_action_withdraw(request: Req, nc_id: FromPath[int], action_id: FromPath[int]
                              ) -> dict[str, Any]:
    user = request.scope["user"]
    data = await body_of(request)
    await service.withdraw_action(nc_id, action_id, user, str(data.get("reason") or ""))
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/reassign", name="api:findings:reassign",
      status_code=200, opt=ANY_USER)
async def api_reassign(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    user = request.scope["user"]
    await service.reassign(nc_id, user, await body_of(request))
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/{nc_id:int}/concession", name="api:findings:concession",
      status_code=200, opt=ANY_USER)
async def api_concession(request: Req, nc_id: FromPath[int]) -> dict[str, Any]:
    """{"plan", "until": "YYYY-MM-DD", "client_contact"} grants a concession;
    {"done": true, "note"} records that its agreed plan is done."""
    user = request.scope["user"]
    data = await body_of(request)
    if data.get("done"):
        await service.complete_concession(nc_id, user, data)
    else:
        await service.grant_concession(nc_id, user, data)
    return await full_json(nc_id, user)


@post("/api/v1/nonconformances/merge", name="api:findings:merge", status_code=200,
      opt=allow(Role.quality_manager, Role.auditor))
async def api_merge(request: Req) -> dict[str, Any]:
    """{"keep": id, "other": id}: merge two drafts of one audit."""
    user = request.scope["user"]
    data = await body_of(request)
    try:
        keep, other = int(data.get("keep")), int(data.get("other"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise WorkflowError(422, _("Choose the two drafts to merge."),
                            missing=["keep", "other"]) from None
    await service.merge(keep, other, user)
    return await full_json(keep, user)


@get("/api/v1/nonconformances/{nc_id:int}/notice.pdf", name="api:findings:notice",
     opt=ANY_USER)
async def api_notice(request: Req, nc_id: FromPath[int]) -> Response[bytes]:
    return await notice_response(request, nc_id)


ROUTES: list[Any] = [
    api_list, api_create, api_detail, api_edit, api_transition, api_action_add,
    api_action_done, api_action_withdraw, api_reassign, api_concession, api_merge, api_notice,
]
