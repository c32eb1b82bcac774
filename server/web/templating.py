"""The Jinja environment shared by pages, htmx partials and PDFs."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from server import i18n
from server.checklists.labels import label
from server.settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"


def _text(value: Any) -> str:
    """A bilingual text (model Text or {'zh-CN','en'} dict) in the active language."""
    if value is None:
        return ""
    lang = i18n.current_language.get()
    if hasattr(value, "get") and hasattr(value, "zh_CN"):
        return str(value.get(lang))
    if isinstance(value, dict):
        return str(value.get("zh-CN") if lang == "zh_CN" else value.get("en")) or ""
    return str(value)


def _csrf_token(request: Any) -> str:
    from server.accounts.csrf import expected_token

    return expected_token(request.scope, request.app.state.settings.secret_key)


def build_environment() -> Environment:
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
        t=_text,
        date=i18n.format_date,
        number=i18n.format_number,
        pct=i18n.format_pct,
    )
    env.globals.update(
        label=label,
        form_token=_csrf_token,
        languages=i18n.LANGUAGES,
        language_names=i18n.LANGUAGE_NAMES,
        current_language=lambda: i18n.current_language.get(),
    )
    return env
