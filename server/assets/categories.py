"""Asset categories and statuses: codes, translated names, and which checklists apply.

A category is whatever inspection checklists name in `scope.asset_category`; the
names below cover the shipped ones, and an unknown code shows as itself.
"""

from __future__ import annotations

from server.checklists import store
from server.checklists.labels import label
from server.core.i18n import gettext as _

STATUSES = ("in_service", "out_of_service", "retired")


def category_names() -> dict[str, str]:
    # Built per call so the names follow the request's language.
    return {
        "server_room": _("Server room"),
        "server": _("Server"),
        "network_device": _("Network device"),
        "ups": _("UPS"),
        "precision_ac": _("Precision air conditioner"),
        "system": _("Information system"),
    }


def status_names() -> dict[str, str]:
    return {
        "in_service": _("In service"),
        "out_of_service": _("Out of service"),
        "retired": _("Retired"),
    }


def category_label(code: str) -> str:
    return category_names().get(code, code)


def status_label(code: str) -> str:
    return status_names().get(code, code)


async def checklists_by_category() -> dict[str, list[store.Summary]]:
    """The newest inspection checklists, grouped by the asset category they apply to."""
    groups: dict[str, list[store.Summary]] = {}
    for summary in await store.latest_summaries("inspection"):
        checklist = await store.get(summary.key, summary.version)
        category = checklist.scope.asset_category if checklist else None
        if category:
            groups.setdefault(category, []).append(summary)
    return groups


async def known_categories() -> list[str]:
    """Categories some inspection checklist applies to, shipped ones first."""
    found = set(await checklists_by_category())
    shipped = [c for c in category_names() if c in found]
    return shipped + sorted(found - set(shipped))


def frequency_label(frequency: str, every_n_days: int | None = None) -> str:
    if frequency == "every_n_days":
        return _("Every %(n)s days", n=every_n_days or "?")
    return label("frequency", frequency)
