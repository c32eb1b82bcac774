"""Running an audit through the JSON API: answers of every type, conflicts, locking,
photos, submit and score, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import jpeg_bytes, png_bytes

GOOD = {"A1": "yes", "A2": "pass", "A3": 4, "A4": 22.5, "B1": "good", "B4": "2026-11-20"}


def start(client: Any, headers: dict[str, str], key: str = "test.all_types") -> int:
    response = client.post("/api/v1/audits", json={"checklist": key}, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["checklist"] == key and body["checklist_version"] == 1
    assert body["status"] == "in_progress"
    return int(body["id"])


def put(client: Any, headers: dict[str, str], audit: int, item: str, value: Any,
        **extra: Any) -> Any:
    return client.put(f"/api/v1/audits/{audit}/answers/{item}", json={"value": value, **extra},
                      headers=headers)


def test_answers_of_every_type_with_results(client: Any, api: Any, all_types: str) -> None:
    h = api("auditor")
    audit = start(client, h)
    cases = [("A1", "no", "fail"), ("A1", "yes", "pass"), ("A2", "fail", "fail"),
             ("A3", 2, "fail"), ("A3", "4", "pass"), ("A4", 30, "fail"), ("A4", "22.5", "pass"),
             ("B1", "fair", "pass"), ("B1", "bad", "fail"), ("B2", ["leak", "dust"], "fail"),
             ("B2", ["dust"], "pass"), ("B3", "wipe it", None), ("B4", "2026-02-28", None)]
    for item, value, result in cases:
        response = put(client, h, audit, item, value)
        assert response.status_code == 200, (item, value, response.text)
        body = response.json()
        assert body["item_id"] == item and body["result"] == result, (item, value, body)
    detail = client.get(f"/api/v1/audits/{audit}", headers=h).json()
    assert detail["answers"]["A4"]["value"] == 22.5
    assert detail["answers"]["B2"]["value"] == ["dust"]
    assert detail["answers"]["A1"]["version"] == 2


@pytest.mark.parametrize(("item", "value"), [
    ("A1", "maybe"), ("A2", "yes"), ("A3", 9), ("A3", 3.5), ("A4", "warm"), ("A4", True),
    ("B1", "excellent"), ("B2", ["rust"]), ("B4", "2026-02-30"), ("B5", "a photo"),
])
def test_values_an_item_does_not_accept_are_422(
    client: Any, api: Any, all_types: str, item: str, value: Any
) -> None:
    h = api("auditor")
    audit = start(client, h)
    put(client, h, audit, "A4", 20)
    response = put(client, h, audit, item, value)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
    assert client.get(f"/api/v1/audits/{audit}", headers=h).json()["answers"]["A4"]["value"] == 20


def test_unknown_item_and_audit_are_404(client: Any, api: Any, all_types: str) -> None:
    h = api("auditor")
    audit = start(client, h)
    assert put(client, h, audit, "ZZ9", "yes").status_code == 404
    assert put(client, h, 999999, "A1", "yes").status_code == 404
    assert client.post("/api/v1/audits", json={"checklist": "no.such"},
                       headers=h).status_code == 404


def test_stale_base_version_is_409_and_keeps_the_newer_answer(
    client: Any, api: Any, all_types: str
) -> None:
    h = api("auditor")
    audit = start(client, h)
    first = put(client, h, audit, "A2", "pass", base_version=0).json()
    assert first["version"] == 1
    assert put(client, h, audit, "A2", "fail", base_version=1).status_code == 200
    stale = put(client, h, audit, "A2", "pass", base_version=1)
    assert stale.status_code == 409
    assert stale.json()["error"]["details"]["current"]["value"] == "fail"
    assert client.get(f"/api/v1/audits/{audit}", headers=h).json()["answers"]["A2"]["value"] == (
        "fail")


def test_submit_lists_what_is_missing_then_locks(
    client: Any, api: Any, all_types: str, run: Any
) -> None:
    h = api("auditor")
    audit = start(client, h)
    # fails: needs a photo (required_if_failed) and the finding, which the comment holds
    put(client, h, audit, "A1", "no", comment="The UPS log is missing for March.")
    missing = client.post(f"/api/v1/audits/{audit}/submit", headers=h)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["missing"] == [
        "A1", "A2", "A3", "A4", "B1", "B4", "B5", "B6"]
    for item, value in GOOD.items():
        if item != "A1":
            put(client, h, audit, item, value)
    for item in ("A1", "B5"):
        r = client.post(f"/api/v1/audits/{audit}/answers/{item}/photos", headers=h,
                        files={"file": ("p.jpg", jpeg_bytes(), "image/jpeg")})
        assert r.status_code == 201, r.text
    refused = client.post(f"/api/v1/audits/{audit}/submit", headers=h).json()
    assert refused["error"]["details"]["missing"] == ["B6"]
    from server.audits import service
    from server.changelog.record import SYSTEM

    run(service.add_image, audit, "B6", png_bytes(), SYSTEM, client.app.state.settings.data_dir,
        "signature")
    done = client.post(f"/api/v1/audits/{audit}/submit", headers=h)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "submitted"
    score = body["score"]
    # A1 fails (critical): weight 2 of 2+1+1+1+1 = 6 possible; earned 0+1+0.75+1+1 = 3.75
    assert score["possible"] == 6 and score["earned"] == 3.75 and score["percent"] == 62.5
    assert score["passed"] is False and score["critical_failed"] == ["A1"]
    assert [s["id"] for s in score["sections"]] == ["A", "B"]
    assert put(client, h, audit, "A2", "fail").status_code == 409
    photo = client.post(f"/api/v1/audits/{audit}/answers/A2/photos", headers=h,
                        files={"file": ("p.jpg", jpeg_bytes(), "image/jpeg")})
    assert photo.status_code == 409
    detail = client.get(f"/api/v1/audits/{audit}", headers=h).json()
    assert detail["status"] == "submitted" and detail["score"]["percent"] == 62.5
    assert isinstance(detail["nonconformances"], list)


def test_photo_uploads_are_checked_by_content(client: Any, api: Any, all_types: str) -> None:
    h = api("auditor")
    audit = start(client, h)
    ok = client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                     files={"file": ("shot.png", jpeg_bytes(3000, 2000), "image/png")})
    assert ok.status_code == 201
    body = ok.json()
    assert (body["width"], body["height"]) == (2048, 1365) and len(body["sha256"]) == 64
    text = client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                       files={"file": ("shot.jpg", b"hello, not an image", "image/jpeg")})
    assert text.status_code == 415
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                       files={"file": ("x.svg", svg, "image/svg+xml")}).status_code == 415
    no_file = client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                          files={"other": ("x.jpg", jpeg_bytes(), "image/jpeg")})
    assert no_file.status_code == 422
    assert client.get(f"/api/v1/audits/{audit}", headers=h).json()["photos"]["B5"] == [
        body["id"]]


def test_roles_and_records_are_scoped(client: Any, api: Any, all_types: str) -> None:
    audit = start(client, api("auditor"))
    # an owner neither sees nor changes an audit that is not theirs
    owner = api("owner")
    assert client.get(f"/api/v1/audits/{audit}", headers=owner).status_code == 404
    assert put(client, owner, audit, "A1", "yes").status_code == 403
    # the engineer cannot start an organisation or project audit
    assert client.post("/api/v1/audits", json={"checklist": "test.all_types"},
                       headers=api("engineer")).status_code == 403
    # another auditor can read it, but only the lead changes it
    assert client.get(f"/api/v1/audits/{audit}", headers=api("quality_manager")).status_code == 200
    assert put(client, api("quality_manager"), audit, "A1", "yes").status_code == 200


def test_a_run_records_the_exact_checklist_version(
    client: Any, api: Any, all_types: str, run: Any, tmp_path: Any
) -> None:
    from server.checklists.sync import sync_checklists
    from tests.support import FIXTURE_CHECKLISTS

    # A key of its own: a second version of test.all_types would be the one every other
    # test of this module starts.
    h = api("auditor")
    text = (FIXTURE_CHECKLISTS / "all_types.yaml").read_text(encoding="utf-8").replace(
        "key: test.all_types", "key: test.all_types_versioned")
    directory = tmp_path / "checklists"
    directory.mkdir()
    (directory / "v1.yaml").write_text(text, encoding="utf-8")
    assert run(sync_checklists, directory).added == ["test.all_types_versioned v1"]
    old = start(client, h, "test.all_types_versioned")
    (directory / "v2.yaml").write_text(
        text.replace("version: 1", "version: 2").replace("max: 27", "max: 25"), encoding="utf-8")
    assert run(sync_checklists, directory).added == ["test.all_types_versioned v2"]
    new = client.post("/api/v1/audits", json={"checklist": "test.all_types_versioned"},
                      headers=h).json()
    assert new["checklist_version"] == 2
    # 26 °C passes on the old version's limits and fails on the new one
    assert put(client, h, old, "A4", 26).json()["result"] == "pass"
    assert put(client, h, new["id"], "A4", 26).json()["result"] == "fail"


def test_uploads_over_http_with_real_images(client: Any, api: Any, all_types: str) -> None:
    """The upload route end to end: orientation, formats, bombs, and the body limit."""
    import io

    from PIL import Image

    from tests.test_images import camera_exif, png_header_only

    h = api("auditor")
    audit = start(client, h)
    url = f"/api/v1/audits/{audit}/answers/B5/photos"

    portrait = Image.new("RGB", (400, 300), (0, 128, 255))
    buffer = io.BytesIO()
    portrait.save(buffer, "JPEG", exif=camera_exif(Orientation=6))
    rotated = client.post(url, headers=h, files={"file": ("r.jpg", buffer.getvalue(), "")})
    assert rotated.status_code == 201
    assert (rotated.json()["width"], rotated.json()["height"]) == (300, 400)

    for fmt, name in (("PNG", "a.png"), ("WEBP", "a.webp")):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (10, 200, 10)).save(buffer, fmt)
        assert client.post(url, headers=h, files={"file": (name, buffer.getvalue(), "")}
                           ).status_code == 201

    bomb = client.post(url, headers=h, files={"file": ("b.png", png_header_only(30000, 30000), "")})
    assert bomb.status_code == 422 and "50" in bomb.json()["error"]["message"]

    huge = client.post(url, headers=h, files={"file": ("big.jpg", b"\xff\xd8" + b"0" * (31 << 20),
                                                         "image/jpeg")})
    assert huge.status_code == 413

    stored = client.get(f"/api/v1/audits/{audit}", headers=h).json()["photos"]["B5"]
    assert len(stored) == 3  # the refused uploads left nothing behind


def test_capture_time_without_an_offset_is_read_as_local_time(
    client: Any, api: Any, run: Any, all_types: str
) -> None:
    """A camera's clock has no zone; stored as UTC it would move the capture by hours."""
    import io
    from datetime import datetime

    from PIL import Image
    from PIL.ExifTags import IFD, Base

    from server.audits.tables import Photo
    from server.core import clock
    from tests.test_images import camera_exif

    h = api("auditor")
    audit = start(client, h)
    exif = camera_exif()
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "2024:05:06 07:08:09"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 10)).save(buffer, "JPEG", exif=exif)
    response = client.post(f"/api/v1/audits/{audit}/answers/B5/photos", headers=h,
                           files={"file": ("p.jpg", buffer.getvalue(), "image/jpeg")})
    assert response.status_code == 201, response.text

    async def captured() -> Any:
        row = await Photo.select(Photo.captured_at).where(
            Photo.id == response.json()["id"]).first()
        return row["captured_at"]

    moment = run(captured)
    assert moment.tzinfo is not None
    assert moment == datetime(2024, 5, 6, 7, 8, 9, tzinfo=clock.local_zone())


def test_report_pdf_over_http(client: Any, api: Any, all_types: str) -> None:
    import io

    from pypdf import PdfReader

    h = api("auditor")
    audit = start(client, h)
    put(client, h, audit, "A2", "fail", comment="<b>loose cables</b>")
    response = client.get(f"/api/v1/audits/{audit}/report.pdf",
                          headers={**h, "Accept-Language": "en"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "All-types test checklist" in text and "<b>loose cables</b>" in text
    assert client.get(f"/api/v1/audits/{audit}/report.pdf", headers=api("owner")).status_code == 404
