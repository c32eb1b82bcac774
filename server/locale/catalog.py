"""Keeps the message catalogues current: `python -m server.locale.catalog`.

Extracts every translatable string from code and templates into messages.pot,
merges it into each language's messages.po (new strings arrive untranslated,
and `tests/test_i18n.py` fails until someone translates them).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from server.core.settings import PROJECT_ROOT

LOCALE_DIR = Path(__file__).parent
METHOD_MAP = [("server/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def is_translated(message: Any) -> bool:
    """Plural entries hold a tuple of forms; every form must be filled in."""
    if isinstance(message.string, tuple):
        return all(message.string)
    return bool(message.string)


def extract() -> Catalog:
    catalog = Catalog(project="Auditrail", charset="utf-8")
    for _file, _line, message, comments, context in extract_from_dir(
        str(PROJECT_ROOT), METHOD_MAP, OPTIONS, keywords=KEYWORDS
    ):
        catalog.add(message, None, auto_comments=comments, context=context)
    return catalog


def render(catalog: Catalog) -> str:
    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=True, sort_output=True, no_location=True, width=100)
    return buffer.getvalue().decode("utf-8")


def update() -> list[str]:
    template = extract()
    (LOCALE_DIR / "messages.pot").write_text(render(template), encoding="utf-8")
    untranslated: list[str] = []
    for lang in ("zh_CN", "en"):
        po_path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            catalog = Catalog(locale=lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        po_path.write_text(render(catalog), encoding="utf-8")
        if lang != "en":
            untranslated += [f"{lang}: {m.id}" for m in catalog if m.id and not is_translated(m)]
    return untranslated


if __name__ == "__main__":
    missing = update()
    for line in missing:
        print("untranslated", line)
    sys.exit(1 if missing else 0)
