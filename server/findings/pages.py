"""The NC pages: register, detail and its forms, raising by hand, the auditor's
review of drafts, "My actions", the dashboard, the policy, exports and the notice."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server import clock
from server.accounts.roles import ANY_USER, Role, allow
from server.findings import charts, exports, service
from server.findings import policy as pol
from server.findings.access import audit_of, scope_sql
from server.findings.dashboard import PERIODS, DashFilters, audit_scores, dashboard
from server.findings.notice import render_notice
from server.findings.queries import Filters, all_matching_ids, detail, read_snapshot, register
from server.findings.raising import raise_manual
from server.findings.tables import Nonconformance
from server.findings.todo import my_actions
from server.findings.views import Problem, active_users, detail_context, facts_from
from server.findings.workflow import (
    ACTIVE_STATES,
    DRAFT_EDITORS,
    MANUAL_SOURCES,
    SEVERITIES,
    STATES,
    Who,
    WorkflowError,
    may,
    state_label,
)
from server.i18n import current_language
from server.i18n import gettext as _
from server.org.tables import OrgUnit, Project

Req = Request[Any, Any, Any]
RAISERS = allow(Role.quality_manager, Role.auditor, Role.engineer)
MANAGERS = allow(Role.quality_manager, Role.admin)
REVIEW_PATH = re.compile(r"/audits/(\d{1,12})/nonconformances")


def form_fields(form: FormMultiDict) -> dict[str, Any]:
    """A form as the rules' field mapping (the five whys come as why1..why5)."""
    fields: dict[str, Any] = {k: v for k, v in form.items() if k != "_csrf"}
    whys = [str(form.get(f"why{i}", "")) for i in range(1, 6)]
    if any(w.strip() for w in whys):
        fields["five_whys"] = whys
    return fields


def safe_next(value: Any, default: str) -> str:
    text = str(value or "")
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return text
    return default


async def _detail_page(request: Req, nc_id: int, problem: Problem | None = None) -> Template:
    user = request.scope["user"]
    await service.load_visible(nc_id, user)
    context = await detail_context(nc_id, user, problem)
    return Template("findings/detail.html", context=context,
                    status_code=problem.status if problem else 200)


async def _refused(request: Req, nc_id: int, exc: WorkflowError, form: str,
                   fields: dict[str, Any]) -> Template:
    if exc.status == 404:
        raise exc
    return await _detail_page(request, nc_id, Problem.of(exc, form, fields))


async def _choices() -> dict[str, Any]:
    return {
        "org_units": await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name_zh,
                                          OrgUnit.name_en).order_by(OrgUnit.code),
        "projects": await Project.select(Project.id, Project.code, Project.name_zh,
                                         Project.name_en).order_by(Project.code),
    }


# --- register ----------------------------------------------------------------


@get("/nonconformances", name="findings:register", opt=ANY_USER)
async def register_page(request: Req) -> Template:
    user = request.scope["user"]
    filters = Filters.parse(request.query_params)
    today = clock.today()
    async with read_snapshot():
        rows, total = await register(filters, user, today)
    pages = max(1, (total + filters.limit - 1) // filters.limit)
    return Template("findings/register.html", context={
        "rows": rows, "total": total, "filters": filters, "pages": pages, "today": today,
        "states": STATES, "state_label": state_label, "severities": SEVERITIES,
        "users": await active_users(), **await _choices(),
        "can_raise": user.has_any(Role.quality_manager, Role.auditor, Role.engineer),
    })


async def _export_data(request: Req) -> dict[str, Any]:
    filters = Filters.parse(request.query_params, default_state="all")
    today = clock.today()
    async with read_snapshot():
        ids = await all_matching_ids(filters, request.scope["user"], today, exports.MAX_ROWS)
        return await exports.collect(ids, today)


@get("/nonconformances/export.csv", name="findings:export:csv", opt=ANY_USER)
async def export_csv(request: Req) -> Response[bytes]:
    body = exports.to_csv(await _export_data(request))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "content-disposition": 'attachment; filename="nonconformances.csv"'})


@get("/nonconformances/export.xlsx", name="findings:export:xlsx", opt=ANY_USER)
async def export_xlsx(request: Req) -> Response[bytes]:
    body = exports.to_xlsx(await _export_data(request))
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": 'attachment; filename="nonconformances.xlsx"'},
    )


# --- raising by hand ---------------------------------------------------------


async def _new_context(values: dict[str, Any], problem: Problem | None) -> dict[str, Any]:
    from server.assets.tables import Asset

    return {
        "values": values, "problem": problem, "sources": MANUAL_SOURCES,
        "severities": SEVERITIES, "users": await active_users(), **await _choices(),
        "assets": await Asset.select(Asset.id, Asset.code, Asset.name).order_by(Asset.code)
        .limit(500),
    }


@get("/nonconformances/new", name="findings:new", opt=RAISERS)
async def new_page(request: Req) -> Template:
    values = {k: v for k, v in request.query_params.items()}
    return Template("findings/new.html", context=await _new_context(values, None))


@post("/nonconformances", name="findings:create", opt=RAISERS)
async def create_submit(request: Req) -> Template | Redirect:
    user = request.scope["user"]
    form = await request.form()
    fields = form_fields(form)
    try:
        nc = await raise_manual(fields, user)
    except WorkflowError as exc:
        return Template("findings/new.html", status_code=exc.status,
                        context=await _new_context(fields, Problem.of(exc, "new", fields)))
    if form.get("issue_now") == "on" and (fields.get("owner") or fields["severity"] ==
                                          "observation"):
        try:
            await service.transition(nc.id, user, "open", {
                "owner": fields.get("owner"), "comment": fields.get("comment", "")})
        except WorkflowError as exc:
            return await _refused(request, nc.id, exc, "transition:issue", fields)
    return Redirect(f"/nonconformances/{nc.id}")


# --- one NC ------------------------------------------------------------------


@get("/nonconformances/{nc_id:int}", name="findings:detail", opt=ANY_USER)
async def detail_page(request: Req, nc_id: FromPath[int]) -> Template:
    return await _detail_page(request, nc_id)


@post("/nonconformances/{nc_id:int}/transitions", name="findings:transition", opt=ANY_USER)
async def transition_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await request.form()
    fields = form_fields(form)
    to = str(form.get("to", ""))
    try:
        decision = await service.transition(nc_id, request.scope["user"], to, fields)
    except WorkflowError as exc:
        return await _refused(request, nc_id, exc, f"to:{to}", fields)
    del decision
    return Redirect(safe_next(form.get("next"), f"/nonconformances/{nc_id}"))


@post("/nonconformances/{nc_id:int}/edit", name="findings:edit", opt=ANY_USER)
async def edit_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    form = await request.form()
    fields = form_fields(form)
    fields.pop("next", None)
    issue = fields.pop("then", "") == "issue"
    try:
        await service.edit(nc_id, request.scope["user"], fields)
        if issue:
            await service.transition(nc_id, request.scope["user"], "open",
                                     {"comment": fields.get("comment", "")})
    except WorkflowError as exc:
        review = REVIEW_PATH.fullmatch(safe_next(form.get("next"), ""))
        if review and exc.status in (409, 422, 403):
            return await _review_page(request, int(review.group(1)),
                                      Problem.of(exc, f"draft:{nc_id}", fields))
        return await _refused(request, nc_id, exc, "edit", fields)
    return Redirect(safe_next(form.get("next"), f"/nonconformances/{nc_id}"))


@post("/nonconformances/{nc_id:int}/reassign", name="findings:reassign", opt=ANY_USER)
async def reassign_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    fields = form_fields(await request.form())
    try:
        await service.reassign(nc_id, request.scope["user"], fields)
    except WorkflowError as exc:
        return await _refused(request, nc_id, exc, "reassign", fields)
    return Redirect(f"/nonconformances/{nc_id}")


@post("/nonconformances/{nc_id:int}/concession", name="findings:concession", opt=ANY_USER)
async def concession_submit(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    fields = form_fields(await request.form())
    try:
        if fields.get("done"):
            await service.complete_concession(nc_id, request.scope["user"], fields)
        else:
            await service.grant_concession(nc_id, request.scope["user"], fields)
    except WorkflowError as exc:
        return await _refused(request, nc_id, exc, "concession", fields)
    return Redirect(f"/nonconformances/{nc_id}")


@post("/nonconformances/{nc_id:int}/actions", name="findings:action:add", opt=ANY_USER)
async def action_add(request: Req, nc_id: FromPath[int]) -> Template | Redirect:
    fields = form_fields(await request.form())
    try:
        await service.add_action(nc_id, request.scope["user"], fields)
    except WorkflowError as exc:
        return await _refused(request, nc_id, exc, "action", fields)
    return Redirect(f"/nonconformances/{nc_id}#actions")


@post("/nonconformances/{nc_id:int}/actions/{action_id:int}", name="findings:action:update",
      opt=ANY_USER)
async def action_update(request: Req, nc_id: FromPath[int], action_id: FromPath[int]
                        ) -> Template | Redirect:
    form = await request.form()
    fields = form_fields(form)
    try:
        if form.get("op") == "withdraw":
            await service.withdraw_action(nc_id, action_id, request.scope["user"],
                                          str(form.get("note", "")))
        else:
            await service.complete_action(nc_id, action_id, request.scope["user"],
                                          str(form.get("note", "")))
    except WorkflowError as exc:
        return await _refused(request, nc_id, exc, f"action:{action_id}", fields)
    return Redirect(f"/nonconformances/{nc_id}#actions")


@get("/nonconformances/{nc_id:int}/notice.pdf", name="findings:notice", opt=ANY_USER)
async def notice_pdf(request: Req, nc_id: FromPath[int]) -> Response[bytes]:
    return await notice_response(request, nc_id)


async def notice_response(request: Req, nc_id: int) -> Response[bytes]:
    user = request.scope["user"]
    row = await service.load_visible(nc_id, user)
    nc = await detail(nc_id, clock.today())
    assert nc is not None
    lang = request.query_params.get("lang") or current_language.get()
    pdf = await render_notice(nc, data_dir=request.app.state.settings.data_dir, lang=lang)
    return Response(pdf, media_type="application/pdf", headers={
        "content-disposition": f'inline; filename="{row.ref}.pdf"'})


# --- the auditor's review of an audit's drafts --------------------------------


async def _review_page(request: Req, audit_id: int, problem: Problem | None = None
                       ) -> Template:
    user = request.scope["user"]
    audit = await audit_of(audit_id)
    if audit is None:
        raise NotFoundException(_("No audit with this number."))
    scope, args = scope_sql(user)
    rows = await Nonconformance.raw(
        f"SELECT n.id FROM nonconformance n WHERE n.audit = {{}} AND {scope} ORDER BY n.id",
        audit_id, *args,
    )
    if not rows and not user.sees_everything and audit["lead_auditor"] != user.id:
        raise NotFoundException(_("No audit with this number."))
    today = clock.today()
    policy = await pol.load_policy()
    who = Who.of(user)
    drafts, issued = [], []
    for r in rows:
        nc = await detail(r["id"], today)
        if nc is None:
            continue
        nc["preview_due"] = pol.plan_due(policy, nc["severity"], today)
        nc["can_edit"] = nc["state"] == "draft" and may(DRAFT_EDITORS, who, facts_from(nc))
        (drafts if nc["state"] == "draft" else issued).append(nc)
    return Template("findings/review.html", status_code=problem.status if problem else 200,
                    context={"audit": audit, "drafts": drafts, "issued": issued,
                             "users": await active_users(), "severities": SEVERITIES,
                             "state_label": state_label, "problem": problem,
                             "can_review": any(d["can_edit"] for d in drafts)})


@get("/audits/{audit_id:int}/nonconformances", name="findings:review", opt=ANY_USER)
async def review_page(request: Req, audit_id: FromPath[int]) -> Template:
    return await _review_page(request, audit_id)


@post("/audits/{audit_id:int}/nonconformances/merge", name="findings:merge", opt=ANY_USER)
async def merge_submit(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    form = await request.form()
    fields = form_fields(form)
    keep, other = fields.get("keep"), fields.get("other")
    try:
        if not keep or not other:
            raise WorkflowError(422, _("Choose the two drafts to merge."),
                                missing=[n for n in ("keep", "other") if not fields.get(n)])
        await service.merge(int(keep), int(other), request.scope["user"])
    except (ValueError, WorkflowError) as exc:
        error = exc if isinstance(exc, WorkflowError) else WorkflowError(
            422, _("Choose the two drafts to merge."))
        if error.status == 404:
            raise error from None
        return await _review_page(request, audit_id, Problem.of(error, "merge", fields))
    return Redirect(f"/audits/{audit_id}/nonconformances")


@post("/audits/{audit_id:int}/nonconformances/issue", name="findings:issue_all",
      opt=ANY_USER)
async def issue_all(request: Req, audit_id: FromPath[int]) -> Template | Redirect:
    """Issue every draft of the audit that is ready (has an owner, or is an observation)."""
    user = request.scope["user"]
    scope, args = scope_sql(user)
    rows = await Nonconformance.raw(
        f"SELECT n.id, n.owner, n.severity FROM nonconformance n WHERE n.audit = {{}}"
        f" AND n.state = 'draft' AND {scope} ORDER BY n.id", audit_id, *args,
    )
    for r in rows:
        if r["owner"] is None and r["severity"] != "observation":
            continue
        try:
            await service.transition(r["id"], user, "open", {})
        except WorkflowError as exc:
            return await _review_page(request, audit_id,
                                      Problem.of(exc, f"draft:{r['id']}", {}))
    return Redirect(f"/audits/{audit_id}/nonconformances")


# --- my actions, dashboard, policy -------------------------------------------


@get("/my-actions", name="findings:my_actions", opt=ANY_USER)
async def my_actions_page(request: Req) -> Template:
    user = request.scope["user"]
    policy = await pol.load_policy()
    today = clock.today()
    async with read_snapshot():
        todos = await my_actions(user, today, policy.remind_days_before)
    return Template("findings/my_actions.html", context={
        "todos": todos, "today": today, "remind_days": policy.remind_days_before,
        "overdue": [t for t in todos if t.overdue],
        "soon": [t for t in todos if t.soon and not t.overdue],
    })


@get("/dashboard", name="findings:dashboard", opt=MANAGERS)
async def dashboard_page(request: Req) -> Template:
    filters = DashFilters.parse(request.query_params)
    today = clock.today()
    data = await dashboard(filters, today)
    open_ = data["open"]
    severity_bar = charts.stacked([(s, open_["by_severity"][s]) for s in SEVERITIES])
    state_rows = charts.bars([{"key": st, "open": open_["by_state"][st],
                               "overdue": 0} for st in ACTIVE_STATES])
    ageing = charts.bars([{"key": i, "open": n, "overdue": 0}
                          for i, n in enumerate(open_["ageing"])])
    return Template("findings/dashboard.html", context={
        "d": data, "filters": filters, "today": today, "periods": PERIODS,
        "severities": SEVERITIES, "active_states": ACTIVE_STATES, "state_label": state_label,
        "severity_bar": severity_bar, "state_rows": state_rows, "ageing": ageing,
        "by_org_unit": charts.bars(data["by_org_unit"]),
        "by_project": charts.bars(data["by_project"]),
        "by_owner": charts.bars(data["by_owner"]),
        **await _choices(),
    })


@get("/dashboard/scores", name="findings:dashboard:scores", opt=MANAGERS)
async def dashboard_scores(request: Req) -> Template:
    """The audit-score panel: loaded by the dashboard after the page (htmx), and on its
    own as a page without JavaScript."""
    filters = DashFilters.parse(request.query_params)
    async with read_snapshot():
        scores = await audit_scores(filters, clock.today())
    for unit in scores["units"]:
        unit["columns"] = charts.columns([v["score"] if v else None for v in unit["values"]])
    fragment = request.headers.get("hx-request") == "true"
    return Template("findings/partials/scores.html" if fragment else "findings/scores.html",
                    context={"scores": scores, "filters": filters})


@get("/settings/nc-policy", name="findings:policy", opt=MANAGERS)
async def policy_page() -> Template:
    from server.changelog.record import history
    from server.findings.tables import AppSetting

    row = await AppSetting.select(AppSetting.id).where(AppSetting.key == pol.POLICY_KEY).first()
    return Template("findings/policy.html", context={
        "policy": (await pol.load_policy()).as_json(), "problems": {}, "saved": False,
        "severities": SEVERITIES,
        "history": await history("app_setting", row["id"]) if row else [],
    })


@post("/settings/nc-policy", name="findings:policy:save", opt=MANAGERS)
async def policy_save(request: Req) -> Template:
    from server.changelog.record import history
    from server.findings.tables import AppSetting

    form = await request.form()
    data: dict[str, Any] = {
        sev: {
            "corrective_action": form.get(f"{sev}.corrective_action") == "on",
            "plan_days": form.get(f"{sev}.plan_days", ""),
            "close_days": form.get(f"{sev}.close_days", ""),
        }
        for sev in SEVERITIES
    }
    data["remind_days_before"] = form.get("remind_days_before", "")
    status, problems, saved = 200, {}, False
    try:
        policy = pol.parse_policy(data)
    except pol.PolicyError as exc:
        status, problems = 422, exc.problems
    else:
        await pol.save_policy(policy, request.scope["user"], str(form.get("reason", "")))
        data, saved = policy.as_json(), True
    row = await AppSetting.select(AppSetting.id).where(AppSetting.key == pol.POLICY_KEY).first()
    return Template("findings/policy.html", status_code=status, context={
        "policy": data, "problems": problems, "saved": saved, "severities": SEVERITIES,
        "history": await history("app_setting", row["id"]) if row else [],
    })


ROUTES: list[Any] = [
    register_page, export_csv, export_xlsx, new_page, create_submit, detail_page,
    transition_submit, edit_submit, reassign_submit, concession_submit, action_add,
    action_update, notice_pdf, review_page, merge_submit, issue_all, my_actions_page,
    dashboard_page, dashboard_scores, policy_page, policy_save,
]
