"""What makes the app work offline, over HTTP: the service worker with its precache list,
the manifest, the offline page, the set of runs a device keeps, and the form's plain
posts (no JavaScript) with post-redirect-get."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from server.core.rendering import STATIC_DIR
from server.web.middleware import CSP
from tests.support import jpeg_bytes
from tests.test_audits_pages import HX, save, start_from_catalogue


def test_the_service_worker_precaches_every_static_file_at_its_revision(client: Any) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    listed = json.loads(re.search(r"precacheAndRoute\((\[.*?\])\)", response.text).group(1))
    revisions = {e["url"]: e["revision"] for e in listed}
    for name in ("app.js", "audits.js", "offline.js", "app.css", "icons/icon-192.png",
                 "vendor/workbox-7.4.1/workbox-sw.js", "vendor/idb-keyval-6.3.0.min.js"):
        path = STATIC_DIR / name
        assert revisions["/static/" + name] == hashlib.md5(path.read_bytes()).hexdigest()
    assert "/static/sw.js" not in revisions
    assert "worker-src 'self'" in CSP and "manifest-src 'self'" in CSP


def test_the_manifest_makes_the_app_installable(client: Any) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    body = response.json()
    assert body["start_url"] == "/" and body["display"] == "standalone"
    assert body["theme_color"].startswith("#")
    sizes = {i["sizes"] for i in body["icons"] if i["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert "offline" in client.get("/offline").text.lower()


def test_a_device_keeps_its_users_open_runs(client: Any, as_user: Any, all_types: str) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    runs = client.get("/audits/offline-set").json()["runs"]
    assert f"/audits/{audit}" in runs
    as_user("engineer")
    assert f"/audits/{audit}" not in client.get("/audits/offline-set").json()["runs"]


def test_plain_posts_redirect_back_to_the_item(client: Any, as_user: Any, all_types: str
                                               ) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    plain = client.post(f"/audits/{audit}/answers/A1",
                        data={"_csrf": token, "value": "no", "base_version": "0"},
                        follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/audits/{audit}?saved=A1#item-A1"
    page = client.get(plain.headers["location"]).text
    assert 'id="i-A1-v-no" name="value" value="no" checked' in page
    # a stale one: the whole form, with both values at the item, 409
    stale = client.post(f"/audits/{audit}/answers/A1",
                        data={"_csrf": token, "value": "yes", "base_version": "0"})
    assert stale.status_code == 409 and "<html" in stale.text
    assert stale.text.count('class="alert alert-error conflict"') == 1
    invalid = client.post(f"/audits/{audit}/answers/A4",
                          data={"_csrf": token, "value": "warm", "base_version": "0"})
    assert invalid.status_code == 422 and 'id="i-A4-state"' in invalid.text
    photo = client.post(f"/audits/{audit}/items/A1/photos", data={"_csrf": token},
                        files={"file": ("p.jpg", jpeg_bytes(), "image/jpeg")},
                        follow_redirects=False)
    assert photo.status_code == 303 and photo.headers["location"].endswith("#item-A1")
    photo_id = re.search(rf"/audits/{audit}/photos/(\d+)/remove", client.get(
        f"/audits/{audit}").text).group(1)
    removed = client.post(f"/audits/{audit}/photos/{photo_id}/remove", data={"_csrf": token},
                          follow_redirects=False)
    assert removed.status_code == 303
    # the enhanced request still gets the fragment
    fragment = save(client, token, audit, "A2", value="pass", base_version="0")
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<li")


def test_after_a_login_the_answer_and_photo_urls_lead_to_the_item(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    for path in (f"/audits/{audit}/answers/A2", f"/audits/{audit}/items/B5/photos"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303)
        assert re.fullmatch(rf"/audits/{audit}#item-(A2|B5)", response.headers["location"])
    section = client.get(f"/audits/{audit}/sections/A", follow_redirects=False)
    assert section.headers["location"] == f"/audits/{audit}?all=1#section-A"
    assert client.get(f"/audits/{audit}/sections/A", headers=HX).status_code == 200
    every = client.get(f"/audits/{audit}?all=1").text
    assert 'class="section lazy"' not in every
