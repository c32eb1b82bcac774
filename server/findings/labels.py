"""The words for the NC domain's stored codes that the state machine does not name:
sources, action kinds and action states. (States, transitions, fields and causes are
named in workflow.py, beside their definitions.)"""

from __future__ import annotations

from typing import Any

from server.core.i18n import current_language
from server.core.i18n import gettext as _


def source_label(code: str) -> str:
    return {
        "audit": _("Audit"),
        "inspection": _("Inspection"),
        "manual": _("Raised by hand"),
        "random_check": _("Random on-site check"),
        "complaint": _("Customer complaint"),
        "incident": _("Quality incident"),
    }.get(code, code)


def action_kind_label(code: str) -> str:
    return {"correction": _("Correction"), "corrective": _("Corrective action"),
            "preventive": _("Preventive action")}.get(code, code)


def action_status_label(code: str) -> str:
    return {"open": _("Not done"), "done": _("Done"), "cancelled": _("Withdrawn")}.get(code, code)


def nc_title(row: Any, lang: str | None = None) -> str:
    """An NC's title for a reader of `lang` (default: the current language): raised from
    an item, the item's prompt in that language; otherwise the title as written."""
    lang = lang or current_language.get()
    get = row.get if isinstance(row, dict) else lambda key, default=None: getattr(
        row, key, default)
    both = get("title_zh" if lang == "zh_CN" else "title_en", "")
    return str(both or get("title", "") or "")


def concession_status_label(code: str) -> str:
    return {"active": _("Concession in force"),
            "done": _("Concession ended: the work is done")}.get(code, code)


def incident_level_label(level: object) -> str:
    """A quality incident's level in words (procedure 003's fault levels)."""
    return {1: _("Level 1 (urgent)"), 2: _("Level 2 (important)"),
            3: _("Level 3 (ordinary)")}.get(level if isinstance(level, int) else -1,
                                            str(level))


def incident_level_definition(level: object) -> str:
    """What makes an incident of this level, and how fast it must be answered."""
    return {
        1: _("The system is down or core business has stopped, affecting the whole "
             "organisation (e.g. a server or database failure). Respond by phone within 15 "
             "minutes; restore service or give a temporary fix within 2 hours."),
        2: _("Part of the system fails and business is hindered for one department (e.g. a "
             "module cannot be reached, data fails to synchronise). Respond within 30 "
             "minutes; resolve or report progress within 4 hours."),
        3: _("A defect outside the core functions, or a question about use, with no effect "
             "on running the business (e.g. a display fault, a suggestion). Respond within 2 "
             "hours; resolve or agree a plan within 8 working days."),
    }.get(level if isinstance(level, int) else -1, "")
