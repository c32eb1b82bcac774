"""QR label sheets as PDF for a chosen set of assets (layouts: server/assets/labels.py)."""

from __future__ import annotations

from pathlib import Path

from server.accounts.current import CurrentUser
from server.assets import labels, views
from server.assets.register import normalise_code
from server.core.errors import Invalid, TooLarge
from server.core.i18n import gettext as _
from server.reports import letterhead
from server.reports.pdf import render_pdf_async


async def label_sheet_pdf(user: CurrentUser, codes: list[str], layout: str, skip: int, *,
                          base_url: str, data_dir: Path,
                          every_asset_of: views.ListQuery | None = None) -> bytes:
    """Labels for these codes, in this order, or for every asset the list shows with
    `every_asset_of`'s filters; codes unknown to the person are refused."""
    if every_asset_of is not None:
        # One more than the maximum, so a longer list is refused rather than cut short.
        rows, _total = await views.list_assets(user, every_asset_of,
                                               limit=labels.MAX_LABELS + 1)
        codes = [r["code"] for r in rows]
    wanted = list(dict.fromkeys(normalise_code(c) for c in codes if normalise_code(c)))
    if not wanted:
        raise Invalid(_("Choose at least one asset."), missing=["codes"])
    if len(wanted) > labels.MAX_LABELS:
        raise TooLarge(_("At most %(n)s labels at a time.", n=labels.MAX_LABELS))
    if layout not in labels.LAYOUTS:
        raise Invalid(_("Unknown label layout."), layouts=list(labels.LAYOUTS))
    found = await views.visible_by_codes(user, wanted)
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise Invalid(_("Unknown asset codes: %(codes)s", codes=", ".join(unknown[:20])),
                      unknown=unknown)
    context = labels.label_context([found[c] for c in wanted], base_url, layout, skip)
    context["letterhead"] = (await letterhead.load()).of("labels")
    return await render_pdf_async("assets/labels_pdf.html", context, data_dir=data_dir)
