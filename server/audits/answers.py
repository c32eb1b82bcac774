"""Answers to checklist items: validation of what a client sends, and what an answer means.

`normalize` is the single gate for values from the JSON API and from forms; what it returns
is what gets stored. `result_of` and `points_of` read stored values and, like everything that
scores, never raise: a value that does not fit its item counts as unanswered.

A yes/no item may be answered `partly` (partly conforms): its result is `part`, between a
pass and a fail. A date item with a `date_rule` passes or fails by its rule, judged against
the run's date and the other answers when they are given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from server.audits import daterules
from server.checklists.model import Checklist, Choice, Item, ItemType
from server.core.i18n import gettext as _

# "part": a partly answer (four letters, like the others: the stored column is that wide).
Result = Literal["pass", "fail", "na", "part"]
PARTLY = "partly"
_NO_ANSWERS: Mapping[str, Any] = {}

MAX_TEXT = 5000
# Largest integer a float (and a JavaScript client) represents exactly; beyond it stay float.
MAX_SAFE_INT = 2**53
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_NUMBER_CHARS = 64
_YES_NO = {"yes": "pass", "no": "fail", "na": "na", PARTLY: "part"}
_PASS_FAIL = {"pass": "pass", "fail": "fail", "na": "na"}


class InvalidAnswer(ValueError):
    """A value that does not fit its item; the message is translated and safe to show."""

    def __init__(self, message: str, item_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.item_id = item_id


def normalize(checklist: Checklist, item: Item, value: Any) -> Any:
    """The value to store for `item`, or None to clear the answer; InvalidAnswer otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return _NORMALIZERS[item.type](checklist, item, value)
    except InvalidAnswer as exc:
        exc.item_id = item.id
        raise


def _text_value(value: Any, message: str) -> str:
    """A stripped str that a database can store (no NUL, no lone surrogates)."""
    if not isinstance(value, str):
        raise InvalidAnswer(message)
    if "\x00" in value:
        raise InvalidAnswer(_("The text contains characters that cannot be saved."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidAnswer(_("The text contains characters that cannot be saved.")) from None
    return value.strip()


def _enum(value: Any, allowed: dict[str, str]) -> str | None:
    if isinstance(value, str) and len(value) <= 10:
        text = value.strip().lower()
        if text in allowed:
            return text
    return None


def _yes_no(checklist: Checklist, item: Item, value: Any) -> str:
    text = _enum(value, _YES_NO)
    if text == PARTLY and not checklist.offers_partly(item):
        text = None
    if text is None:
        if checklist.offers_partly(item):
            raise InvalidAnswer(_("Choose yes, partly, no or N/A."))
        raise InvalidAnswer(_("Choose yes, no or N/A."))
    return text


def _pass_fail(checklist: Checklist, item: Item, value: Any) -> str:
    text = _enum(value, _PASS_FAIL)
    if text is None:
        raise InvalidAnswer(_("Choose pass, fail or N/A."))
    return text


def _finite(value: Any) -> float | None:
    """The number in an int, float or plain decimal string; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_CHARS or not _NUMBER_RE.fullmatch(text):
            return None
        number = float(text)
    else:
        return None
    return number if math.isfinite(number) else None


def _scale(checklist: Checklist, item: Item, value: Any) -> int:
    spec = item.scale
    assert spec is not None  # the model fills in a default scale
    number = _finite(value)
    if number is None or not number.is_integer() or not spec.min <= number <= spec.max:
        raise InvalidAnswer(
            _("Enter a whole number from %(min)s to %(max)s.", min=spec.min, max=spec.max)
        )
    return int(number)


def _number(checklist: Checklist, item: Item, value: Any) -> int | float:
    number = _finite(value)
    if number is None:
        raise InvalidAnswer(_("Enter a number."))
    if number.is_integer() and abs(number) <= MAX_SAFE_INT:
        return int(number)
    return number


def _text(checklist: Checklist, item: Item, value: Any) -> str | None:
    text = _text_value(value, _("Enter text."))
    if len(text) > MAX_TEXT:
        raise InvalidAnswer(_("Use at most %(max)s characters.", max=MAX_TEXT))
    return text or None


def _date(checklist: Checklist, item: Item, value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    message = _("Enter a real date as YYYY-MM-DD.")
    if not isinstance(value, str) or len(value) > 20:
        raise InvalidAnswer(message)
    text = value.strip()
    if not _DATE_RE.fullmatch(text):
        raise InvalidAnswer(message)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidAnswer(message) from None


def _single(checklist: Checklist, item: Item, value: Any) -> str:
    ids = {c.id for c in checklist.choices_of(item)}
    if isinstance(value, str) and len(value) <= 64 and value.strip() in ids:
        return value.strip()
    raise InvalidAnswer(_("Choose one of the options."))


def _multi(checklist: Checklist, item: Item, value: Any) -> list[str] | None:
    message = _("Choose from the options.")
    if not isinstance(value, list | tuple):
        raise InvalidAnswer(message)
    ids = [c.id for c in checklist.choices_of(item)]
    chosen: set[str] = set()
    for part in value:
        if not isinstance(part, str) or len(part) > 64 or part.strip() not in ids:
            raise InvalidAnswer(message)
        chosen.add(part.strip())
    # Stored in the checklist's order so equal answers compare equal.
    return [i for i in ids if i in chosen] or None


def _image(checklist: Checklist, item: Item, value: Any) -> None:
    if item.type == ItemType.signature:
        raise InvalidAnswer(_("Upload the signature as an image."))
    raise InvalidAnswer(_("Upload a photo to answer this item."))


_NORMALIZERS = {
    ItemType.yes_no_na: _yes_no,
    ItemType.pass_fail: _pass_fail,
    ItemType.scale: _scale,
    ItemType.number: _number,
    ItemType.text: _text,
    ItemType.date: _date,
    ItemType.single_choice: _single,
    ItemType.multi_choice: _multi,
    ItemType.photo: _image,
    ItemType.signature: _image,
}


def clean(checklist: Checklist, item: Item, value: Any) -> Any:
    """The normalised value, or None for a value that does not fit (scoring must not raise)."""
    try:
        return normalize(checklist, item, value)
    except InvalidAnswer:
        return None


def _is_scored_choice(choices: list[Choice]) -> bool:
    return any(c.points is not None or c.fails for c in choices)


def result_of(checklist: Checklist, item: Item, value: Any, *, run_date: date | None = None,
              answers: Mapping[str, Any] | None = None) -> Result | None:
    """pass / fail / na / part for a scored answer; None when unanswered or unscored.
    `run_date` and `answers` (the run's other values) are what a date rule is judged by."""
    return result_of_clean(checklist, item, clean(checklist, item, value), run_date=run_date,
                           answers=answers)


def date_problem(checklist: Checklist, item: Item, value: Any, *, run_date: date | None = None,
                 answers: Mapping[str, Any] | None = None) -> str | None:
    """Why a date breaks its item's rule (translated), or None when it keeps it."""
    if item.type != ItemType.date or item.date_rule is None or value is None:
        return None
    return daterules.problem(item.date_rule, value, run_date, answers or _NO_ANSWERS)


def result_of_clean(checklist: Checklist, item: Item, value: Any, *,
                    run_date: date | None = None, answers: Mapping[str, Any] | None = None
                    ) -> Result | None:
    """result_of for a value that has been through `normalize` already."""
    if value is None:
        return None
    t = item.type
    if t == ItemType.date:
        if item.date_rule is None:
            return None
        broken = date_problem(checklist, item, value, run_date=run_date, answers=answers)
        return "fail" if broken else "pass"
    if t == ItemType.yes_no_na:
        return _YES_NO[value]  # type: ignore[return-value]
    if t == ItemType.pass_fail:
        return _PASS_FAIL[value]  # type: ignore[return-value]
    if t == ItemType.scale:
        pass_min = item.scale.pass_min if item.scale else None
        return "fail" if pass_min is not None and value < pass_min else "pass"
    if t == ItemType.number:
        if item.min is None and item.max is None:
            return None
        low = item.min is None or value >= item.min
        high = item.max is None or value <= item.max
        return "pass" if low and high else "fail"
    if t in (ItemType.single_choice, ItemType.multi_choice):
        choices = checklist.choices_of(item)
        chosen = {value} if isinstance(value, str) else set(value)
        if any(c.fails for c in choices if c.id in chosen):
            return "fail"
        if t == ItemType.single_choice:
            return "pass" if _is_scored_choice(choices) else None
        return "pass" if any(c.fails for c in choices) else None
    return None


def points_of(checklist: Checklist, item: Item, value: Any) -> float | None:
    """The share of the item's weight earned (0..1); None for unanswered, unscored and N/A."""
    value = clean(checklist, item, value)
    return points_of_clean(checklist, item, value, result_of_clean(checklist, item, value))


def points_of_clean(checklist: Checklist, item: Item, value: Any, result: Result | None
                    ) -> float | None:
    """points_of for a normalised value and its result_of_clean."""
    if result is None or result == "na":
        return None
    if result == "part":
        return checklist.points_if_partly(item)
    if item.type == ItemType.scale and item.scale is not None:
        return (value - item.scale.min) / (item.scale.max - item.scale.min)
    if item.type == ItemType.single_choice:
        choice = next(c for c in checklist.choices_of(item) if c.id == value)
        if choice.points is not None:
            return choice.points
        return 0.0 if choice.fails else 1.0
    return 1.0 if result == "pass" else 0.0
