"""The letterhead of controlled records: the organisation's name, its logo and the form
number of each kind of record (audit report, rectification notice, QR label sheet), as
an administrator sets them. Stored as the AppSetting "letterhead" (JSON) through the
change log; every PDF shows them in its header (label sheets: on each label).

The logo is checked by its content (Pillow, not the file name), bounded in bytes and
pixels, and stored re-encoded as a small PNG: what a report embeds is always an image
the server made itself.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from server.changelog import record
from server.core.errors import Invalid, TooLarge
from server.core.i18n import gettext as _
from server.core.inputs import is_clean
from server.db.engine import write_transaction
from server.evidence.images import sniff
from server.findings.tables import AppSetting, loads
from server.history import readable
from server.history.readable import Entry, Vocabulary

KEY = "letterhead"
RECORDS = ("audit_report", "notice", "labels")
MAX_NAME = 120
MAX_FORM_NUMBER = 40
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 20_000_000
LOGO_BOX = (800, 240)  # px: printed 40 x 12 mm at most, sharp at 500 dpi


def record_names() -> dict[str, str]:
    return {"audit_report": _("Audit report"), "notice": _("Rectification notice"),
            "labels": _("QR label sheet")}


@dataclass(frozen=True)
class Letterhead:
    org_name: str = ""
    form_numbers: dict[str, str] = field(default_factory=dict)  # record -> "QR-F-07"
    logo: str = ""  # base64 of the PNG, or ""

    def form_number(self, kind: str) -> str:
        return self.form_numbers.get(kind, "")

    @property
    def logo_url(self) -> str:
        return f"data:image/png;base64,{self.logo}" if self.logo else ""

    def of(self, kind: str) -> dict[str, str]:
        """What a PDF of this kind shows: name, logo URL and form number."""
        return {"org_name": self.org_name, "logo_url": self.logo_url,
                "form_number": self.form_number(kind)}


def _text(value: Any, limit: int, name: str, problems: dict[str, str]) -> str:
    text = " ".join(str(value or "").split())
    if not is_clean(text):
        problems[name] = _("Control characters are not allowed.")
    elif len(text) > limit:
        problems[name] = _("At most %(n)s characters.", n=limit)
    return text


def check(org_name: Any, form_numbers: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The name and form numbers as stored, or Invalid naming each bad field."""
    problems: dict[str, str] = {}
    name = _text(org_name, MAX_NAME, "org_name", problems)
    numbers = {kind: _text(form_numbers.get(kind), MAX_FORM_NUMBER, f"form_{kind}", problems)
               for kind in RECORDS}
    if problems:
        raise Invalid(_("Some values are not valid"), invalid=problems)
    return name, {k: v for k, v in numbers.items() if v}


def logo_png(data: bytes) -> str:
    """An uploaded logo (PNG, JPEG or WebP, by its content) as the base64 of a PNG no
    larger than LOGO_BOX; Invalid/TooLarge with a message otherwise."""
    if len(data) > MAX_LOGO_BYTES:
        raise TooLarge(_("The logo is larger than %(n)s MB.", n=MAX_LOGO_BYTES // 2**20))
    if sniff(data) is None:
        raise Invalid(_("The logo must be a PNG, JPEG or WebP image."),
                      invalid={"logo": _("The logo must be a PNG, JPEG or WebP image.")})
    unreadable = _("The logo could not be read: the file is damaged or incomplete.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"]) as image:
                if image.width * image.height > MAX_LOGO_PIXELS:
                    raise Invalid(unreadable, invalid={"logo": _(
                        "The logo is too large: at most %(n)s megapixels.",
                        n=MAX_LOGO_PIXELS // 10**6)})
                image.load()
                logo = image.convert("RGBA")
    except Invalid:
        raise
    except Exception:  # decoders of untrusted input raise many kinds: all mean "broken"
        raise Invalid(unreadable, invalid={"logo": unreadable}) from None
    logo.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    logo.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _parse(value: Any) -> Letterhead:
    doc = loads(value)
    if not isinstance(doc, dict):
        return Letterhead()
    numbers = doc.get("form_numbers")
    return Letterhead(
        org_name=str(doc.get("org_name") or ""),
        form_numbers={str(k): str(v) for k, v in numbers.items()} if isinstance(
            numbers, dict) else {},
        logo=str(doc.get("logo") or ""))


async def load() -> Letterhead:
    row = await AppSetting.select(AppSetting.value).where(AppSetting.key == KEY).first()
    return Letterhead() if row is None else _parse(row["value"])


async def save(org_name: Any, form_numbers: dict[str, Any], logo: bytes | None,
               remove_logo: bool, actor: Any, reason: str = "") -> Letterhead:
    """Check and store the letterhead through the change log; a new logo replaces the
    old one, `remove_logo` takes it away, neither keeps it."""
    name, numbers = check(org_name, form_numbers)
    new_logo = logo_png(logo) if logo else None
    async with write_transaction():
        row = await AppSetting.objects().get(AppSetting.key == KEY)
        current = Letterhead() if row is None else _parse(row.value)
        kept = "" if remove_logo else current.logo
        chosen = Letterhead(name, numbers, new_logo if new_logo is not None else kept)
        value = json.dumps(asdict(chosen), sort_keys=True, ensure_ascii=False)
        now = datetime.now(UTC)
        if row is None:
            await record.create(AppSetting(key=KEY, value=value, updated_at=now), actor, reason)
        elif chosen != current:
            await record.update(row, actor, {"value": value, "updated_at": now}, reason)
    return chosen


def letterhead_text(value: Any) -> str:
    """A stored letterhead in words, for its history (the logo as present or not)."""
    head = _parse(value)
    names = record_names()
    parts = [head.org_name or "—"]
    parts += [f"{names[k]}: {head.form_numbers[k]}" for k in RECORDS if k in head.form_numbers]
    parts.append(_("with logo") if head.logo else _("no logo"))
    return "; ".join(parts)


HISTORY = Vocabulary(AppSetting, fields={"value": lambda: _("Letterhead")},
                     values={"value": letterhead_text}, hidden=frozenset({"key", "updated_at"}))


async def letterhead_history() -> list[Entry]:
    row = await AppSetting.select(AppSetting.id).where(AppSetting.key == KEY).first()
    return await readable.of(HISTORY, row["id"]) if row else []
