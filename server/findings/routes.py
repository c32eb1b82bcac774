"""Pages and API of the findings domain."""

from typing import Any

from server.findings.api import ROUTES as API_ROUTES
from server.findings.pages import ROUTES as PAGE_ROUTES

ROUTES: list[Any] = [*PAGE_ROUTES, *API_ROUTES]
