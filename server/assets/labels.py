"""Printable QR label sheets (A4 PDF) for a chosen set of assets.

Layouts follow common A4 label stock (Avery/Herma sizes sold in China and Europe).
Each label shows the QR code, the asset code and name (Chinese included) and where
the asset stands. `skip` leaves the first labels of a partly used sheet blank.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from server.assets import qr
from server.assets.qr import GREY
from server.core.errors import Invalid, TooLarge
from server.core.i18n import gettext as _

MAX_LABELS = 2000
PADDING = 2.0  # mm inside each label
A4 = (210.0, 297.0)
# Nothing is printed nearer the sheet's edge than this (mm): most printers cannot, and a
# label stock without margins (a4_3x8) would lose its edge labels' codes and text.
SAFE = 5.5


@dataclass(frozen=True)
class Layout:
    key: str
    columns: int
    rows: int
    width: float  # label size, mm
    height: float
    top: float  # sheet margins, mm
    left: float
    column_pitch: float  # distance between the left edges of neighbouring labels, mm
    row_pitch: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def content_box(self, slot: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) in mm of what a slot may print on: the label less
        its padding, kept SAFE mm inside the sheet's edges."""
        left, top = self.position(slot)
        return (max(left + PADDING, SAFE), max(top + PADDING, SAFE),
                min(left + self.width - PADDING, A4[0] - SAFE),
                min(top + self.height - PADDING, A4[1] - SAFE))

    @property
    def qr_size(self) -> float:
        """The printed QR size in mm: as tall as the tightest slot allows (one size for
        the sheet), leaving room for text."""
        tallest = min(box[3] - box[1] for box in map(self.content_box, range(self.per_page)))
        return round(min(tallest, self.width * 0.45), 1)

    def title(self) -> str:
        return _("%(n)s per sheet, %(w)s × %(h)s mm", n=self.per_page, w=self.width, h=self.height)

    def position(self, slot: int) -> tuple[float, float]:
        """(left, top) in mm of a slot on the sheet, numbered across then down."""
        row, column = divmod(slot % self.per_page, self.columns)
        return (
            round(self.left + column * self.column_pitch, 2),
            round(self.top + row * self.row_pitch, 2),
        )

    def slots(self) -> list[dict[str, float]]:
        """Where the QR code and the text of each slot go (mm from the sheet's corner),
        and how large the text's box is."""
        result = []
        size = self.qr_size
        for slot in range(self.per_page):
            left, top, right, bottom = self.content_box(slot)
            text_left = left + size + PADDING
            result.append(
                {
                    "qr_left": round(left, 2),
                    "qr_top": round(top + (bottom - top - size) / 2, 2),
                    "text_left": round(text_left, 2),
                    "text_top": round(top + 0.5, 2),
                    "text_width": round(right - text_left, 2),
                    "text_height": round(bottom - top - 0.5, 2),
                }
            )
        return result


LAYOUTS: dict[str, Layout] = {
    layout.key: layout
    for layout in (
        Layout("l7160", 3, 7, 63.5, 38.1, 15.15, 7.2, 66.04, 38.1),
        Layout("a4_3x8", 3, 8, 70.0, 37.0, 0.5, 0.0, 70.0, 37.0),
        Layout("l7163", 2, 7, 99.1, 38.1, 15.15, 4.65, 101.6, 38.1),
        Layout("l7165", 2, 4, 99.1, 67.7, 13.1, 4.65, 101.6, 67.7),
    )
}
DEFAULT_LAYOUT = "l7160"


def sheet_image(
    matrices: Sequence[tuple[int, tuple[str, ...]]], layout: Layout, unit: float
) -> tuple[str, int, int]:
    """All QR codes of one sheet drawn into one greyscale image, one pixel per module.

    `matrices` are (slot, rows); `unit` is the module size in mm. One image per sheet
    instead of one per label: WeasyPrint's time grows with the number of boxes and
    images. Drawn without smoothing, the modules print as sharp as vectors. Codes are
    snapped to the module grid (at most half a module, about 0.3 mm, off) and centred in
    their box when shorter URLs give smaller symbols.
    """
    width, height = math.ceil(A4[0] / unit), math.ceil(A4[1] / unit)
    image = Image.new("L", (width, height), 255)
    box = layout.qr_size / unit
    places = layout.slots()
    for slot, rows in matrices:
        n = len(rows)
        place = places[slot]
        x = round(place["qr_left"] / unit + (box - n) / 2)
        y = round(place["qr_top"] / unit + (box - n) / 2)
        symbol = Image.frombytes("L", (n, n), "".join(rows).encode("ascii").translate(GREY))
        image.paste(symbol, (x, y))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/png;base64,{encoded}", width, height


def label_context(
    assets: Sequence[dict[str, Any]], base_url: str, layout_key: str, skip: int = 0
) -> dict[str, Any]:
    """What the label template needs: sheets of positioned labels and each sheet's QR image."""
    layout = LAYOUTS.get(layout_key)
    if layout is None:
        raise Invalid(_("Unknown label layout."), layouts=list(LAYOUTS))
    if not assets:
        raise Invalid(_("Choose at least one asset."), missing=["codes"])
    if len(assets) > MAX_LABELS:
        raise TooLarge(_("At most %(n)s labels at a time.", n=MAX_LABELS))
    skip = max(0, min(skip, layout.per_page - 1))
    pages: list[list[dict[str, Any]]] = []
    symbols: list[list[tuple[int, tuple[str, ...]]]] = []
    for index, asset in enumerate(assets, start=skip):
        if index % layout.per_page == 0 or not pages:
            pages.append([])
            symbols.append([])
        slot = index % layout.per_page
        place = " · ".join(p for p in (asset.get("site", ""), asset.get("location", "")) if p)
        pages[-1].append(
            {"code": asset["code"], "name": asset["name"], "place": place, "slot": slot}
        )
        symbols[-1].append((slot, qr.matrix(qr.asset_url(base_url, asset["code"]))))
    # one module size for the whole batch: the largest symbol fills the QR box
    unit = layout.qr_size / max(len(rows) for page in symbols for _slot, rows in page)
    sheets = []
    size = (0.0, 0.0)
    for page_symbols in symbols:
        url, width, height = sheet_image(page_symbols, layout, unit)
        sheets.append(url)
        size = (round(width * unit, 3), round(height * unit, 3))  # the same for every sheet
    return {
        "layout": layout,
        "slots": layout.slots(),
        "image_size": size,
        "pages": [
            {"labels": labels, "qr": sheet} for labels, sheet in zip(pages, sheets, strict=True)
        ],
    }
