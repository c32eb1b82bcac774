"""Reading input: the one place where text from a form, a query string or a JSON body
becomes typed values.

Each domain declares what it takes as msgspec Structs in its `schemas.py`; `parse()`
fills one from a form or a JSON object with the same rules for both:

- a blank value is "not given" (None, or the field's default);
- numbers and dates may arrive as text ("12", "2026-12-03"), as forms send them;
- integers must fit in 64 bits, text may not hold control characters;
- every field at fault is reported at once, as one 422 naming each of them.

Whether a given value is acceptable for the record (a known user, a date in the
half-year) is the rules' business, not this module's.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NewType, TypeVar

import msgspec

from server.core.errors import Invalid
from server.core.i18n import gettext as _

S = TypeVar("S", bound=msgspec.Struct)
# Text taken exactly as typed, never trimmed (passwords).
Verbatim = NewType("Verbatim", str)

# Every integer column is a 32-bit one (PostgreSQL's integer and serial): a larger id
# names no record, and a larger count is no count a person means.
INT_MAX = 2**31 - 1
# C0 controls except tab, newline and carriage return, and DEL: they break spreadsheets
# and PDFs and no person types them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def integer(value: Any) -> int | None:
    """A whole number from text or JSON; None when blank. ValueError when it is not one
    or does not fit in a database integer (INT_MAX)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    number = int(str(value).strip()) if isinstance(value, str) else int(value)
    if not -INT_MAX - 1 <= number <= INT_MAX:
        raise ValueError(value)
    return number


def day(value: Any) -> date | None:
    """A calendar date (YYYY-MM-DD); None when blank; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def moment(value: Any) -> datetime | None:
    """A point in time in ISO 8601 with its offset (2026-12-04T08:00:00Z); None when
    blank; ValueError otherwise. A time without an offset means different moments to
    the sender and to us, so it is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        found = value
    else:
        text_value = str(value).strip()
        # An unencoded "+08:00" in a query string arrives as " 08:00".
        if len(text_value) > 19 and text_value[-6] == " ":
            text_value = f"{text_value[:-6]}+{text_value[-5:]}"
        found = datetime.fromisoformat(text_value.replace("Z", "+00:00"))
    if found.tzinfo is None:
        raise ValueError(value)
    return found


def flag(value: Any) -> bool:
    """A checkbox or a query flag: on, 1, true, yes."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def is_clean(value: str) -> bool:
    """No control characters (but tab and line breaks), and storable as UTF-8 (no lone
    surrogates): text a database, a spreadsheet and a PDF all take."""
    if _CONTROL.search(value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(value: Any, limit: int | None = None) -> str:
    """Text as people meant it: trimmed; ValueError when not clean (is_clean) or longer
    than `limit`."""
    if value is None:
        return ""
    result = str(value).strip()
    if not is_clean(result) or (limit is not None and len(result) > limit):
        raise ValueError(value)
    return result


def safe_next(target: Any, default: str = "/") -> str:
    """A place to go back to after a form: only a path on this site, never an open
    redirect (no scheme, no host, no backslash tricks)."""
    value = str(target or "")
    if (value.startswith("/") and not value.startswith("//") and "\\" not in value
            and not _CONTROL.search(value)):
        return value
    return default


# --- filling a schema ----------------------------------------------------------------

_NONE = type(None)


def _choices(tp: Any) -> tuple[Any, ...]:
    """The members of a union type (X | None -> (X, NoneType)); (tp,) otherwise."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return typing.get_args(tp)
    return (tp,)


def _is_list(tp: Any) -> bool:
    return any(typing.get_origin(t) in (list, tuple, set) for t in _choices(tp))


def _coerce(tp: Any, value: Any) -> Any:
    """One value for a field of type `tp`; ValueError when it cannot be one."""
    options = _choices(tp)
    if isinstance(value, str) and not value.strip() and _NONE in options:
        return None
    for option in options:
        if option is _NONE:
            continue
        origin = typing.get_origin(option)
        if origin in (list, tuple, set):
            (inner, *_rest) = typing.get_args(option) or (Any,)
            items = value if isinstance(value, list | tuple) else [value]
            return [_coerce(inner, v) for v in items if not (isinstance(v, str) and not v.strip())]
        if option is bool:
            return flag(value)
        if option is int:
            if value is None:
                break
            return integer(value)
        if option is datetime:
            return moment(value)
        if option is date:
            return day(value)
        if option is str:
            if isinstance(value, dict | list):
                raise ValueError(value)
            return text(value)
        if option is Verbatim:
            if not isinstance(value, str) or "\x00" in value or not is_clean(value.strip()):
                raise ValueError(value)
            return value
        if option is Any:
            return value
    if value is None and _NONE in options:
        return None
    return msgspec.convert(value, tp, strict=False)


def parse(schema: type[S], data: Mapping[str, Any] | Any,
          problems: dict[str, str] | None = None) -> S:
    """`data` (a dict from JSON, a form's multi-dict, a query's parameters) as `schema`.
    Unknown names are ignored. Raises one Invalid listing every field at fault; or, given
    a `problems` dict, notes them there and leaves those fields at their defaults (a
    form shown again with what was typed)."""
    if not isinstance(data, Mapping) and not hasattr(data, "getall"):
        raise Invalid(_("The body must be a JSON object."))
    values: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    hints = typing.get_type_hints(schema)
    if schema.__struct_config__.forbid_unknown_fields:
        known = {f.encode_name for f in msgspec.structs.fields(schema)}
        invalid.update({str(name)[:100]: _("Unknown field.")
                        for name in data if name not in known})
    for field in msgspec.structs.fields(schema):
        name = field.encode_name
        if name not in data:
            continue
        tp = hints[field.name]
        raw = data.getall(name) if _is_list(tp) and hasattr(data, "getall") else data[name]
        try:
            value = _coerce(tp, raw)
        except (ValueError, TypeError, OverflowError, msgspec.ValidationError):
            invalid[name] = _problem(tp)
            continue
        if value is None and field.required:
            continue
        if value is not None or _NONE in _choices(tp):
            values[field.name] = value
    if invalid and problems is None:
        raise Invalid(_("Some values are not valid"), invalid=invalid)
    if problems is not None:
        problems.update(invalid)
    try:
        return schema(**values)
    except TypeError:  # a required field is absent: the rules name it, so say "missing"
        missing = [f.encode_name for f in msgspec.structs.fields(schema)
                   if f.required and f.name not in values]
        raise Invalid(_("Some values are not valid"), missing=missing) from None


def _problem(tp: Any) -> str:
    options = set(_choices(tp)) - {_NONE}
    if int in options:
        return _("Enter a whole number.")
    if datetime in options:
        return _("Enter a time with its offset (2026-12-04T08:00:00Z).")
    if date in options:
        return _("Enter a date (YYYY-MM-DD).")
    if str in options or Verbatim in options:
        return _("Remove the control characters from this text.")
    return _("This value is not valid.")


def sent(schema: type[S], data: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The fields of `schema` that `data` holds, typed and checked as parse() does: for
    rules that tell a field not sent from one sent empty."""
    parsed = parse(schema, data)
    names = {f.encode_name: f.name for f in msgspec.structs.fields(schema)}
    return {key: getattr(parsed, names[key]) for key in names if key in data}
