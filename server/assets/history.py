"""What the histories of assets and their inspection schedules say."""

from __future__ import annotations

from server.assets.categories import category_label, frequency_label, status_label
from server.assets.tables import Asset, InspectionSchedule
from server.checklists import store
from server.core import i18n
from server.core.i18n import gettext as _
from server.history import readable
from server.history.readable import Entry, Vocabulary

ASSET = Vocabulary(
    Asset,
    fields={
        "category": lambda: _("Category"),
        "site": lambda: _("Site"),
        "location": lambda: _("Location (as written)"),
        "place": lambda: _("Location"),
        "serial_number": lambda: _("Serial number"),
    },
    values={"category": lambda v: category_label(str(v)),
            "status": lambda v: status_label(str(v))},
)


async def asset_history(asset_id: int) -> list[Entry]:
    return await readable.of(ASSET, asset_id)


async def schedule_history(schedule_id: int) -> list[Entry]:
    lang = i18n.current_language.get()
    titles = {s.key: s.title(lang) for s in await store.latest_summaries("inspection")}
    return await readable.of(Vocabulary(
        InspectionSchedule,
        fields={
            "category": lambda: _("Category"),
            "checklist_key": lambda: _("Checklist"),
            "frequency": lambda: _("Frequency"),
            "every_n_days": lambda: _("Every how many days"),
            "start_date": lambda: _("First due"),
            "grace_days": lambda: _("Days of grace"),
            "assignee": lambda: _("Assigned to"),
            "assignee_org_unit": lambda: _("Assigned to the department"),
        },
        values={"category": lambda v: category_label(str(v)),
                "frequency": lambda v: frequency_label(str(v)),
                "checklist_key": lambda v: titles.get(str(v), str(v))},
    ), schedule_id)
