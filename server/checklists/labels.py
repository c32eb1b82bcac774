"""Human names for the format's codes (kinds, areas, phases, types...), translated."""

from __future__ import annotations

from server.core.i18n import current_language
from server.core.i18n import gettext as _


def _labels() -> dict[str, dict[str, str]]:
    # Built per call so the strings follow the request's language.
    return {
        "kind": {
            "org_audit": _("Organisation audits"),
            "project_audit": _("Project audits"),
            "inspection": _("Inspections"),
            "acceptance": _("Acceptance"),
            "survey": _("Surveys"),
        },
        "area": {
            "quality_management": _("Quality management"),
            "service_capability": _("O&M service capability"),
            "personnel": _("Personnel"),
            "resources": _("Resources"),
            "technology": _("Technology"),
            "process": _("Process"),
        },
        "phase": {
            "startup": _("Startup"),
            "plan": _("Plan"),
            "execution": _("Execution"),
            "monitoring": _("Monitoring"),
            "closure": _("Closure"),
        },
        "frequency": {
            "daily": _("Daily"),
            "weekly": _("Weekly"),
            "monthly": _("Monthly"),
            "quarterly": _("Quarterly"),
            "half_yearly": _("Half-yearly"),
            "yearly": _("Yearly"),
            "on_demand": _("On demand"),
        },
        "type": {
            "yes_no_na": _("Yes / No / N-A"),
            "pass_fail": _("Pass / Fail"),
            "scale": _("Scale"),
            "number": _("Number"),
            "text": _("Text"),
            "date": _("Date"),
            "single_choice": _("Single choice"),
            "multi_choice": _("Multiple choice"),
            "photo": _("Photo"),
            "signature": _("Signature"),
        },
        "role": {
            "admin": _("Administrator"),
            "quality_manager": _("Quality manager"),
            "management_rep": _("Management representative"),
            "quality_specialist": _("Quality specialist"),
            "department_head": _("Department head"),
            "project_manager": _("Project manager"),
            "auditor": _("Auditor"),
            "engineer": _("Engineer"),
            "owner": _("Action owner"),
        },
        "status": {
            "planned": _("planned"),
            "in_progress": _("in progress"),
            "submitted": _("submitted"),
            "closed": _("closed"),
            "cancelled": _("cancelled"),
        },
        "severity": {
            "major": _("Major"),
            "minor": _("Minor"),
            "observation": _("Observation"),
        },
        "photo": {
            "none": _("no photo"),
            "optional": _("photo optional"),
            "required": _("photo required"),
            "required_if_failed": _("photo required if failed"),
        },
    }


_cache: dict[str, dict[str, dict[str, str]]] = {}


def label(group: str, code: object) -> str:
    lang = current_language.get()
    table = _cache.get(lang)
    if table is None:
        table = _cache[lang] = _labels()
    value = getattr(code, "value", code)
    return table.get(group, {}).get(str(value), str(value))
