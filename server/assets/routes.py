"""Pages and API of the assets domain."""

from typing import Any

from server.assets import api, pages, plan_routes

ROUTES: list[Any] = [*pages.ROUTES, *plan_routes.ROUTES, *api.ROUTES]
