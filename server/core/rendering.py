"""The Jinja environment behind pages, htmx partials and PDFs: templates/, autoescaping,
the catalogues, and filters that format for the reader's language. The web layer adds
the CSRF token; checklist labels come in as a global from whoever builds it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from server.core import i18n
from server.core.settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"


def text_in_language(value: Any) -> str:
    """A bilingual text (model Text or {'zh-CN','en'} dict) in the active language."""
    if value is None:
        return ""
    lang = i18n.current_language.get()
    if hasattr(value, "get") and hasattr(value, "zh_CN"):
        return str(value.get(lang))
    if isinstance(value, dict):
        return str(value.get("zh-CN") if lang == "zh_CN" else value.get("en")) or ""
    return str(value)


HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def as_written(value: Any) -> Markup:
    """A text a person wrote, shown as they wrote it; when it is in the other language
    than the reader's, tagged with its language (for screen readers and hyphenation) and
    marked in words, so nobody takes it for a missing translation."""
    text = "" if value is None else str(value)
    lang = i18n.written_in(text)
    if lang is None or lang == i18n.current_language.get():
        return escape(text)
    mark = i18n.gettext("in Chinese") if lang == "zh_CN" else i18n.gettext("in English")
    return Markup('<span lang="{}">{}</span> <span class="lang-mark">({})</span>').format(
        HTML_LANG[lang], text, mark)


def build_environment(extra_globals: Mapping[str, Callable[..., Any] | Any] = ()) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: i18n.translations(i18n.current_language.get()).gettext(s),
        ngettext=lambda s, p, n: i18n.translations(i18n.current_language.get()).ngettext(s, p, n),
        newstyle=True,
    )
    env.filters.update(
        t=text_in_language,
        date=i18n.format_date,
        number=i18n.format_number,
        pct=i18n.format_pct,
        written=as_written,
    )
    env.globals.update(
        languages=i18n.LANGUAGES,
        language_names=i18n.LANGUAGE_NAMES,
        current_language=lambda: i18n.current_language.get(),
        **dict(extra_globals),
    )
    return env
