"""Every route handler of the app, by domain."""

from __future__ import annotations

from typing import Any

from server.web import checklists, health, home, offline, reports
from server.web.accounts import admin, setup
from server.web.accounts import api as account_api
from server.web.accounts import pages as account_pages
from server.web.assets import api as asset_api
from server.web.assets import inspections
from server.web.assets import pages as asset_pages
from server.web.audits import api as audit_api
from server.web.audits import pages as audit_pages
from server.web.audits import programme
from server.web.directory import api as directory_api
from server.web.directory import pages as directory_pages
from server.web.findings import api as findings_api
from server.web.findings import pages as findings_pages

ROUTES: list[Any] = [
    health.healthz,
    health.scrape,
    *home.ROUTES,
    *offline.ROUTES,
    *account_pages.ROUTES,
    *admin.ROUTES,
    *setup.ROUTES,
    *account_api.ROUTES,
    *checklists.ROUTES,
    *audit_pages.ROUTES,
    *programme.ROUTES,
    *audit_api.ROUTES,
    *asset_pages.ROUTES,
    *inspections.ROUTES,
    *asset_api.ROUTES,
    *findings_pages.ROUTES,
    *findings_api.ROUTES,
    *reports.ROUTES,
    *directory_pages.ROUTES,
    *directory_api.ROUTES,
]
