"""How an answer reads: translated words, choice labels, units and dates, in the
current language. Pages, PDFs, exports and histories all show answers through this."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from server.checklists.model import Checklist, Item, ItemType
from server.core import i18n
from server.core.i18n import gettext as _


def _date_text(value: str) -> str:
    try:
        return i18n.format_date(date.fromisoformat(value[:10]), "medium")
    except ValueError:
        return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def answer_text(checklist: Checklist, item: Item, value: Any) -> str:
    """An answer as a reader reads it: translated words, choice labels, units, dates."""
    lang = i18n.current_language.get()
    if value is None or value == "" or value == []:
        return ""
    if value == "na" and item.type not in (ItemType.text,):
        return _("N/A")
    kind = item.type
    if kind == ItemType.yes_no_na:
        return {"yes": _("Yes"), "no": _("No"), "partly": _("Partly")}.get(str(value), str(value))
    if kind == ItemType.pass_fail:
        return {"pass": _("Pass"), "fail": _("Fail")}.get(str(value), str(value))
    if kind in (ItemType.number, ItemType.scale):
        number = _number(value)
        if number is None:
            return str(value)
        text = i18n.format_number(number, digits=3)
        if kind == ItemType.number and item.unit is not None:
            unit = item.unit.get(lang)
            return f"{text}{unit}" if unit == "%" else f"{text} {unit}"
        if kind == ItemType.scale and item.scale is not None:
            words = item.scale.labels.get(int(number)) if number.is_integer() else None
            span = f"{item.scale.min}–{item.scale.max}"
            return f"{text} ({span})" + (f" · {words.get(lang)}" if words else "")
        return text
    if kind == ItemType.date:
        return _date_text(str(value))
    if kind in (ItemType.single_choice, ItemType.multi_choice):
        labels = {c.id: c.label.get(lang) for c in checklist.choices_of(item)}
        chosen = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(str(v), str(v)) for v in chosen)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
