"""The Jinja environment of pages and htmx partials: the shared one (core/rendering.py)
with the CSRF token, checklist labels and date rules in words as globals."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from server.accounts.csrf import expected_token
from server.audits.daterules import describe as date_rule_words
from server.checklists.labels import label
from server.core.rendering import build_environment
from server.findings.labels import nc_title


def _csrf_token(request: Any) -> str:
    return expected_token(request.scope, request.app.state.settings.secret_key)


def page_environment() -> Environment:
    return build_environment({"label": label, "form_token": _csrf_token, "nc_title": nc_title,
                              "date_rule_words": date_rule_words})
