"""The NC pages: register, detail and its forms, raising by hand, the auditor's
review of drafts, "My actions", the dashboard, the policy, and exports."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from server.accounts.roles import ANY_USER
from server.accounts.users import active_users
from server.core import clock
from server.core.errors import DomainError
from server.core.inputs import parse, safe_next, sent
from server.findings import exports, service
from server.findings import policy as pol
from server.findings.access import DASHBOARD_READERS, POLICY_EDITORS, RAISERS
from server.findings.dashboard import PERIODS, DashFilters, dashboard_page, scores_page
from server.findings.history import policy_history
from server.findings.labels import incident_level_definition, incident_level_label
from server.findings.queries import Filters, read_register
from server.findings.raising import raise_manual
from server.findings.schemas import ActionFields, ConcessionFields, MergeFields, NcFields
from server.findings.todo import my_actions_view
from server.findings.views import Problem, detail_context, new_context, review_context
from server.findings.workflow import (
    ACTIVE_STATES,
    SEVERITIES,
    STATES,
    state_label,
)
from server.org.queries import org_units, projects
from server.web.bodies import read_form
from server.web.findings.uploads import data_dir, download, upload_in

Req = Request[Any, Any, Any]
LEVEL_WORDS = {"incident_label": incident_level_label,
               "incident_definition": incident_level_definition}
REVIEW_PATH = re.compile(r"/audits/(\d{1,12})/nonconformances")


def form_fields(form: FormMultiDict, schema: type[Any] = NcFields) -> dict[str, Any]:
    """A form as the rules' field mapping (the five whys come as why1..why5)."""
    fields = sent(schema, form)
    whys = [str(form.get(f"why{i}", "")) for i in range(1, 6)]
    if any(w.strip() for w in whys):
        fields["five_whys"] = whys
    return fields


def typed(form: FormMultiDict) -> dict[str, str]:
    """What was typed, to show a refused form again (a file cannot be: it is chosen again)."""
    return {k: str(v) for k, v in form.items() if k not in ("_csrf", "file")}


async def _detail_page(request: Req, nc_id: int, problem: Problem | None = None) -> Template:
    user = request.scope["user"]
    await service.load_visible(nc_id, user)
    return Template("findings/detail.html", context=await detail_context(nc_id, user, problem),
                    status_code=problem.status if problem else 200)


async def _refused(request: Req, nc_id: int, exc: DomainError, form: str,
                   values: dict[str, Any]) -> Template:
    if exc.status == 404:
        raise exc
    return await _detail_page(request, nc_id, Problem.of(exc, form, values))


async def _choices() -> dict[str, Any]:
    return {"org_units": await org_units(), "projects": await projects()}


# --- register ----------------------------------------------------------------


@get("/nonconformances", name="findings:register", opt=ANY_USER)
async def register_page(request: Req) -> Template:
    user = request.scope["user"]
    filters = Filters.parse(request.query_params)
    today = clock.today()
    rows, total = await read_register(filters, user, today)
    return Template("findings/register.html", context={
        "rows": rows, "total": total, "filters": filters,
        "pages": max(1, (total + filters.limit - 1) // filters.limit), "today": today,
        "states": STATES, "state_label": state_label, "severities": SEVERITIES,
        "users": await active_users(), **await _choices(),
        "can_raise": user.has_any(*RAISERS["roles"]),
    })


async def _export(request: Req, fmt: str) -> bytes:
    filters = Filters.parse(request.query_params, default_state="all")
    return await exports.export(filters, request.scope["user"], clock.today(), fmt)


@get("/nonconformances/export.csv", name="findings:export:csv", opt=ANY_USER)
async def export_csv(request: Req) -> Response[bytes]:
    return Response(await _export(request, "csv"), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="nonconformances.csv"'})


@get("/nonconformances/export.xlsx", name="findings:export:xlsx", opt=ANY_USER)
async def export_xlsx(request: Req) -> Response[bytes]:
    return Response(
        await _export(request, "xlsx"),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": 'attachment; filename="nonconformances.xlsx"'},
    )


# --- raising by hand ---------------------------------------------------------


@get("/nonconformances/new", name="findings:new", opt=RAISERS)
async def new_page(request: Req) -> Template:
    values = dict(request.query_params.items())
    return Template("findings/new.html", context=await new_context(values, None))


@post("/nonconformances", name="findings:create", opt=RAISERS)
async def create_submit(request: Req) -> Template | Redirect:
    user = request.scope["user"]
    form = await read_form(request)
    try:
        fields = form_fields(form)
        nc = await raise_manual(fields, user)
    except DomainError as exc:
        return Template("findings/new.html", status_code=exc.status, context=await new_context(
            typed(form), Problem.of(exc, "new", typed(form))))
    if form.get("issue_now") == "on" and (fields.get("owner") or fields["severity"] ==
                                          "observation"):
        try:  # the draft stays when issuing is refused: the detail page says why
            await service.transition(nc.id, user, "open", {
                "owner": fields.get("owner"), "comment": fields.get("comment", "")})
        except DomainError as exc:
            return await _refused(request, nc.id, exc, "transition:issue", typed(form))
    return Redirect(f"/nonconformances/{nc.id}")


# --- one NC ------------------------------------------------------------------


@get("/nonconformances/{nc_id:int}", name="findings:detail", opt=ANY_USER)
async def detail_page(request: Req, nc_id: FromPath[int]) -> Template:
    return await _detail_page(request, nc_id)


@post("/nonconformances/{nc_id:int}/transitions", name="findings:transition", opt=ANY_USER)
async def transition_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await read_form(request)
    to = str(form.get("to", ""))
    step = str(form.get("step", ""))
    key = f"step:{step}" if step else f"to:{to}"
    try:
        await service.transition(nc_id, request.scope["user"], to, form_fields(form),
                                 upload=await upload_in(form), data_dir=data_dir(request))
    except DomainError as exc:
        return await _refused(request, nc_id, exc, key, typed(form))
    return Redirect(safe_next(form.get("next"), f"/nonconformances/{nc_id}"))


@post("/nonconformances/{nc_id:int}/edit", name="findings:edit", opt=ANY_USER)
async def edit_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await read_form(request)
    back = safe_next(form.get("next"), "")
    try:
        await service.edit_and_issue(nc_id, request.scope["user"], form_fields(form),
                                     issue=form.get("then") == "issue")
    except DomainError as exc:
        review = REVIEW_PATH.fullmatch(back)
        if review and exc.status in (409, 422, 403):
            return await _review_page(request, int(review.group(1)),
                                      Problem.of(exc, f"draft:{nc_id}", typed(form)))
        return await _refused(request, nc_id, exc, "edit", typed(form))
    return Redirect(back or f"/nonconformances/{nc_id}")


@post("/nonconformances/{nc_id:int}/reassign", name="findings:reassign", opt=ANY_USER)
async def reassign_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await read_form(request)
    try:
        await service.reassign(nc_id, request.scope["user"], form_fields(form))
    except DomainError as exc:
        return await _refused(request, nc_id, exc, "reassign", typed(form))
    return Redirect(f"/nonconformances/{nc_id}")


@post("/nonconformances/{nc_id:int}/concession", name="findings:concession", opt=ANY_USER)
async def concession_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await read_form(request)
    try:
        await service.concession(nc_id, request.scope["user"],
                                 form_fields(form, ConcessionFields),
                                 upload=await upload_in(form), data_dir=data_dir(request))
    except DomainError as exc:
        return await _refused(request, nc_id, exc, "concession", typed(form))
    return Redirect(f"/nonconformances/{nc_id}")


@post("/nonconformances/{nc_id:int}/actions", name="findings:action:add", opt=ANY_USER)
async def action_add(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await read_form(request)
    try:
        await service.add_action(nc_id, request.scope["user"], form_fields(form, ActionFields))
    except DomainError as exc:
        return await _refused(request, nc_id, exc, "action", typed(form))
    return Redirect(f"/nonconformances/{nc_id}#actions")


@post("/nonconformances/{nc_id:int}/actions/{action_id:int}", name="findings:action:update",
      opt=ANY_USER)
async def action_update(request: Req, nc_id: FromPath[int], action_id: FromPath[int]
                        ) -> Template | Redirect:
    form = await read_form(request)
    note = parse(ActionFields, form).note
    try:
        if form.get("op") == "withdraw":
            await service.withdraw_action(nc_id, action_id, request.scope["user"], note)
        else:
            await service.complete_action(nc_id, action_id, request.scope["user"], note,
                                          upload=await upload_in(form),
                                          data_dir=data_dir(request))
    except DomainError as exc:
        return await _refused(request, nc_id, exc, f"action:{action_id}", typed(form))
    return Redirect(f"/nonconformances/{nc_id}#actions")


@get("/nonconformances/{nc_id:int}/attachments/{attachment_id:int}",
     name="findings:attachment", opt=ANY_USER)
async def attachment_file(request: Req, nc_id: FromPath[int],
                          attachment_id: FromPath[int]) -> File:
    """An attached file, for whoever may see the NC (404 for anyone else)."""
    return await download(request, nc_id, attachment_id)


# --- the auditor's review of an audit's drafts --------------------------------


async def _review_page(request: Req, audit_id: int, problem: Problem | None = None
                       ) -> Template:
    context = await review_context(audit_id, request.scope["user"], problem)
    return Template("findings/review.html", status_code=problem.status if problem else 200,
                    context=context)


@get("/audits/{audit_id:int}/nonconformances", name="findings:review", opt=ANY_USER)
async def review_page(request: Req, audit_id: FromPath[int]) -> Template:
    return await _review_page(request, audit_id)


@post("/audits/{audit_id:int}/nonconformances/merge", name="findings:merge", opt=ANY_USER)
async def merge_submit(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    form = await read_form(request)
    try:
        await service.merge_fields(form_fields(form, MergeFields), request.scope["user"])
    except DomainError as exc:
        if exc.status == 404:
            raise
        return await _review_page(request, audit_id, Problem.of(exc, "merge", typed(form)))
    return Redirect(f"/audits/{audit_id}/nonconformances")


@post("/audits/{audit_id:int}/nonconformances/issue", name="findings:issue_all",
      opt=ANY_USER)
async def issue_all(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    """Issue every draft of the audit that is ready (has an owner, or is an observation)."""
    try:
        await service.issue_ready_drafts(audit_id, request.scope["user"])
    except DomainError as exc:
        return await _review_page(request, audit_id,
                                  Problem.of(exc, f"draft:{exc.extra.get('nc')}", {}))
    return Redirect(f"/audits/{audit_id}/nonconformances")


# --- my actions, dashboard, policy -------------------------------------------


@get("/my-actions", name="findings:my_actions", opt=ANY_USER)
async def my_actions_page(request: Req) -> Template:
    return Template("findings/my_actions.html",
                    context=await my_actions_view(request.scope["user"], clock.today()))


@get("/dashboard", name="findings:dashboard", opt=DASHBOARD_READERS)
async def dashboard_view(request: Req) -> Template:
    filters = DashFilters.parse(request.query_params)
    today = clock.today()
    return Template("findings/dashboard.html", context={
        **await dashboard_page(filters, today), "filters": filters, "today": today,
        "periods": PERIODS, "severities": SEVERITIES, "active_states": ACTIVE_STATES,
        "state_label": state_label, **await _choices(),
    })


@get("/dashboard/scores", name="findings:dashboard:scores", opt=DASHBOARD_READERS)
async def dashboard_scores(request: Req) -> Template:
    """The audit-score panel: loaded by the dashboard after the page (htmx), and on its
    own as a page without JavaScript."""
    filters = DashFilters.parse(request.query_params)
    fragment = request.headers.get("hx-request") == "true"
    return Template("findings/partials/scores.html" if fragment else "findings/scores.html",
                    context={"scores": await scores_page(filters, clock.today()),
                             "filters": filters})


@get("/settings/nc-policy", name="findings:policy", opt=POLICY_EDITORS)
async def policy_page() -> Template:
    return Template("findings/policy.html", context={
        "policy": (await pol.load_policy()).as_json(), "problems": {}, "saved": False,
        "severities": SEVERITIES, "history": await policy_history(), **LEVEL_WORDS,
    })


@post("/settings/nc-policy", name="findings:policy:save", opt=POLICY_EDITORS)
async def policy_save(request: Req) -> Template:
    form = await read_form(request)
    data = pol.policy_from_form(form)
    status, problems, saved = 200, {}, False
    try:
        policy = pol.parse_policy(data)
    except pol.PolicyError as exc:
        status, problems = 422, exc.problems
    else:
        await pol.save_policy(policy, request.scope["user"], str(form.get("reason", "")))
        data, saved = policy.as_json(), True
    return Template("findings/policy.html", status_code=status, context={
        "policy": data, "problems": problems, "saved": saved, "severities": SEVERITIES,
        "history": await policy_history(), **LEVEL_WORDS,
    })


ROUTES: list[Any] = [
    register_page, export_csv, export_xlsx, new_page, create_submit, detail_page,
    transition_submit, edit_submit, reassign_submit, concession_submit, action_add,
    action_update, attachment_file, review_page, merge_submit, issue_all, my_actions_page,
    dashboard_view, dashboard_scores, policy_page, policy_save,
]
