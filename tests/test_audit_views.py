"""The view of a run that an autosave answers with: only the saved item is loaded in full,
yet visibility, progress, score and what blocks submit must match the whole run's view."""

from __future__ import annotations

from typing import Any

from server.audits.views import load_run
from tests.support import jpeg_bytes
from tests.test_audits_api import put, start


def test_an_item_focused_view_agrees_with_the_full_view(
    client: Any, api: Any, run: Any, all_types: str
) -> None:
    h = api("auditor")
    audit = start(client, h)
    # B1 'bad' shows B3 (show_if) and fails; A1 'no' fails and then needs a photo.
    for item, value in [("A1", "no"), ("A2", "pass"), ("A3", 4), ("B1", "bad"),
                        ("B3", "wipe it"), ("B4", "2026-11-20")]:
        assert put(client, h, audit, item, value, comment=f"on {item}").status_code == 200
    photo = client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                        files={"file": ("site.jpg", jpeg_bytes(), "image/jpeg")})
    assert photo.status_code == 201, photo.text

    full = run(load_run, audit, "en")
    for item_id in ("B1", "B5", "A4"):
        focused = run(load_run, audit, "en", item_id)
        assert focused.visible == full.visible
        assert focused.progress == full.progress
        assert focused.score == full.score
        assert focused.missing == full.missing
        # Only the saved item's answer and photos are loaded in full.
        assert set(focused.answers) == ({item_id} & set(full.answers))
        assert focused.answers.get(item_id) == full.answers.get(item_id)
        assert focused.photos.get(item_id) == full.photos.get(item_id)
    assert "B3" in full.visible and full.score.failed == ["A1", "B1"]
    assert [m.item_id for m in full.missing][:1] == ["A1"]  # its photo, failed


def test_the_autosave_response_reports_the_whole_runs_progress(
    client: Any, api: Any, all_types: str
) -> None:
    h = api("auditor")
    audit = start(client, h)
    for item, value in [("A1", "yes"), ("A2", "pass"), ("A3", 4)]:
        assert put(client, h, audit, item, value).status_code == 200
    from tests.support import login

    csrf = login(client, "auditor")
    response = client.post(f"/audits/{audit}/answers/B1", data={"value": "bad"},
                           headers={"X-CSRF-Token": csrf, "HX-Request": "true",
                                    "accept-language": "en"})
    assert response.status_code == 200, response.text
    # 4 answered of the required visible items (B3 became visible with B1 'bad').
    assert "4 of 9 required answered" in response.text
    assert 'id="item-B1"' in response.text and 'id="item-A1"' not in response.text
    assert 'data-hidden=""' in response.text  # nothing hidden once B3 shows
