"""Users through the JSON API: listed by the admin and the quality manager, created and
changed by the admin."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery

from server.accounts import users
from server.accounts.roles import Role, allow
from server.accounts.schemas import UserJson
from server.core.errors import Invalid
from server.core.i18n import gettext as _
from server.core.inputs import parse
from server.web.bodies import json_object

Req = Request[Any, Any, Any]


async def _json(user_id: int) -> dict[str, Any]:
    user = await users.get_user(user_id)
    return users.user_json(user, await users.roles_of(user_id), await users.projects_of(user_id))


@get("/api/v1/users", name="api:users:list", opt=allow(Role.admin, Role.quality_manager))
async def api_users(q: FromQuery[str] = "", active: FromQuery[str] = "") -> dict[str, Any]:
    rows = await users.users_list(q[:100], active)
    return {"items": [users.user_json(r, r["roles"], await users.projects_of(r["id"]))
                      for r in rows],
            "total": len(rows)}


@post("/api/v1/users", name="api:users:create", opt=allow(Role.admin), status_code=201)
async def api_create_user(request: Req) -> Response[dict[str, Any]]:
    data = parse(UserJson, await json_object(request))
    if not data.password:
        raise Invalid(_("Some values are not valid"), missing=["password"])
    user = await users.create_user(await users.from_json(data), data.password,
                                   request.scope["user"])
    return Response(await _json(user.id), status_code=201,
                    headers={"Location": f"/api/v1/users/{user.id}"})


@patch("/api/v1/users/{user_id:int}", name="api:users:edit", opt=allow(Role.admin))
async def api_edit_user(request: Req, user_id: FromPath[int]) -> dict[str, Any]:
    user = await users.get_user(user_id)
    data = parse(UserJson, await json_object(request))
    await users.update_user(user, await users.from_json(data, user), request.scope["user"],
                            data.reason)
    if data.password:
        await users.reset_password(user, data.password, request.scope["user"])
    return await _json(user_id)


ROUTES = [api_users, api_create_user, api_edit_user]
