"""The production set-up of docs/deploy.md, for real: Caddy (Debian's package) with the
shipped deploy/Caddyfile and its internal CA in front of two server processes on one
database. People log in over HTTPS with a Secure cookie, requests reach both processes,
a token revoked through the proxy is refused by both at once, and login failures
through the proxy are throttled whichever process answers them."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.core.settings import PROJECT_ROOT
from tests.conftest import _free_port
from tests.servers import cli, serving, shared_database

pytestmark = pytest.mark.db
CADDY = shutil.which("caddy") or "/usr/bin/caddy"


@dataclass
class Site:
    url: str
    http_port: int
    root_ca: Path
    upstreams: list[str]
    logs: list[Path]
    env: dict[str, str]

    def client(self) -> httpx.Client:
        # Caddy's own root and nothing else is trusted: the chain is really checked.
        return httpx.Client(base_url=self.url, verify=_trusting(self.root_ca), timeout=30)


def _trusting(root_ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(root_ca))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("https")
    https_port, http_port = _free_port(), _free_port()
    url = f"https://localhost:{https_port}"
    with shared_database(root) as env:
        env["AUDITRAIL_BASE_URL"] = url
        logs = [root / "one.log", root / "two.log"]
        with serving(env, logs[0]) as one, serving(env, logs[1]) as two:
            upstreams = [one, two]
            caddy_env = {**env, "HOME": str(root), "XDG_DATA_HOME": str(root / "caddy-data"),
                         "XDG_CONFIG_HOME": str(root / "caddy-config"),
                         "AUDITRAIL_SITE": url, "AUDITRAIL_TLS": "internal",
                         "AUDITRAIL_HTTPS_PORT": str(https_port),
                         "AUDITRAIL_HTTP_PORT": str(http_port),
                         "AUDITRAIL_CADDY_ADMIN": f"localhost:{_free_port()}",
                         "AUDITRAIL_UPSTREAMS": " ".join(u.removeprefix("http://")
                                                         for u in upstreams)}
            log = (root / "caddy.log").open("w")
            caddy = subprocess.Popen(
                [CADDY, "run", "--config", str(PROJECT_ROOT / "deploy" / "Caddyfile"),
                 "--adapter", "caddyfile"],
                env=caddy_env, stdout=log, stderr=subprocess.STDOUT)
            root_ca = root / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
            try:
                deadline = time.monotonic() + 60
                while True:
                    if root_ca.exists():
                        try:
                            if httpx.get(url + "/healthz", verify=_trusting(root_ca),
                                         timeout=5).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                    if caddy.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((root / "caddy.log").read_text())
                    time.sleep(0.3)
                yield Site(url, http_port, root_ca, upstreams, logs, env)
            finally:
                caddy.terminate()
                caddy.wait(timeout=20)
                log.close()


def _csrf(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def test_people_log_in_over_https_and_both_processes_serve(site: Site) -> None:
    with site.client() as browser:
        page = browser.get("/login")
        assert page.status_code == 200
        assert page.http_version in ("HTTP/1.1", "HTTP/2")
        done = browser.post("/login", data={"login": "auditor", "password": "demo",
                                            "_csrf": _csrf(page.text), "next": "/account"})
        assert done.status_code in (302, 303), done.text[:300]
        cookie = done.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        for _ in range(6):
            assert browser.get("/account").status_code == 200
        # The proxy names each request; the app answers with the same id.
        assert re.fullmatch(r"[0-9a-f-]{36}", browser.get("/account").headers["x-request-id"])
        assert browser.get("/metrics").status_code == 404
    # Round robin: the account page was answered by each process (JSON access logs).
    for log in site.logs:
        lines = [json.loads(line) for line in log.read_text().splitlines()
                 if line.startswith("{")]
        assert any(line.get("path") == "/account" and line.get("status") == 200
                   and line.get("request_id") for line in lines), log
    # Plain HTTP is sent to HTTPS, never served.
    plain = httpx.get(f"http://localhost:{site.http_port}/login", timeout=5)
    assert plain.status_code in (301, 308)
    # (to the standard port: in production https_port is 443)
    assert plain.headers["location"] == "https://localhost/login"


def test_a_token_revoked_through_the_proxy_is_refused_by_every_process(site: Site) -> None:
    token = cli(site.env, "users", "token", "engineer", "--name", "https")
    admin = cli(site.env, "users", "token", "admin")
    bearer = {"Authorization": f"Bearer {token}"}
    for upstream in site.upstreams:  # each process has the owner cached
        assert httpx.get(upstream + "/api/v1/me", headers=bearer).status_code == 200
    with site.client() as proxy:
        users = proxy.get("/api/v1/users", headers={"Authorization": f"Bearer {admin}"})
        engineer = next(u for u in users.json()["items"] if u["login"] == "engineer")
        page = proxy.get("/login")
        logged = proxy.post("/login", data={"login": "admin", "password": "demo",
                                            "_csrf": _csrf(page.text), "next": "/"})
        assert logged.status_code in (302, 303)
        person = proxy.get(f"/admin/users/{engineer['id']}").text
        token_id = max(int(i) for i in re.findall(r"/admin/tokens/(\d+)/revoke", person))
        revoked = proxy.post(f"/admin/tokens/{token_id}/revoke",
                             data={"_csrf": _csrf(person)})
        assert revoked.status_code in (302, 303), revoked.text[:300]
    for upstream in site.upstreams:
        assert httpx.get(upstream + "/api/v1/me", headers=bearer).status_code == 401


def test_login_failures_through_the_proxy_are_throttled(site: Site) -> None:
    with site.client() as proxy:
        def attempt() -> httpx.Response:
            page = proxy.get("/login")
            return proxy.post("/login", data={"login": "quality_specialist",
                                              "password": "wrong",
                                              "_csrf": _csrf(page.text), "next": "/"})
        assert [attempt().status_code for _ in range(5)] == [401] * 5
        throttled = [attempt() for _ in range(2)]  # answered by both processes
        assert [r.status_code for r in throttled] == [429, 429]
        assert all(int(r.headers["Retry-After"]) > 0 for r in throttled)
