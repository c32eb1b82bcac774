"""The directory's pages: departments, projects (with their phase) and locations, kept
by the admin and the quality manager; and the setup overview."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server.accounts.roles import Role, allow
from server.accounts.users import active_users, users_list
from server.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.directory import importing, locations, projects, queries, units
from server.directory.history import LOCATION, PROJECT, UNIT
from server.directory.schemas import LocationIn, PhaseMove, ProjectIn, UnitIn
from server.flows.projects import may_move, move_project_phase, phase_audit
from server.history.readable import of as history_of
from server.org.queries import org_units
from server.web.bodies import read_form
from server.web.params import OptionalQueryInt

Req = Request[Any, Any, Any]
EDITORS = allow(Role.admin, Role.quality_manager)


def _ticked(form: Any, name: str = "active") -> bool:
    return name in form


# --- the overview -----------------------------------------------------------------


@get("/admin", name="directory:home", opt=EDITORS)
async def setup_home() -> Template:
    return Template("directory/home.html", context={
        "units": len(await queries.units_tree()),
        "projects": len(await queries.projects_list()),
        "locations": len(await queries.locations_list()),
        "users": len(await users_list()),
    })


# --- departments ------------------------------------------------------------------


async def _unit_page(unit: Any, data: dict[str, Any], problems: dict[str, str],
                     status: int = 200) -> Template:
    return Template("directory/unit_form.html", status_code=status, context={
        "unit": unit, "data": data, "problems": problems,
        "units": [u for u in await org_units() if unit is None or u["id"] != unit.id],
        "users": await active_users(),
        "history": await history_of(UNIT, unit.id) if unit else [],
    })


@get("/admin/org-units", name="directory:units", opt=EDITORS)
async def units_page(q: FromQuery[str] = "", active: FromQuery[str] = "") -> Template:
    return Template("directory/units.html", context={
        "rows": await queries.units_tree(q[:100], active), "q": q[:100], "active": active})


@get("/admin/org-units/new", name="directory:units:new", opt=EDITORS)
async def new_unit_page() -> Template:
    return await _unit_page(None, {"active": True}, {})


@post("/admin/org-units", name="directory:units:create", opt=EDITORS)
async def create_unit_submit(request: Req) -> Template | Redirect:
    form = await read_form(request)
    data = parse(UnitIn, form)
    data.active = _ticked(form)
    try:
        unit = await units.create_unit(data, request.scope["user"])
    except (Invalid, Conflict) as exc:
        return await _unit_page(None, dict(form.items()), exc.problems, 422)
    return Redirect(f"/admin/org-units/{unit.id}")


@get("/admin/org-units/{unit_id:int}", name="directory:units:edit", opt=EDITORS)
async def edit_unit_page(unit_id: FromPath[int]) -> Template:
    unit = await units.get_unit(unit_id)
    return await _unit_page(unit, unit.to_dict(), {})


@post("/admin/org-units/{unit_id:int}", name="directory:units:update", opt=EDITORS)
async def update_unit_submit(request: Req, unit_id: FromPath[int]) -> Template | Redirect:
    unit = await units.get_unit(unit_id)
    form = await read_form(request)
    data = parse(UnitIn, form)
    data.active = _ticked(form)
    data.parent = data.parent  # an emptied parent select means "at the top"
    if "parent" in form and not form.get("parent"):
        data.parent = None
    if "head" in form and not form.get("head"):
        data.head = None
    try:
        await units.update_unit(unit, data, request.scope["user"])
    except (Invalid, Conflict) as exc:
        return await _unit_page(unit, dict(form.items()), exc.problems, 422)
    return Redirect(f"/admin/org-units/{unit.id}")


# --- projects ---------------------------------------------------------------------


async def _project_page(request: Req, project: Any, data: dict[str, Any],
                        problems: dict[str, str], status: int = 200,
                        phase_problem: DomainError | None = None) -> Template:
    return Template("directory/project_form.html", status_code=status, context={
        "project": project, "data": data, "problems": problems,
        "units": await org_units(), "users": await active_users(),
        "members": await projects.members_of(project.id) if project else [],
        "phase_audit": await phase_audit(project) if project else None,
        "next_phase": projects.next_phase(project.phase) if project else None,
        "can_move": may_move(request.scope["user"], project) if project else False,
        "phase_problem": phase_problem,
        "history": await history_of(PROJECT, project.id) if project else [],
    })


@get("/admin/projects", name="directory:projects", opt=EDITORS)
async def projects_page(q: FromQuery[str] = "", active: FromQuery[str] = "",
                        org_unit: FromQuery[OptionalQueryInt] = None,
                        phase: FromQuery[str] = "") -> Template:
    return Template("directory/projects.html", context={
        "rows": await queries.projects_list(q[:100], active, org_unit, phase),
        "q": q[:100], "active": active, "org_unit": org_unit, "phase": phase,
        "units": await org_units(), "phases": projects.PHASES})


@get("/admin/projects/new", name="directory:projects:new", opt=EDITORS)
async def new_project_page(request: Req) -> Template:
    return await _project_page(request, None, {"active": True}, {})


def _members(form: Any) -> list[int]:
    return [int(m) for m in form.getall("members") if str(m).isdigit() and len(str(m)) < 10] \
        if "members" in form else []


@post("/admin/projects", name="directory:projects:create", opt=EDITORS)
async def create_project_submit(request: Req) -> Template | Redirect:
    form = await read_form(request)
    data = parse(ProjectIn, form)
    data.active = _ticked(form)
    data.members = _members(form)
    try:
        project = await projects.create_project(data, request.scope["user"])
    except (Invalid, Conflict) as exc:
        return await _project_page(request, None, dict(form.items()), exc.problems, 422)
    return Redirect(f"/admin/projects/{project.id}")


@get("/admin/projects/{project_id:int}", name="directory:projects:edit", opt=EDITORS)
async def edit_project_page(request: Req, project_id: FromPath[int]) -> Template:
    project = await projects.get_project(project_id)
    return await _project_page(request, project, project.to_dict(), {})


@post("/admin/projects/{project_id:int}", name="directory:projects:update", opt=EDITORS)
async def update_project_submit(request: Req, project_id: FromPath[int]
                                ) -> Template | Redirect:
    project = await projects.get_project(project_id)
    form = await read_form(request)
    data = parse(ProjectIn, form)
    data.active = _ticked(form)
    data.members = _members(form)
    for name in ("org_unit", "manager", "quality_owner"):
        if name in form and not form.get(name):
            setattr(data, name, None)
    try:
        await projects.update_project(project, data, request.scope["user"])
    except (Invalid, Conflict) as exc:
        return await _project_page(request, project, dict(form.items()), exc.problems, 422)
    return Redirect(f"/admin/projects/{project.id}")


@post("/admin/projects/{project_id:int}/phase", name="directory:projects:phase",
      opt=allow(Role.admin, Role.quality_manager, Role.project_manager))
async def move_phase_submit(request: Req, project_id: FromPath[int]) -> Template | Redirect:
    move = parse(PhaseMove, await read_form(request))
    try:
        await move_project_phase(project_id, move.to, request.scope["user"], move.reason)
    except (Invalid, Conflict) as exc:
        project = await projects.get_project(project_id)
        return await _project_page(request, project, project.to_dict(), {}, exc.status,
                                   phase_problem=exc)
    return Redirect(f"/admin/projects/{project_id}#phase")


# --- locations --------------------------------------------------------------------


async def _location_page(location: Any, data: dict[str, Any], problems: dict[str, str],
                         status: int = 200) -> Template:
    return Template("directory/location_form.html", status_code=status, context={
        "location": location, "data": data, "problems": problems, "units": await org_units(),
        "history": await history_of(LOCATION, location.id) if location else [],
    })


@get("/admin/locations", name="directory:locations", opt=EDITORS)
async def locations_page(q: FromQuery[str] = "", active: FromQuery[str] = "") -> Template:
    return Template("directory/locations.html", context={
        "rows": await queries.locations_list(q[:100], active), "q": q[:100],
        "active": active})


@get("/admin/locations/new", name="directory:locations:new", opt=EDITORS)
async def new_location_page() -> Template:
    return await _location_page(None, {"active": True}, {})


@post("/admin/locations", name="directory:locations:create", opt=EDITORS)
async def create_location_submit(request: Req) -> Template | Redirect:
    form = await read_form(request)
    data = parse(LocationIn, form)
    data.active = _ticked(form)
    try:
        row = await locations.save_location(data, request.scope["user"])
    except (Invalid, Conflict) as exc:
        return await _location_page(None, dict(form.items()), exc.problems, 422)
    return Redirect(f"/admin/locations/{row.id}")


@get("/admin/locations/{location_id:int}", name="directory:locations:edit", opt=EDITORS)
async def edit_location_page(location_id: FromPath[int]) -> Template:
    row = await locations.get_location(location_id)
    return await _location_page(row, row.to_dict(), {})


@post("/admin/locations/{location_id:int}", name="directory:locations:update", opt=EDITORS)
async def update_location_submit(request: Req, location_id: FromPath[int]
                                 ) -> Template | Redirect:
    row = await locations.get_location(location_id)
    form = await read_form(request)
    data = parse(LocationIn, form)
    data.active = _ticked(form)
    if "org_unit" in form and not form.get("org_unit"):
        data.org_unit = None
    try:
        await locations.save_location(data, request.scope["user"], row)
    except (Invalid, Conflict) as exc:
        return await _location_page(row, dict(form.items()), exc.problems, 422)
    return Redirect(f"/admin/locations/{row.id}")


# --- import -----------------------------------------------------------------------


async def _import_page(request: Req, kind: str, result: Any = None, status: int = 200
                       ) -> Template:
    return Template("directory/import.html", status_code=status, context={
        "kinds": _kinds(request), "kind": kind, "result": result,
        "sheets": {k: importing.SHEETS[k] for k in _kinds(request)}})


def _kinds(request: Req) -> list[str]:
    """Users are the admin's to import; departments and projects the QM's too."""
    kinds = ["departments", "projects"]
    return [*kinds, "users"] if request.scope["user"].has(Role.admin) else kinds


@get("/admin/import", name="directory:import", opt=EDITORS)
async def import_page(request: Req) -> Template:
    return await _import_page(request, "departments")


@post("/admin/import", name="directory:import:submit", opt=EDITORS, status_code=200)
async def import_submit(request: Req) -> Template:
    form = await read_form(request)
    kind = str(form.get("kind", ""))
    if kind not in _kinds(request):
        raise Forbidden(_("You may not import this kind of file."))
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid(_("Choose a CSV or XLSX file."), missing=["file"])
    result = await importing.import_file(kind, request.scope["user"], upload.filename or "",
                                         await upload.read())
    return await _import_page(request, kind, result, 422 if result.problems else 200)


@get("/admin/import/template/{kind:str}", name="directory:import:template", opt=EDITORS)
async def import_template(request: Req, kind: FromPath[str]) -> Response[bytes]:
    if kind not in _kinds(request):
        raise NotFound(_("No such template."))
    return Response(importing.template(kind), headers={
        "Content-Disposition": f'attachment; filename="{kind}.xlsx"'},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


ROUTES = [
    import_page, import_submit, import_template,
    setup_home, units_page, new_unit_page, create_unit_submit, edit_unit_page,
    update_unit_submit, projects_page, new_project_page, create_project_submit,
    edit_project_page, update_project_submit, move_phase_submit, locations_page,
    new_location_page, create_location_submit, edit_location_page, update_location_submit,
]
