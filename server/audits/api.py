"""The audits JSON API (bearer tokens)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, JSONBody
from msgspec import Struct

from server.accounts.roles import ANY_USER, Role, allow
from server.audits import access, service
from server.audits.routes import RUNNERS, editable, viewable
from server.audits.scoring import Score
from server.audits.views import load_run
from server.checklists import store
from server.i18n import current_language
from server.i18n import gettext as _

Req = Request[Any, Any, Any]


class StartAudit(Struct, forbid_unknown_fields=True):
    checklist: str
    version: int | None = None
    title: str = ""
    org_unit: int | None = None
    project: int | None = None
    asset: str | None = None  # an asset code


class AnswerIn(Struct, forbid_unknown_fields=True):
    value: Any = None
    comment: str | None = None
    base_version: int | None = None


def _score(score: Score | None) -> dict[str, Any] | None:
    return score.to_json() if score else None


async def _nc_ids(audit_id: int) -> list[int]:
    from server.findings.tables import Nonconformance

    rows = await Nonconformance.select(Nonconformance.id).where(
        Nonconformance.audit == audit_id).order_by(Nonconformance.id)
    return [r["id"] for r in rows]


@post("/api/v1/audits", name="api:audits:start", status_code=201,
      opt=allow(Role.auditor, Role.engineer, Role.quality_manager))
async def start(request: Req, data: JSONBody[StartAudit]) -> dict[str, Any]:
    user = request.scope["user"]
    summary = next((s for s in await store.latest_summaries() if s.key == data.checklist), None)
    if summary is None:
        raise NotFoundException(f"no checklist {data.checklist!r}")
    if not access.can_start(user, summary.kind):
        raise PermissionDeniedException()
    asset_id = None
    if data.asset is not None:
        from server.assets.tables import Asset

        asset = await Asset.select(Asset.id).where(Asset.code == data.asset).first()
        if asset is None:
            raise NotFoundException(f"no asset {data.asset!r}")
        asset_id = asset["id"]
    audit = await service.start_audit(
        data.checklist, user, version=data.version, title=data.title, org_unit=data.org_unit,
        project=data.project, asset=asset_id)
    return {"id": audit.id, "checklist": audit.checklist_key,
            "checklist_version": audit.checklist_version, "status": audit.status}


@get("/api/v1/audits/{audit_id:int}", name="api:audits:detail", opt=ANY_USER)
async def detail(request: Req, audit_id: FromPath[int]) -> dict[str, Any]:
    await viewable(request, audit_id)
    run = await load_run(audit_id, current_language.get())
    audit = run.audit
    return {
        "id": audit["id"], "checklist": audit["checklist_key"],
        "checklist_version": audit["checklist_version"], "kind": audit["kind"],
        "status": audit["status"], "title": audit["title"],
        "org_unit": audit["org_unit"], "project": audit["project"], "asset": audit["asset"],
        "score": _score(run.score) if audit["status"] in service.EDITABLE
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
async def answer(request: Req, audit_id: FromPath[int], item_id: FromPath[str],
                 data: JSONBody[AnswerIn]) -> dict[str, Any]:
    await editable(request, audit_id)
    saved = await service.save_answer(audit_id, item_id, data.value, request.scope["user"],
                                      comment=data.comment, base_version=data.base_version)
    return {"item_id": item_id, "value": saved["value"], "comment": saved["comment"],
            "result": saved["result"], "version": saved["version"]}


@post("/api/v1/audits/{audit_id:int}/answers/{item_id:str}/photos", name="api:audits:photo",
      status_code=201, opt=RUNNERS)
async def photo(
    request: Req, audit_id: FromPath[int], item_id: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    await editable(request, audit_id)
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(status_code=422, detail="multipart field 'file' is required")
    row = await service.add_image(audit_id, item_id, await upload.read(), request.scope["user"],
                                  request.app.state.settings.data_dir)
    return {"id": row["id"], "sha256": row["sha256"], "width": row["width"],
            "height": row["height"]}


@post("/api/v1/audits/{audit_id:int}/submit", name="api:audits:submit", status_code=200,
      opt=RUNNERS)
async def submit(request: Req, audit_id: FromPath[int]) -> Response[dict[str, Any]]:
    await editable(request, audit_id)
    try:
        result = await service.submit(audit_id, request.scope["user"],
                                      meaning="submitted through the API")
    except service.Invalid as exc:
        return Response({"error": {"status": 422, "message": exc.message},
                         "missing": exc.details.get("missing", [])}, status_code=422)
    return Response({"status": "submitted", "score": result.to_json(),
                     "nonconformances": await _nc_ids(audit_id)})


@get("/api/v1/audits/{audit_id:int}/report.pdf", name="api:audits:report", opt=ANY_USER)
async def report(request: Req, audit_id: FromPath[int]) -> Response[bytes]:
    await viewable(request, audit_id)
    from server.reports.audit_report import load_audit_report, render_audit_report

    data = await load_audit_report(audit_id)
    if data is None:
        raise NotFoundException(_("No audit with this number."))
    pdf = await asyncio.to_thread(render_audit_report, data, lang=current_language.get(),
                                  data_dir=request.app.state.settings.data_dir)
    return Response(pdf, media_type="application/pdf")


ROUTES: list[Any] = [start, detail, answer, photo, submit, report]
