"""An inspection is seen by those who see its asset: an engineer of another department
gets a 404 for its page, API, report and photos, and cannot start one on an asset they
do not see, nor with a checklist that does not apply to it."""

from __future__ import annotations

from typing import Any

from server.accounts.tables import User
from server.accounts.tokens import issue_token
from server.accounts.users import UserInput, create_user
from server.changelog.record import SYSTEM
from server.demo.assets import load_demo_assets
from server.org.tables import OrgUnit
from tests.support import jpeg_bytes, login

PASSWORD = "another-dept-1"


async def _outsider() -> str:
    """An engineer of the project management department, in no project."""
    if not await User.exists().where(User.login == "eng-pmo"):
        unit = await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == "PMO").first()
        await create_user(UserInput(login="eng-pmo", name="Outsider", roles=["engineer"],
                                    org_unit=unit["id"]), PASSWORD, SYSTEM)
    user = await User.objects().get(User.login == "eng-pmo")
    return await issue_token(user.id, "test", SYSTEM)


def test_an_inspection_is_hidden_from_engineers_who_do_not_see_its_asset(
    client: Any, api: Any, run: Any
) -> None:
    run(load_demo_assets)
    engineer = api("engineer")
    started = client.post("/api/v1/audits", headers=engineer, json={
        "checklist": "inspection.ups.weekly", "asset": "UPS-A-001"})
    assert started.status_code == 201, started.text
    audit = started.json()["id"]
    checklist = client.get("/api/v1/checklists/inspection.ups.weekly", headers=engineer).json()
    item = next(i["id"] for s in checklist["sections"] for i in s["items"]
                if i.get("evidence", {}).get("photo", "optional") != "none")
    photo = client.post(f"/api/v1/audits/{audit}/answers/{item}/photos", headers=engineer,
                        files={"file": ("p.jpg", jpeg_bytes(), "image/jpeg")})
    assert photo.status_code == 201, photo.text
    assert client.get(f"/api/v1/audits/{audit}", headers=engineer).status_code == 200

    outsider = {"Authorization": f"Bearer {run(_outsider)}"}
    assert client.get(f"/api/v1/audits/{audit}", headers=outsider).status_code == 404
    assert client.get(f"/api/v1/audits/{audit}/report.pdf",
                      headers=outsider).status_code == 404
    assert client.post("/api/v1/audits", headers=outsider, json={
        "checklist": "inspection.ups.weekly", "asset": "UPS-A-001"}).status_code == 404
    login(client, "eng-pmo", PASSWORD)
    for path in (f"/audits/{audit}", f"/audits/{audit}/report.pdf"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/audits/{audit}/photos/{photo.json()['id']}").status_code == 404

    wrong = client.post("/api/v1/audits", headers=engineer, json={
        "checklist": "inspection.server.weekly", "asset": "UPS-A-001"})
    assert wrong.status_code == 422, wrong.text
    assert "checklist" in wrong.json()["error"]["details"]["invalid"]
