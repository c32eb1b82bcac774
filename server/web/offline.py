"""What makes the app installable and usable without a network: the web app manifest,
the service worker (served from the root so that its scope is the whole site) and the
page shown for a place the device has not stored."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from litestar import Response, get
from litestar.response import Template

from server.accounts.roles import PUBLIC
from server.core.i18n import gettext as _
from server.core.rendering import STATIC_DIR

# What the service worker stores at install: the app shell. Not the service worker itself,
# nor the files a benchmark may leave behind.
PRECACHED = (".js", ".css", ".svg", ".png")
SW_SOURCE = STATIC_DIR / "sw.js"
MANIFEST_MARK = "self.__WB_MANIFEST"


@cache
def precache_manifest() -> str:
    """Workbox's precache list, [{url, revision}], with each file's MD5 as its revision
    (what workbox-build's injectManifest writes): worked out when the server starts, so
    a changed CSS or JS file reaches the devices without a build step."""
    entries = []
    for path in sorted(STATIC_DIR.rglob("*")):
        if not path.is_file() or path.suffix not in PRECACHED or path == SW_SOURCE:
            continue
        entries.append({"url": "/static/" + path.relative_to(STATIC_DIR).as_posix(),
                        "revision": hashlib.md5(path.read_bytes()).hexdigest()})
    return json.dumps(entries, separators=(",", ":"))


@get("/sw.js", name="service-worker", opt=PUBLIC, include_in_schema=False)
async def service_worker() -> Response[str]:
    body = SW_SOURCE.read_text(encoding="utf-8").replace(MANIFEST_MARK, precache_manifest(), 1)
    # Browsers look for a new service worker at every visit; no-cache makes that cheap.
    return Response(body, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


@get("/manifest.webmanifest", name="manifest", opt=PUBLIC, include_in_schema=False)
async def manifest() -> Response[dict[str, Any]]:
    body = {
        "name": "Auditrail",
        "short_name": "Auditrail",
        "description": _("Audits and inspections, on site, with or without a network."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f6f8",
        "theme_color": "#12324f",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/icons/icon-maskable-512.png", "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    }
    return Response(body, media_type="application/manifest+json",
                    headers={"Cache-Control": "public, max-age=3600"})


@get("/offline", name="offline", opt=PUBLIC, include_in_schema=False)
async def offline_page() -> Template:
    """Shown by the service worker for a page this device has not stored."""
    return Template("offline.html")


ROUTES: list[Any] = [service_worker, manifest, offline_page]
