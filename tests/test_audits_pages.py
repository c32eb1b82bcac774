"""The audit form and programme pages over HTTP, as the browser's htmx uses them."""

from __future__ import annotations

import re
from typing import Any

from server.core import clock
from tests.support import jpeg_bytes

HX = {"HX-Request": "true"}


def start_from_catalogue(client: Any, token: str, key: str = "test.all_types") -> int:
    response = client.post("/audits", data={"_csrf": token, "checklist": key},
                           follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def save(client: Any, token: str, audit: int, item: str, **form: Any) -> Any:
    return client.post(f"/audits/{audit}/answers/{item}", data=form,
                       headers={**HX, "X-CSRF-Token": token})


def test_form_renders_every_item_type_with_touch_controls(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    page = client.get(f"/audits/{audit}")
    assert page.status_code == 200
    html = page.text
    for item in ("A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "B6"):
        assert f'id="item-{item}"' in html
    assert 'value="yes"' in html and 'value="fail"' in html  # big buttons for yes/no, pass/fail
    assert 'data-min="18.0"' in html and 'data-max="27.0"' in html
    assert 'type="date"' in html and 'capture="environment"' in html
    assert "signature-pad" in html
    # B3 only shows when B1 is 'bad'
    assert re.search(r'id="item-B3"[^>]*hidden', html)


def test_autosave_returns_the_item_and_progress(client: Any, as_user: Any, all_types: str) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    response = save(client, token, audit, "A4", value="31", base_version="0")
    assert response.status_code == 200
    assert 'id="item-A4"' in response.text and "result-fail" in response.text
    assert 'hx-swap-oob="true"' in response.text  # progress travels out of band
    assert 'name="base_version" value="1"' in response.text
    shown = save(client, token, audit, "B1", value="bad", base_version="0")
    hidden = re.search(r'data-hidden="([^"]*)"', shown.text)
    assert hidden and "B3" not in hidden.group(1).split()
    comment = save(client, token, audit, "A4", mode="comment", comment="thermometer by door",
                   base_version="1")
    assert comment.status_code == 200 and "thermometer by door" in comment.text
    multi = save(client, token, audit, "B2", multi="1", value=["dust", "leak"], base_version="0")
    assert multi.status_code == 200 and "result-fail" in multi.text


def test_conflicting_save_is_409_and_shows_both_values(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    save(client, token, audit, "A2", value="pass", base_version="0")
    # another device saved in between (version is now 1); this one still thinks 0
    response = save(client, token, audit, "A2", value="fail", base_version="0")
    assert response.status_code == 409
    assert "their-value" in response.text and "my-value" in response.text
    assert "Keep mine" in response.text or "保留我的" in response.text
    keep_mine = save(client, token, audit, "A2", value="fail", base_version="1")
    assert keep_mine.status_code == 200 and "result-fail" in keep_mine.text


def test_invalid_value_is_422_with_a_message_and_nothing_lost(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    save(client, token, audit, "A3", value="4", base_version="0")
    bad = save(client, token, audit, "A3", value="17", base_version="1")
    assert bad.status_code == 422 and "save-state error" in bad.text
    page = client.get(f"/audits/{audit}").text
    assert re.search(r'value="4" checked', page)


def test_photo_upload_and_removal_through_the_form(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    up = client.post(f"/audits/{audit}/items/B5/photos", headers={**HX, "X-CSRF-Token": token},
                     files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")})
    assert up.status_code == 201
    match = re.search(rf"/audits/{audit}/photos/(\d+)/thumb", up.text)
    assert match
    thumb = client.get(match.group(0))
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    refused = client.post(f"/audits/{audit}/items/B5/photos",
                          headers={**HX, "X-CSRF-Token": token},
                          files={"file": ("a.jpg", b"GIF89a....", "image/jpeg")})
    assert refused.status_code == 415 and "save-state error" in refused.text
    gone = client.post(f"/audits/{audit}/photos/{match.group(1)}/remove",
                       headers={**HX, "X-CSRF-Token": token})
    assert gone.status_code == 200 and match.group(0) not in gone.text


def test_other_users_cannot_see_photos_or_the_form(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    up = client.post(f"/audits/{audit}/items/B5/photos", headers={**HX, "X-CSRF-Token": token},
                     files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")})
    path = re.search(rf"/audits/{audit}/photos/\d+", up.text).group(0)
    as_user("owner")
    assert client.get(path).status_code == 404
    assert client.get(f"/audits/{audit}").status_code == 404
    as_user("engineer")
    assert client.get(path).status_code == 404


def test_review_page_lists_missing_items_with_links(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    review = client.get(f"/audits/{audit}/submit")
    assert review.status_code == 200
    for item in ("A1", "A2", "B5", "B6"):
        assert f'href="/audits/{audit}#item-{item}"' in review.text
    wrong = client.post(f"/audits/{audit}/submit", data={"_csrf": token, "password": "nope"})
    assert wrong.status_code == 403


def test_programme_plan_and_share_done(client: Any, as_user: Any, run: Any) -> None:
    from server.accounts.tables import User

    token = as_user("quality_manager")
    auditor = run(User.select(User.id).where(User.login == "auditor").first().run)["id"]
    year = clock.today().year
    half = f"{year}-H{1 if clock.today().month <= 6 else 2}"
    # The demo's programme of this half (and other tests' audits) come first.
    share = re.search(r'<progress max="(\d+)" value="(\d+)">',
                      client.get(f"/audits?half={half}").text)
    total, done = (int(share.group(1)), int(share.group(2))) if share else (0, 0)
    planned = client.post("/audits/programme/plan", data={
        "_csrf": token, "half": half, "checklist": "org.personnel", "org_unit": "",
        "lead_auditor": str(auditor), "planned_date": clock.today().isoformat()})
    assert planned.status_code == 200
    assert (f"{done} of {total + 1}" in planned.text
            or f"{total + 1} 项中已完成 {done}" in planned.text
            or f"{done}/{total + 1}" in planned.text)
    missing = client.post("/audits/programme/plan", data={
        "_csrf": token, "half": half, "checklist": "project.startup",
        "lead_auditor": str(auditor), "planned_date": ""})
    assert missing.status_code == 422
    as_user("auditor")
    page = client.get(f"/audits?half={half}")
    assert page.status_code == 200 and "card mine" in page.text


def test_long_checklists_load_later_sections_when_needed(
    client: Any, as_user: Any, run: Any, tmp_path: Any
) -> None:
    from bench.audit_saves import write_checklist
    from server.checklists.sync import sync_checklists

    directory = tmp_path / "long"
    directory.mkdir()
    key = write_checklist(directory, 300)
    (directory / f"{key}.yaml").write_text(
        (directory / f"{key}.yaml").read_text(encoding="utf-8").replace(
            f"key: {key}", "key: test.long"), encoding="utf-8")
    assert run(sync_checklists, directory).ok
    token = as_user("auditor")
    audit = start_from_catalogue(client, token, "test.long")
    page = client.get(f"/audits/{audit}").text
    assert page.count('class="item ') == 100  # four sections of 25 come with the page
    assert f'hx-get="/audits/{audit}/sections/S11"' in page
    later = client.get(f"/audits/{audit}/sections/S11", headers=HX)
    assert later.status_code == 200 and 'id="item-I299"' in later.text
    assert client.get(f"/audits/{audit}/sections/NOPE").status_code == 404
