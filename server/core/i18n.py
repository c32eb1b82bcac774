"""Languages, message catalogues and locale-aware formatting.

Catalogues are the committed .po files under server/locale, compiled in memory
at start-up, so there is no build step and no generated file to keep in sync.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_skeleton as _babel_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from server.core import clock

LOCALE_DIR = Path(__file__).parent.parent / "locale"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def normalise(tag: str | None) -> str | None:
    """Map a language tag (zh, zh-CN, zh-Hans-CN, en-GB...) to a supported language."""
    if not tag:
        return None
    tag = tag.strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best supported language in an Accept-Language header, by q-value."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        fields = part.strip().split(";")
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = normalise(fields[0])
        if lang and quality > 0:
            choices.append((-quality, position, lang))
    return min(choices)[2] if choices else None


@cache
def translations(lang: str) -> NullTranslations:
    po_file = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def written_in(text: str) -> str | None:
    """The language a person wrote `text` in, as far as its letters tell: Chinese when it
    has Chinese characters, English when it has Latin letters only, None with neither
    (numbers, codes). Used to mark a text shown to a reader of the other language."""
    if any(_is_cjk(ch) for ch in text):
        return "zh_CN"
    if any(ch.isascii() and ch.isalpha() for ch in text):
        return "en"
    return None


def gettext(message: str, **variables: object) -> str:
    text = translations(current_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_language.get()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def _locale(lang: str | None = None) -> Locale:
    return _parsed_locale(lang or current_language.get())


@cache
def _parsed_locale(lang: str) -> Locale:
    # Locale.parse is slow; a page formats hundreds of numbers
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def format_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        # Stored in UTC; a person reads the organisation's clock, on pages and PDFs alike.
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return _babel_datetime(moment, format=fmt, locale=_locale(), tzinfo=clock.local_zone())
    return _babel_date(value, format=fmt, locale=_locale())


def format_month_day(month: int, day: int) -> str:
    """A day of any year, as the language writes it: "January 10", "1月10日"."""
    return _babel_skeleton("MMMMd", date(2001, month, day), locale=_locale())


def format_number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale())


def format_pct(value: float | None) -> str:
    """A 0-100 percentage, formatted for the language."""
    if value is None:
        return "—"
    return format_percent(value / 100, format="#,##0.#%", locale=_locale())
