"""Every page and PDF a person reads, in both languages, without a stored code.

The crawler logs in as each role, follows every link it can reach on the demo data and
reads the visible text (identifiers set in <code> are allowed: checklist keys, logins,
file columns; so is a login in parentheses after a person's name). On a Chinese page
any stored code (an NC state, a role, an answer...) standing among Chinese text is a
defect; runs of English words are bilingual user
text and are left alone. On an English page the codes with an underscore are defects
(plain words like "open" are English there)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest
from pypdf import PdfReader

from server.accounts.roles import Role
from server.assets.categories import category_names, status_names
from server.checklists import model
from server.findings import workflow
from tests.support import csrf_of, login

pytestmark = pytest.mark.db

ANSWERS = {"yes", "no", "na", "pass", "fail", "partly"}
RUN_STATES = {"planned", "in_progress", "submitted", "closed", "cancelled"}
ACTION_CODES = {"correction", "corrective", "preventive", "open", "done", "cancelled"}
CODES = (set(workflow.STATES) | {t.name for t in workflow.TRANSITIONS} | {r.value for r in Role}
         | set(workflow.SOURCES) | set(workflow.CAUSE_CATEGORIES) | ANSWERS | RUN_STATES
         | ACTION_CODES | set(category_names()) | set(status_names())
         | {e.value for enum in (model.Kind, model.Area, model.Phase, model.Frequency,
                                 model.ItemType, model.Severity, model.PhotoRule)
            for e in enum}
         | {"plan_approved_by", "raised_by", "verified_by", "due_date", "org_unit",
            "checklist_key", "score_percent", "signature_meaning"})
SKIPPED = re.compile(r"^/(logout|static|api/|sw\.js)|\.(xlsx|csv|zip|png|jpe?g|svg)(\?|$)|"
                     r"/photos/|/export|/template/|/labels")
HIDDEN_TAGS = {"script", "style", "code", "kbd", "template", "textarea", "noscript"}
WORD = re.compile(r"[A-Za-z][A-Za-z_.]*[A-Za-z]|\b[a-z]{2}\b")
MAX_PAGES = 160


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def raw_codes(text: str, lang: str) -> list[str]:
    """The stored codes a reader meets in this text, with a little context each."""
    words = list(WORD.finditer(text))
    found = []
    for i, match in enumerate(words):
        word = match.group(0)
        if word not in CODES:
            continue
        if text[match.start() - 1:match.end() + 1] == f"({word})":
            continue  # a login after a person's name, as pickers show it to tell namesakes apart
        if lang == "en":
            if "_" not in word:
                continue
        else:
            # one English word among Chinese text is a code; a run of three or more is
            # a sentence someone wrote in English (bilingual demo comments)
            def joined(a: re.Match[str], b: re.Match[str]) -> bool:
                return re.fullmatch(r"[\s,.'’()/-]*", text[a.end():b.start()]) is not None
            run = 1
            j = i
            while j > 0 and joined(words[j - 1], words[j]):
                run, j = run + 1, j - 1
            j = i
            while j + 1 < len(words) and joined(words[j], words[j + 1]):
                run, j = run + 1, j + 1
            if run >= 3:
                continue
        found.append(f"{word!r} in …{text[max(0, match.start() - 30):match.end() + 30]}…")
    return found


def _read(response: Any) -> tuple[str, list[str]]:
    kind = response.headers.get("content-type", "")
    if "pdf" in kind:
        reader = PdfReader(io.BytesIO(response.content))
        return " ".join(page.extract_text() for page in reader.pages), []
    if "html" not in kind:
        return "", []
    parser = _Visible()
    parser.feed(response.text)
    return re.sub(r"\s+", " ", " ".join(parser.parts)), parser.links


def crawl(client: Any, start: str = "/") -> dict[str, list[str]]:
    """Visit what is reachable by links (one page per path shape); codes by page."""
    seen: set[str] = set()
    queue = [start]
    problems: dict[str, list[str]] = {}
    lang = "en" if '<html lang="en">' in client.get("/account").text else "zh"
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        url = urlparse(path)
        # one page per path shape and set of filters: /x?state=open and ?state=closed alike
        shape = re.sub(r"\d+", "N", url.path) + "?" + ",".join(sorted(
            part.split("=")[0] for part in url.query.split("&") if part))
        if shape in seen:
            continue
        seen.add(shape)
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        text, links = _read(response)
        codes = raw_codes(text, lang)
        if codes:
            problems[path] = codes
        for href in links:
            url = urlparse(urljoin("http://testserver.local" + path, href))
            if url.netloc not in ("", "testserver.local"):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if not SKIPPED.search(target):
                queue.append(target)
    assert len(seen) > 20, f"the crawl reached only {sorted(seen)}"
    return problems


def test_the_detector_finds_a_code_among_chinese_and_spares_english_sentences() -> None:
    assert raw_codes("回答: no · 未见书面任命", "zh")
    assert raw_codes("状态 root_cause → action_plan", "zh")
    assert not raw_codes("未见书面任命 / No written appointment was shown", "zh")
    assert not raw_codes("Root cause found · Plan approved", "en")
    assert raw_codes("Changes: plan_approved_by: — → 2", "en")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("role", ["quality_manager", "auditor", "owner", "engineer", "admin"])
def test_every_page_reads_without_codes(client: Any, role: str, lang: str) -> None:
    login(client, role)
    switched = client.post("/lang", data={"_csrf": csrf_of(client.get("/account").text),
                                          "lang": lang, "next": "/"})
    assert switched.status_code == 200
    problems = crawl(client)
    assert not problems, "\n".join(f"{page}: {codes}" for page, codes in problems.items())
