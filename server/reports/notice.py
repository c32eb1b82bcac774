"""The rectification notice (整改通知单) of one NC as a PDF, in the reader's language:
the NC, the requirement, the evidence (with its photos), the deadline, the
verification standard and boxes for the signatures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.audits.tables import Audit
from server.core import clock
from server.core.clock import local_zone
from server.core.errors import NotFound
from server.core.i18n import gettext as _
from server.findings.queries import detail
from server.findings.service import load_visible
from server.findings.workflow import cause_label, state_label
from server.reports import letterhead
from server.reports.pdf import render_pdf_async

TEMPLATE = "findings/notice.html"


async def notice_context(nc: dict[str, Any]) -> dict[str, Any]:
    """The template's context for an NC loaded with queries.detail()."""
    audit = None
    if nc.get("audit"):
        audit = await Audit.select(
            Audit.id, Audit.title, Audit.checklist_key, Audit.checklist_version, Audit.kind,
            Audit.submitted_at,
        ).where(Audit.id == nc["audit"]).first()
    photos = [p for p in nc.get("photos", []) if p.get("thumb_path")]
    return {
        "nc": nc,
        "audit": audit,
        "photos": photos,
        "state_name": state_label(nc["state"]),
        "cause_name": cause_label(nc["cause_category"]) if nc.get("cause_category") else "",
        "generated_at": datetime.now(UTC).astimezone(local_zone()),
        "letterhead": (await letterhead.load()).of("notice"),
    }


async def render_notice(nc: dict[str, Any], *, data_dir: Path, lang: str | None) -> bytes:
    context = await notice_context(nc)
    return await render_pdf_async(TEMPLATE, context, data_dir=data_dir, lang=lang)


async def notice_pdf(nc_id: int, reader: Any, *, data_dir: Path, lang: str | None
                     ) -> tuple[str, bytes]:
    """(the NC's reference, its notice) for someone who may see the NC."""
    row = await load_visible(nc_id, reader)
    nc = await detail(nc_id, clock.today())
    if nc is None:
        raise NotFound(_("No such nonconformance."))
    return row.ref, await render_notice(nc, data_dir=data_dir, lang=lang)
