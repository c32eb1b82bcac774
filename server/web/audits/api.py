"""The audits JSON API (bearer tokens)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from server.accounts.roles import ANY_USER
from server.audits import service
from server.audits.access import RUNNERS, STARTERS
from server.audits.schemas import AnswerBatch, AnswerIn, RunQuery, StartAudit
from server.audits.views import load_run
from server.checklists.labels import label
from server.core.errors import Invalid
from server.core.i18n import current_language
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.findings.queries import ncs_of_audit
from server.flows.inspections import start_run
from server.flows.runs import editable_run, visible_run, visible_runs
from server.flows.submission import submit_run
from server.web.bodies import json_object, read_form

Req = Request[Any, Any, Any]


async def _nc_ids(audit_id: int) -> list[int]:
    return [r["id"] for r in await ncs_of_audit(audit_id)]


@post("/api/v1/audits", name="api:audits:start", status_code=201,
      opt=STARTERS)
async def start(request: Req) -> dict[str, Any]:
    data = parse(StartAudit, await json_object(request))
    audit = await start_run(data, request.scope["user"])
    return {"id": audit.id, "checklist": audit.checklist_key,
            "checklist_version": audit.checklist_version, "status": audit.status}


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@get("/api/v1/audits", name="api:audits:list", opt=ANY_USER)
async def runs(request: Req) -> dict[str, Any]:
    """The runs the caller may open, newest first; filters as README's API section
    says. `updated_since` pulls what changed since a client's last sync."""
    query = parse(RunQuery, request.query_params)
    page, total = await visible_runs(request.scope["user"], query)
    return {
        "items": [{
            "id": r["id"], "kind": r["kind"], "status": r["status"],
            "status_label": label("status", r["status"]), "checklist": r["checklist_key"],
            "checklist_version": r["checklist_version"], "title": r["title"],
            "org_unit": r["org_unit"], "project": r["project"], "asset": r["asset"],
            "lead_auditor": r["lead_auditor"], "planned_date": _when(r["planned_date"]),
            "started_at": _when(r["started_at"]), "submitted_at": _when(r["submitted_at"]),
            "score_percent": r["score_percent"], "passed": r["passed"],
            "created_at": _when(r["created_at"]), "updated_at": _when(r["updated_at"]),
        } for r in page],
        "total": total, "limit": query.limit, "offset": query.offset,
    }


@get("/api/v1/audits/{audit_id:int}", name="api:audits:detail", opt=ANY_USER)
async def detail(request: Req, audit_id: FromPath[int]) -> dict[str, Any]:
    await visible_run(request.scope["user"], audit_id)
    run = await load_run(audit_id, current_language.get())
    audit = run.audit
    return {
        "id": audit["id"], "checklist": audit["checklist_key"],
        "checklist_version": audit["checklist_version"], "kind": audit["kind"],
        "status": audit["status"], "status_label": label("status", audit["status"]),
        "title": audit["title"],
        "org_unit": audit["org_unit"], "project": audit["project"], "asset": audit["asset"],
        "score": run.score.to_json() if audit["status"] in service.EDITABLE
        else service.load_value(audit["score"]),
        "progress": {"answered": run.progress.answered, "required": run.progress.required,
                     "next_item": run.progress.next_item},
        "answers": {
            item_id: {"value": a["value"], "comment": a["comment"], "result": a["result"],
                      "version": a["version"]}
            for item_id, a in run.answers.items()
        },
        "photos": {item_id: [p["id"] for p in rows] for item_id, rows in run.photos.items()},
        "nonconformances": await _nc_ids(audit_id),
        "submitted_at": audit["submitted_at"].isoformat() if audit["submitted_at"] else None,
        "signer": audit["signer_name"] or None,
    }


@put("/api/v1/audits/{audit_id:int}/answers/{item_id:str}", name="api:audits:answer",
     opt=RUNNERS)
async def answer(request: Req, audit_id: FromPath[int], item_id: FromPath[str]
                 ) -> dict[str, Any]:
    await editable_run(request.scope["user"], audit_id)
    data = parse(AnswerIn, await json_object(request))
    saved = await service.save_answer(audit_id, item_id, data.value, request.scope["user"],
                                      comment=data.comment, base_version=data.base_version)
    return {"item_id": item_id, "value": saved["value"], "comment": saved["comment"],
            "result": saved["result"], "version": saved["version"],
            "needs": saved.get("needs"), "date_problem": saved.get("date_problem")}


@post("/api/v1/audits/{audit_id:int}/answers:batch", name="api:audits:answers",
      status_code=200, opt=RUNNERS)
async def answers(request: Req, audit_id: FromPath[int]) -> dict[str, Any]:
    """Many answers in one request, in order (a device back from a day without network):
    `{"answers": [{item_id, value, comment, base_version, keep_value}]}`. Each is answered
    on its own in `results`, in the same order: `status` 200 with the new `version`, 409
    with the `current` stored answer, 422 or 404 with an `error`."""
    await editable_run(request.scope["user"], audit_id)
    data = parse(AnswerBatch, await json_object(request))
    return {"results": await service.save_answers(audit_id, data.answers, request.scope["user"])}


@post("/api/v1/audits/{audit_id:int}/answers/{item_id:str}/photos", name="api:audits:photo",
      status_code=201, opt=RUNNERS)
async def photo(request: Req, audit_id: FromPath[int], item_id: FromPath[str]
                ) -> dict[str, Any]:
    """A photo as the multipart field `file`."""
    await editable_run(request.scope["user"], audit_id)
    upload = (await read_form(request)).get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid(_("Choose a photo to upload."), missing=["file"])
    row = await service.add_image(audit_id, item_id, await upload.read(), request.scope["user"],
                                  request.app.state.settings.data_dir)
    return {"id": row["id"], "sha256": row["sha256"], "width": row["width"],
            "height": row["height"]}


@post("/api/v1/audits/{audit_id:int}/submit", name="api:audits:submit", status_code=200,
      opt=RUNNERS)
async def submit(request: Req, audit_id: FromPath[int]) -> dict[str, Any]:
    await editable_run(request.scope["user"], audit_id)
    result = await submit_run(audit_id, request.scope["user"],
                              meaning="submitted through the API")
    return {"status": "submitted", "score": result.to_json(),
            "nonconformances": await _nc_ids(audit_id)}


ROUTES: list[Any] = [start, runs, detail, answer, answers, photo, submit]
