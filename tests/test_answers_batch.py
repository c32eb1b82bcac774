"""A device back from a day without network: its queued answers in one request, each
answered on its own (the API with a token, the form with its session)."""

from __future__ import annotations

from typing import Any

from tests.support import jpeg_bytes, png_bytes
from tests.test_audits_api import GOOD, put, start
from tests.test_audits_pages import HX, start_from_catalogue


def batch(client: Any, headers: dict[str, str], audit: int, answers: list[dict[str, Any]],
          url: str = "/api/v1/audits/{}/answers:batch") -> Any:
    return client.post(url.format(audit), json={"answers": answers}, headers=headers)


def test_each_answer_is_saved_refused_or_conflicting_on_its_own(
    client: Any, api: Any, all_types: str
) -> None:
    h = api("auditor")
    audit = start(client, h)
    put(client, h, audit, "A2", "fail")  # another device, meanwhile: version 1
    response = batch(client, h, audit, [
        {"item_id": "A1", "value": "yes", "base_version": 0},
        {"item_id": "A2", "value": "pass", "base_version": 0},  # stale: a conflict
        {"item_id": "A3", "value": 9, "base_version": 0},  # outside 1..5
        {"item_id": "ZZ9", "value": "yes"},
        {"item_id": "A4", "value": "22.5", "comment": "by the door", "base_version": 0},
    ])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["item_id"] for r in results] == ["A1", "A2", "A3", "ZZ9", "A4"]
    assert [r["status"] for r in results] == [200, 409, 422, 404, 200]
    assert results[0]["version"] == 1 and results[0]["result"] == "pass"
    assert results[1]["current"] == {"value": "fail", "comment": "", "version": 1}
    assert results[2]["error"]
    assert results[4]["value"] == 22.5 and results[4]["comment"] == "by the door"
    answers = client.get(f"/api/v1/audits/{audit}", headers=h).json()["answers"]
    assert answers["A1"]["value"] == "yes" and answers["A2"]["value"] == "fail"
    assert "A3" not in answers and answers["A4"]["value"] == 22.5


def test_a_replay_of_a_save_that_landed_is_not_a_conflict(
    client: Any, api: Any, all_types: str
) -> None:
    """The reply was lost on the way back: the device sends the same answer again."""
    h = api("auditor")
    audit = start(client, h)
    first = batch(client, h, audit, [{"item_id": "A1", "value": "no", "base_version": 0,
                                      "comment": "loose"}]).json()["results"][0]
    again = batch(client, h, audit, [{"item_id": "A1", "value": "no", "base_version": 0,
                                      "comment": "loose"}]).json()["results"][0]
    assert first["status"] == again["status"] == 200
    assert again["version"] == first["version"] == 1 and again["result"] == "fail"
    other = batch(client, h, audit, [{"item_id": "A1", "value": "yes",
                                      "base_version": 0}]).json()["results"][0]
    assert other["status"] == 409


def test_later_changes_to_one_item_go_on_top_of_the_earlier_ones(
    client: Any, api: Any, all_types: str
) -> None:
    h = api("auditor")
    audit = start(client, h)
    results = batch(client, h, audit, [
        {"item_id": "A1", "value": "no", "base_version": 0},
        {"item_id": "A1", "comment": "fixed on site", "keep_value": True, "base_version": 0},
        {"item_id": "A1", "value": "yes", "base_version": 0},
    ]).json()["results"]
    assert [(r["status"], r["version"]) for r in results] == [(200, 1), (200, 2), (200, 3)]
    answer = client.get(f"/api/v1/audits/{audit}", headers=h).json()["answers"]["A1"]
    assert answer["value"] == "yes" and answer["comment"] == "fixed on site"


def test_bad_batches_are_refused_whole(client: Any, api: Any, all_types: str) -> None:
    h = api("auditor")
    audit = start(client, h)
    assert batch(client, h, audit, [{"item": "A1"}]).status_code == 422  # unknown field
    assert batch(client, h, audit, [{"item_id": "A1"}] * 1001).status_code == 422
    assert client.post(f"/api/v1/audits/{audit}/answers:batch", content=b"[1]",
                       headers=h).status_code == 400
    assert batch(client, api("owner"), audit, [{"item_id": "A1", "value": "yes"}]
                 ).status_code in (403, 404)
    assert batch(client, h, 999999, [{"item_id": "A1", "value": "yes"}]).status_code == 404
    assert client.post(f"/api/v1/audits/{audit}/submit", headers=h).status_code == 422


def test_a_submitted_run_refuses_the_batch(
    client: Any, api: Any, all_types: str, run: Any
) -> None:
    from server.audits import service
    from server.changelog.record import SYSTEM

    h = api("auditor")
    audit = start(client, h)
    results = batch(client, h, audit, [{"item_id": k, "value": v} for k, v in GOOD.items()]
                    ).json()["results"]
    assert {r["status"] for r in results} == {200}
    client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                files={"file": ("p.jpg", jpeg_bytes(), "image/jpeg")})
    run(service.add_image, audit, "B6", png_bytes(), SYSTEM, client.app.state.settings.data_dir,
        "signature")
    assert client.post(f"/api/v1/audits/{audit}/submit", headers=h).status_code == 200
    refused = batch(client, h, audit, [{"item_id": "A1", "value": "no"}])
    assert refused.status_code == 409


def test_the_form_sends_its_outbox_with_the_session(
    client: Any, as_user: Any, all_types: str
) -> None:
    token = as_user("auditor")
    audit = start_from_catalogue(client, token)
    url = "/audits/{}/answers:batch"
    headers = {"X-CSRF-Token": token}
    assert batch(client, {}, audit, [{"item_id": "A1", "value": "yes"}], url
                 ).status_code == 403  # no CSRF token
    results = batch(client, headers, audit, [
        {"item_id": "A1", "value": "yes", "base_version": 0},
        {"item_id": "B2", "value": ["dust", "leak"], "base_version": 0},
    ], url).json()["results"]
    assert [r["status"] for r in results] == [200, 200]
    assert 'value="dust" checked' in client.get(f"/audits/{audit}", headers=HX).text
