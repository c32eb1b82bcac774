"""PDF rendering shared by every report: Jinja (the app's environment) -> WeasyPrint.

Report templates live under templates/reports/ and extend "reports/base.html". They
reference files only through app:/// URLs:

    app:///static/<path>   a file under static/ (e.g. app:///static/report.css)
    app:///photos/<path>   a file under <data_dir>/photos/ (stored paths are relative to
                           data_dir, like "photos/12/ab.jpg": use photo_url(path))
    data:...               inline images the server generated itself

Root-relative "/static/..." and "/photos/..." mean the same. Everything else (http, https,
file, ftp, other hosts, '..') is refused: WeasyPrint logs the failed fetch and renders the
PDF without that resource, so user text can never make the server read a file or reach the
network.

render_pdf() is synchronous and CPU-bound: from an async handler call render_pdf_async().
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio.to_thread
from jinja2 import Environment
from PIL import ImageFile
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from server.checklists.labels import label
from server.core import i18n
from server.core.rendering import STATIC_DIR, build_environment
from server.findings.labels import nc_title

# Importing WeasyPrint makes Pillow accept truncated images process-wide; uploads must
# still be refused when cut short (server/evidence/images.py), and every image a report
# embeds was re-encoded by the server, so the strict default is safe here too.
ImageFile.LOAD_TRUNCATED_IMAGES = False

BASE_URL = "app:///"
# One render at a time per process, whoever calls: Pango and fontconfig are not safe to
# drive from two threads at once, and a render is CPU-bound Python that would gain little.
_RENDER_LOCK = threading.Lock()
_CONTENT_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}


class FetchRefused(ValueError):
    """A URL a report may not load. WeasyPrint treats it as a failed fetch."""


def photo_url(stored_path: str) -> str:
    """The app:/// URL of a stored photo path relative to data_dir ("photos/12/ab.jpg")."""
    path = stored_path.replace("\\", "/").lstrip("/")
    path = path.removeprefix("photos/")
    return f"{BASE_URL}photos/{path}"


def _safe_file(root: Path, relative: str) -> Path:
    """root/relative, refusing '..', absolute paths, odd characters and escapes."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise FetchRefused(f"invalid path {relative!r}")
    parts = PurePosixPath(relative).parts
    if relative.startswith("/") or any(part in ("..", ".", "") for part in parts):
        raise FetchRefused(f"invalid path {relative!r}")
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):  # a symlink pointing outside
        raise FetchRefused(f"path {relative!r} leaves its folder")
    if not target.is_file():
        raise FetchRefused(f"no file {relative!r}")
    return target


class AppURLFetcher(URLFetcher):
    """Serves app:///static/ and app:///photos/ from disk and data: URLs; refuses the rest."""

    def __init__(self, data_dir: Path) -> None:
        # Only data: ever reaches urllib (DataHandler); no redirects, never fatal.
        super().__init__(
            timeout=5, allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False
        )
        self._roots = {"static": STATIC_DIR, "photos": Path(data_dir) / "photos"}

    def resolve(self, url: str) -> Path:
        """The file an app:/// URL names, or FetchRefused."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "" and url.startswith("/") and not url.startswith("//"):
            scheme = "app"  # root-relative, as in page templates
        if scheme != "app" or parts.netloc:
            raise FetchRefused(f"refused URL {url[:200]!r}")
        path = unquote(parts.path)
        root_name, _, relative = path.lstrip("/").partition("/")
        root = self._roots.get(root_name)
        if root is None or path.startswith("//"):
            raise FetchRefused(f"refused URL {url[:200]!r}")
        return _safe_file(root, relative)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        target = self.resolve(url)
        content_type = _CONTENT_TYPES.get(target.suffix.lower()) or (
            mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        )
        return URLFetcherResponse(
            url, body=target.read_bytes(), headers={"Content-Type": content_type}
        )


def _page_label_parts() -> tuple[str, str, str]:
    """The translated "Page X of Y" split around the two numbers, for the page footer."""
    text = i18n.gettext("Page %(page)s of %(pages)s")
    before, _, rest = text.partition("%(page)s")
    middle, _, after = rest.partition("%(pages)s")
    return before, middle, after


@cache
def environment() -> Environment:
    """The Jinja environment of reports (one per process)."""
    env = build_environment(
        {"label": label, "photo_url": photo_url, "page_label_parts": _page_label_parts,
         "nc_title": nc_title})
    return env


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Make `lang` the current language for the block (default: keep the current one)."""
    chosen = i18n.normalise(lang) or i18n.current_language.get()
    token = i18n.current_language.set(chosen)
    try:
        yield chosen
    finally:
        i18n.current_language.reset(token)


def render_html(
    template_name: str, context: dict[str, Any], *, lang: str | None = None
) -> str:
    """The report's HTML (useful for tests and debugging)."""
    with language(lang):
        return environment().get_template(template_name).render(**context)


def render_pdf(
    template_name: str, context: dict[str, Any], *, data_dir: Path, lang: str | None = None
) -> bytes:
    """Render templates/<template_name> in `lang` to PDF bytes."""
    with language(lang):
        html = environment().get_template(template_name).render(**context)
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=AppURLFetcher(data_dir))
        with _RENDER_LOCK:
            pdf = document.write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return pdf


async def render_pdf_async(
    template_name: str, context: dict[str, Any], *, data_dir: Path, lang: str | None = None
) -> bytes:
    """render_pdf() in a worker thread, so a request does not block the event loop."""
    chosen = i18n.normalise(lang) or i18n.current_language.get()

    def work() -> bytes:
        return render_pdf(template_name, context, data_dir=data_dir, lang=chosen)

    return await anyio.to_thread.run_sync(work)
