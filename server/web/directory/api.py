"""The directory's JSON API: departments and projects (read by anyone logged in, changed
by the admin and the quality manager), and a project's phase."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery

from server.accounts.roles import ANY_USER, Role, allow
from server.core.inputs import parse
from server.directory import projects, queries, units
from server.directory.schemas import PhaseMove, ProjectIn, UnitIn
from server.flows.projects import move_project_phase
from server.web.bodies import json_object
from server.web.params import OptionalQueryInt

Req = Request[Any, Any, Any]
EDITORS = allow(Role.admin, Role.quality_manager)


@get("/api/v1/org-units", name="api:units:list", opt=ANY_USER)
async def api_units(q: FromQuery[str] = "", active: FromQuery[str] = "") -> dict[str, Any]:
    """Departments in tree order (`depth`), filtered by q (code, names, head) and active
    (1 or 0)."""
    rows = await queries.units_tree(q[:100], active)
    return {"items": [{**queries.unit_json(r), "depth": r["depth"]} for r in rows],
            "total": len(rows)}


@post("/api/v1/org-units", name="api:units:create", opt=EDITORS, status_code=201)
async def api_create_unit(request: Req) -> Response[dict[str, Any]]:
    unit = await units.create_unit(parse(UnitIn, await json_object(request)),
                                   request.scope["user"])
    return Response(queries.unit_json(unit.to_dict()), status_code=201,
                    headers={"Location": f"/api/v1/org-units/{unit.id}"})


@get("/api/v1/org-units/{unit_id:int}", name="api:units:detail", opt=ANY_USER)
async def api_unit(unit_id: FromPath[int]) -> dict[str, Any]:
    return queries.unit_json((await units.get_unit(unit_id)).to_dict())


@patch("/api/v1/org-units/{unit_id:int}", name="api:units:edit", opt=EDITORS)
async def api_edit_unit(request: Req, unit_id: FromPath[int]) -> dict[str, Any]:
    unit = await units.get_unit(unit_id)
    await units.update_unit(unit, parse(UnitIn, await json_object(request)),
                            request.scope["user"])
    return queries.unit_json((await units.get_unit(unit_id)).to_dict())


async def _project_json(project_id: int) -> dict[str, Any]:
    project = await projects.get_project(project_id)
    return queries.project_json(project.to_dict(), await projects.members_of(project_id))


@get("/api/v1/projects", name="api:projects:list", opt=ANY_USER)
async def api_projects(q: FromQuery[str] = "", active: FromQuery[str] = "",
                       org_unit: FromQuery[OptionalQueryInt] = None,
                       phase: FromQuery[str] = "") -> dict[str, Any]:
    """Projects by code, filtered by q (code, names, client), active, org_unit, phase."""
    rows = await queries.projects_list(q[:100], active, org_unit, phase)
    return {"items": [queries.project_json(r, []) | {"members": None} for r in rows],
            "total": len(rows)}


@post("/api/v1/projects", name="api:projects:create", opt=EDITORS, status_code=201)
async def api_create_project(request: Req) -> Response[dict[str, Any]]:
    project = await projects.create_project(parse(ProjectIn, await json_object(request)),
                                            request.scope["user"])
    return Response(await _project_json(project.id), status_code=201,
                    headers={"Location": f"/api/v1/projects/{project.id}"})


@get("/api/v1/projects/{project_id:int}", name="api:projects:detail", opt=ANY_USER)
async def api_project(project_id: FromPath[int]) -> dict[str, Any]:
    return await _project_json(project_id)


@patch("/api/v1/projects/{project_id:int}", name="api:projects:edit", opt=EDITORS)
async def api_edit_project(request: Req, project_id: FromPath[int]) -> dict[str, Any]:
    project = await projects.get_project(project_id)
    await projects.update_project(project, parse(ProjectIn, await json_object(request)),
                                  request.scope["user"])
    return await _project_json(project_id)


@post("/api/v1/projects/{project_id:int}/phase", name="api:projects:phase",
      opt=allow(Role.admin, Role.quality_manager, Role.project_manager), status_code=200)
async def api_move_phase(request: Req, project_id: FromPath[int]) -> dict[str, Any]:
    """{"to": "plan", "reason": "..."}: one phase forward (a reason when the phase's audit
    was not passed)."""
    move = parse(PhaseMove, await json_object(request))
    await move_project_phase(project_id, move.to, request.scope["user"], move.reason)
    return await _project_json(project_id)


ROUTES = [api_units, api_create_unit, api_unit, api_edit_unit, api_projects,
          api_create_project, api_project, api_edit_project, api_move_phase]
