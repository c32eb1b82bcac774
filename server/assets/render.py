"""Template helpers of the assets pages: names of codes and how due an inspection is."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.assets.categories import category_label, frequency_label, status_label
from server.assets.due import DueItem
from server.core.i18n import gettext as _
from server.core.i18n import ngettext


def due_phrase(item: DueItem, today: date) -> str:
    """ "Overdue by 3 days", "Due today", "Due since 2 days", "Due in 5 days"."""
    if item.status == "overdue":
        return ngettext("Overdue by %(num)s day", "Overdue by %(num)s days", item.days_overdue)
    days = (item.due_date - today).days
    if days == 0:
        return _("Due today")
    if days < 0:
        return ngettext("Due since %(num)s day", "Due since %(num)s days", -days)
    return ngettext("Due in %(num)s day", "Due in %(num)s days", days)


HELPERS: dict[str, Any] = {
    "category_label": category_label,
    "status_label": status_label,
    "frequency_label": frequency_label,
    "due_phrase": due_phrase,
}
