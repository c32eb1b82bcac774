"""Raising NCs and the workflow over HTTP (JSON API with bearer tokens): drafts from
a submitted audit, review and merge, the whole path to closure, refusals with
403/404/409/422, scoping by role, the change log."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from server.audits.tables import Photo
from server.changelog.record import history
from server.core import clock
from server.core.clock import local_date
from server.findings.refs import allocate
from server.findings.tables import CorrectiveAction, NcSourceItem, Nonconformance
from tests.support import pdf_bytes
from tests.test_findings_support import (
    FIELDS,
    QM_AUDIT,
    UPS,
    actor,
    drive,
    last_seq,
    submitted_audit,
    user_ids,
)

API = "/api/v1/nonconformances"


def ups_failures() -> dict[str, tuple[Any, str]]:
    return {"UP1.01": (180, "Input sagging"), "UP1.04": (91, "Overloaded"),
            "UP1.02": (240, "")}


async def _row(nc_id: int) -> dict[str, Any]:
    return await Nonconformance.select().where(Nonconformance.id == nc_id).first()


def test_submit_raises_one_draft_per_failed_item(client: Any, run: Any) -> None:
    year = clock.today().year
    last = run(last_seq, year)
    audit_id, ncs = run(submitted_audit, UPS, "engineer", ups_failures())
    assert len(ncs) == 3
    rows = [run(_row, i) for i in ncs]
    # In checklist order, numbered on from the year's last NC, all drafts of an inspection.
    items = [json.loads(r["requirement"])["items"][0]["item_id"] for r in rows]
    assert items == ["UP1.01", "UP1.02", "UP1.04"]
    assert rows[0]["year"] == year
    assert [r["ref"] for r in rows] == [f"NC-{year}-{last + n:04d}" for n in (1, 2, 3)]
    # A year of its own: its first NC is number 1.
    assert run(allocate, 1999) == ("NC-1999-0001", 1)
    first = rows[0]
    assert first["state"] == "draft" and first["source"] == "inspection"
    assert first["severity"] == "major" and first["audit"] == audit_id
    assert first["org_unit"] is not None and first["raised_by"] is not None
    requirement = json.loads(first["requirement"])["items"][0]
    assert requirement["prompt"] == {"zh-CN": "输入电压", "en": "Input voltage"}
    assert "220 V" in requirement["guidance"]["en"]
    assert requirement["limits"]["min"] == 198
    evidence = json.loads(first["evidence"])["items"][0]
    assert evidence == {"audit": audit_id, "item_id": "UP1.01", "value": 180,
                        "comment": "Input sagging"}
    links = run(lambda: NcSourceItem.select(NcSourceItem.item_id).where(
        NcSourceItem.nc == first["id"]))
    assert links == [{"item_id": "UP1.01"}]
    # Submitting again raises nothing new.
    from server.findings.raising import raise_drafts_for_audit

    async def again() -> list[int]:
        return await raise_drafts_for_audit(audit_id, await actor("engineer"))

    assert run(again) == []
    # The next audit continues the sequence.
    _audit2, more = run(submitted_audit, QM_AUDIT, "auditor",
                        {"QM1.01": ("no", "No manual"), "QM4.05": ("no", "")})
    refs = [run(_row, i)["ref"] for i in more]
    assert refs == [f"NC-{year}-{last + 4:04d}", f"NC-{year}-{last + 5:04d}"]
    observation = run(_row, more[1])
    assert observation["severity"] == "observation" and observation["source"] == "audit"


def test_the_full_path_to_closure_through_the_api(client: Any, run: Any, api: Any) -> None:
    ids = run(user_ids)
    _audit, ncs = run(partial(submitted_audit, QM_AUDIT, "auditor",
                              {"QM1.01": ("no", "No manual")}, org_unit="QA",
                              project="P-2026-002"))
    nc = ncs[0]
    auditor, owner, qm = api("auditor"), api("owner"), api("quality_manager")

    def move(headers: dict[str, str], to: str, **fields: Any) -> Any:
        return client.post(f"{API}/{nc}/transitions", json={"to": to, **fields},
                           headers={**headers, "accept-language": "en"})

    issued = move(auditor, "open", owner=ids["owner"], comment="Please fix")
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["state"] == "open" and body["owner"]["login"] == "owner"
    issued_on = local_date(datetime.fromisoformat(body["issued_at"]))
    assert body["due_date"] == (issued_on + timedelta(days=7)).isoformat()
    assert body["transitions"] == []  # the auditor has nothing more to do now
    assert client.get(f"{API}/{nc}", headers=owner).json()["transitions"] == ["containment"]
    assert move(owner, "containment", **FIELDS["containment"]).status_code == 200
    assert move(owner, "root_cause", **FIELDS["root_cause"]).status_code == 200
    refused = move(owner, "action_plan", **FIELDS["action_plan"])
    assert refused.status_code == 409 and "action" in refused.json()["error"]["message"]
    due = (clock.today() + timedelta(days=20)).isoformat()
    added = client.post(f"{API}/{nc}/actions", headers=owner, json={
        "kind": "corrective", "description": "Write the manual", "owner": ids["engineer"],
        "due_date": due})
    assert added.status_code == 201, added.text
    action_id = added.json()["actions"][0]["id"]
    assert move(owner, "action_plan", **FIELDS["action_plan"]).status_code == 200
    assert move(owner, "implementing").status_code == 403
    approved = move(qm, "implementing", comment="OK")
    assert approved.status_code == 200
    assert approved.json()["plan_approved_by"] == "quality_manager"
    assert approved.json()["state"] == "implementing"  # approval starts the work
    early = move(owner, "verification")
    assert early.status_code == 409 and "1" in early.json()["error"]["message"]
    # The action's owner (an engineer) completes it; they can now see the NC.
    done = client.post(f"{API}/{nc}/actions/{action_id}/done", headers=api("engineer"),
                       json={"note": "Manual v1 published"})
    assert done.status_code == 200, done.text
    assert move(owner, "verification").status_code == 200
    self_check = move(owner, "closed", verification_note="fine")
    assert self_check.status_code == 403
    missing = move(auditor, "closed")
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["missing"] == ["verification_note"]
    closed = move(auditor, "closed", verification_note="Manual in use for a month")
    assert closed.status_code == 200
    final = client.get(f"{API}/{nc}", headers=qm).json()
    assert final["state"] == "closed" and final["verified_by"] == "auditor"
    assert final["actions"][0]["status"] == "done"
    assert final["transitions"] == ["open"]  # only reopening is left
    actions = [h["action"] for h in final["history"]]
    for step in ("create", "issue", "contain", "analyse", "plan", "approve_plan",
                 "request_verification", "verify_effective"):
        assert step in actions, step
    assert any(a.startswith("action #") and a.endswith("done") for a in actions)
    issue_row = next(h for h in final["history"] if h["action"] == "issue")
    assert issue_row["actor"] == "auditor" and issue_row["reason"] == "Please fix"
    assert issue_row["changes"]["state"] == ["draft", "open"]
    # Evidence: a closed NC cannot change any more.
    assert move(owner, "containment", containment="x").status_code == 409
    assert client.patch(f"{API}/{nc}", headers=qm, json={
        "severity": "minor", "severity_reason": "x"}).status_code == 409
    reopened = move(auditor, "open", comment="Manual missing again")
    assert reopened.status_code == 200 and reopened.json()["reopen_count"] == 1


def test_status_codes_for_refusals(client: Any, run: Any, api: Any) -> None:
    ids = run(user_ids)
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    nc = ncs[0]
    qm = api("quality_manager")
    url = f"{API}/{nc}/transitions"
    # The owner cannot see a draft; the engineer sees nothing of this audit: 404.
    assert client.post(url, json={"to": "open"}, headers=api("owner")).status_code == 404
    assert client.get(f"{API}/{nc}", headers=api("engineer")).status_code == 404
    assert client.get(f"{API}/99999", headers=qm).status_code == 404
    no_to = client.post(url, json={}, headers=qm)
    assert no_to.status_code == 422 and no_to.json()["error"]["details"]["missing"] == ["to"]
    assert client.post(url, content=b"{not json", headers=qm).status_code == 400
    assert client.post(url, json=[1], headers=qm).status_code == 400
    skip = client.post(url, json={"to": "verification"}, headers=qm)
    assert skip.status_code == 409 and skip.json()["error"]["message"]
    no_owner = client.post(url, json={"to": "open"}, headers=qm)
    assert no_owner.status_code == 422
    assert no_owner.json()["error"]["details"]["missing"] == ["owner"]
    ghost = client.post(url, json={"to": "open", "owner": 99999}, headers=qm)
    assert ghost.status_code == 422 and "owner" in ghost.json()["error"]["details"]["invalid"]
    stale = client.post(url, json={"to": "open", "owner": ids["owner"], "version": 7},
                        headers=qm)
    assert stale.status_code == 409
    ok = client.post(url, json={"to": "open", "owner": ids["owner"], "version": 0}, headers=qm)
    assert ok.status_code == 200 and ok.json()["version"] == 1
    assert client.post(url, json={"to": "containment", "containment": "x"},
                       headers=qm).status_code == 403
    # Now the owner sees it.
    assert client.get(f"{API}/{nc}", headers=api("owner")).status_code == 200
    # Anonymous and cookie-less requests are refused before anything else.
    assert client.post(url, json={"to": "open"}).status_code == 401


@pytest.mark.parametrize("role", ["admin", "quality_manager", "auditor", "engineer", "owner"])
def test_every_transition_over_http_for_each_role(client: Any, run: Any, api: Any,
                                                  role: str) -> None:
    """Each step of the path attempted by `role` first: 200 if allowed, else 403 or
    (for an NC they cannot see) 404; then done by the right person."""
    allowed = {"open": {"quality_manager", "auditor"}, "containment": {"owner"},
               "root_cause": {"owner"}, "action_plan": {"owner"},
               "implementing": {"quality_manager"}, "verification": {"owner"},
               "closed": {"quality_manager", "auditor"}}
    ids = run(user_ids)
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    nc = ncs[0]
    headers = api(role)
    fields = {**{k: v for f in FIELDS.values() for k, v in f.items()}, "owner": ids["owner"]}
    for state, movers in allowed.items():
        if state == "action_plan":
            run(_add_action, nc, ids["owner"])
        if state == "verification":
            run(_complete_actions, nc)
        response = client.post(f"{API}/{nc}/transitions", json={"to": state, **fields},
                               headers=headers)
        if role in movers:
            assert response.status_code == 200, (state, role, response.text)
        else:
            visible = role in ("admin", "quality_manager", "auditor") or (
                role == "owner" and state != "open")
            assert response.status_code == (403 if visible else 404), (state, role)
            run(drive, nc, state)
        assert run(_row, nc)["state"] == state


async def _add_action(nc: int, owner: int) -> None:
    from server.findings import service

    await service.add_action(nc, await actor("owner"), {
        "kind": "corrective", "description": "Fix", "owner": owner,
        "due_date": (clock.today() + timedelta(days=5)).isoformat()})


async def _complete_actions(nc: int) -> None:
    from server.findings import service

    for a in await CorrectiveAction.select(CorrectiveAction.id).where(
            (CorrectiveAction.nc == nc) & (CorrectiveAction.status == "open")):
        await service.complete_action(nc, a["id"], await actor("owner"), "done")


def test_review_edit_merge_and_issue(client: Any, run: Any, api: Any) -> None:
    ids = run(user_ids)
    audit_id, ncs = run(submitted_audit, UPS, "auditor", ups_failures())
    auditor = api("auditor")
    # Edit a draft: description and owner; severity needs a reason.
    edited = client.patch(f"{API}/{ncs[0]}", headers=auditor, json={
        "description": "Voltage low on two readings", "owner": ids["owner"]})
    assert edited.status_code == 200 and edited.json()["owner"]["login"] == "owner"
    no_reason = client.patch(f"{API}/{ncs[0]}", headers=auditor, json={"severity": "minor"})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["details"]["missing"] == ["severity_reason"]
    lowered = client.patch(f"{API}/{ncs[1]}", headers=auditor, json={
        "severity": "minor", "severity_reason": "Within 1 V of the limit"})
    assert lowered.json()["severity"] == "minor"
    assert lowered.json()["severity_reason"] == "Within 1 V of the limit"
    # Merge the second into the first: items, evidence and links move; the higher severity.
    merged = client.post(f"{API}/merge", headers=auditor, json={"keep": ncs[1],
                                                               "other": ncs[0]})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["severity"] == "major"
    assert [i["item_id"] for i in body["evidence"]["items"]] == ["UP1.02", "UP1.01"]
    assert sorted(s["item_id"] for s in body["sources"]) == ["UP1.01", "UP1.02"]
    assert body["owner"]["login"] == "owner"  # taken over from the merged draft
    gone = client.get(f"{API}/{ncs[0]}", headers=auditor).json()
    assert gone["state"] == "cancelled" and body["ref"] in gone["cancel_reason"]
    assert client.post(f"{API}/merge", headers=auditor,
                       json={"keep": ncs[1], "other": ncs[1]}).status_code == 422
    assert client.post(f"{API}/merge", headers=auditor, json={"keep": "x"}).status_code == 422
    assert client.post(f"{API}/merge", headers=auditor,
                       json={"keep": ncs[1], "other": ncs[0]}).status_code == 409
    # Only drafts of the same audit merge.
    _other_audit, other = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.03": ("no", "")})
    assert client.post(f"{API}/merge", headers=auditor,
                       json={"keep": ncs[1], "other": other[0]}).status_code == 409
    # The owner of an action role cannot merge (route role) nor edit a draft.
    assert client.post(f"{API}/merge", headers=api("owner"),
                       json={"keep": ncs[1], "other": ncs[2]}).status_code == 403
    # Issue the merged NC; the list API filters by audit.
    issued = client.post(f"{API}/{ncs[1]}/transitions", headers=auditor,
                         json={"to": "open"})
    assert issued.status_code == 200, issued.text
    listed = client.get(API, headers=auditor, params={"audit": audit_id}).json()
    assert {i["state"] for i in listed["items"]} == {"open", "draft", "cancelled"}
    assert client.get(API, headers=auditor,
                      params={"audit": audit_id, "state": "open"}).json()["total"] == 1


def test_photos_are_linked_not_copied(client: Any, run: Any, api: Any) -> None:
    audit_id, ncs = run(submitted_audit, UPS, "auditor", ups_failures())

    async def add_photos() -> None:
        user = await actor("auditor")
        for item, removed in (("UP1.01", False), ("UP1.01", True), ("UP1.04", False)):
            await Photo.insert(Photo(audit=audit_id, item_id=item, path=f"photos/{item}.jpg",
                                     thumb_path=f"photos/{item}.thumb.jpg", sha256="0" * 64,
                                     content_type="image/jpeg", width=10, height=10,
                                     size_bytes=10, uploaded_by=user.id,
                                     removed_at=None if not removed else
                                     __import__("datetime").datetime.now(
                                         __import__("datetime").UTC)))

    before = run(lambda: Photo.count())
    run(add_photos)
    body = client.get(f"{API}/{ncs[0]}", headers=api("auditor")).json()
    assert [p["item_id"] for p in body["photos"]] == ["UP1.01"]
    assert body["photos"][0]["thumb"].startswith(f"/audits/{audit_id}/photos/")
    assert run(lambda: Photo.count()) == before + 3  # nothing copied


def test_raising_by_hand_and_issuing_at_once(client: Any, run: Any, api: Any) -> None:
    ids = run(user_ids)
    engineer, qm = api("engineer"), api("quality_manager")
    registered = client.get(API, headers=qm).json()["total"]
    incomplete = client.post(API, headers=engineer, json={"source": "incident"})
    assert incomplete.status_code == 422
    details = incomplete.json()["error"]["details"]
    assert details["missing"] == ["title", "severity", "incident_level", "description"]
    bad = client.post(API, headers=engineer, json={
        "source": "incident", "incident_level": 4, "title": "x", "severity": "huge",
        "description": "d", "project": 999999})
    assert set(bad.json()["error"]["details"]["invalid"]) == {"incident_level", "severity",
                                                               "project"}
    no_owner = client.post(API, headers=engineer, json={
        "source": "random_check", "title": "x", "severity": "major", "description": "d",
        "issue": True})
    assert no_owner.status_code == 422
    assert no_owner.json()["error"]["details"]["missing"] == ["owner"]
    assert client.get(API, headers=qm).json()["total"] == registered  # rolled back
    created = client.post(API, headers=engineer, json={
        "source": "random_check", "title": "Cable trays blocked", "severity": "minor",
        "description": "Tray B3 full of boxes", "requirement": "Site rule 4.2",
        "evidence": "Seen at 10:40", "issue": True, "owner": ids["owner"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "open" and body["source"] == "random_check"
    assert body["requirement"] == {"text": "Site rule 4.2"}
    assert body["due_date"] is not None
    # The engineer raised it, so they see it; the owner too.
    assert client.get(f"{API}/{body['id']}", headers=engineer).status_code == 200
    assert client.get(f"{API}/{body['id']}", headers=api("owner")).status_code == 200
    incident = client.post(API, headers=api("quality_manager"), json={
        "source": "incident", "incident_level": 2, "title": "Outage 3 h", "severity": "major",
        "description": "Core switch down", "recurrence_of": body["ref"]})
    assert incident.status_code == 201
    assert incident.json()["incident_level"] == 2 and incident.json()["state"] == "draft"
    assert client.post(API, headers=api("owner"), json={}).status_code == 403


def test_observation_closed_with_a_disposition_and_cancel_needs_a_reason(
        client: Any, run: Any, api: Any) -> None:
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM4.05": ("no", ""),
                                                             "QM1.03": ("no", "")})
    minor, observation = ncs  # in checklist order
    auditor, qm = api("auditor"), api("quality_manager")
    issued = client.post(f"{API}/{observation}/transitions", headers=auditor,
                         json={"to": "open"})
    assert issued.status_code == 200 and issued.json()["due_date"] is None
    assert client.post(f"{API}/{observation}/transitions", headers=auditor,
                       json={"to": "closed", "disposition": "x"}).status_code == 403
    assert client.post(f"{API}/{observation}/transitions", headers=qm,
                       json={"to": "closed"}).status_code == 422
    closed = client.post(f"{API}/{observation}/transitions", headers=qm,
                         json={"to": "closed", "disposition": "Records now indexed"})
    assert closed.status_code == 200 and closed.json()["disposition"] == "Records now indexed"
    no_reason = client.post(f"{API}/{minor}/transitions", headers=qm, json={"to": "cancelled"})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["details"]["missing"] == ["comment"]
    cancelled = client.post(f"{API}/{minor}/transitions", headers=qm,
                            json={"to": "cancelled", "comment": "Duplicate of QM1.01"})
    assert cancelled.json()["cancel_reason"] == "Duplicate of QM1.01"
    assert cancelled.json()["history"][-1]["reason"] == "Duplicate of QM1.01"


def test_concession_reassignment_and_severity_on_an_issued_nc(client: Any, run: Any,
                                                              api: Any) -> None:
    ids = run(user_ids)
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    nc = ncs[0]
    run(drive, nc, "containment")
    qm, owner = api("quality_manager"), api("owner")
    until = (clock.today() + timedelta(days=90)).isoformat()
    assert client.post(f"{API}/{nc}/concession", headers=owner, json={
        "plan": "p", "until": until, "client_contact": "c"}).status_code == 403
    signed = client.post(f"{API}/{nc}/attachments", headers=qm, data={"step": "concession"},
                         files={"file": ("approval.pdf", pdf_bytes(), "application/pdf")})
    assert signed.status_code == 201, signed.text
    approval = signed.json()["attachments"][0]["id"]
    granted = client.post(f"{API}/{nc}/concession", headers=qm, json={
        "plan": "Replace at the May shutdown", "until": until, "client_name": "Mr Wu",
        "approved_on": clock.today().isoformat(), "approval_attachment": approval})
    assert granted.status_code == 200, granted.text
    assert granted.json()["concession"]["entered_by"] == "quality_manager"
    assert granted.json()["due_date"] == until
    assert granted.json()["concession"]["status"] == "active"
    listed = client.get(API, headers=qm, params={"concession": "true"}).json()
    assert [i["id"] for i in listed["items"]] == [nc]
    done = client.post(f"{API}/{nc}/concession", headers=qm, json={"done": True})
    assert done.status_code == 422
    done = client.post(f"{API}/{nc}/concession", headers=qm,
                       json={"done": True, "note": "Replaced on 12 May"})
    assert done.json()["concession"]["status"] == "done"
    assert done.json()["due_date"] != until  # back to the policy's deadline
    moved = client.post(f"{API}/{nc}/reassign", headers=qm,
                        json={"owner": ids["engineer"], "reason": "Owner on leave"})
    assert moved.status_code == 200 and moved.json()["owner"]["login"] == "engineer"
    assert client.post(f"{API}/{nc}/transitions", headers=owner,
                       json={"to": "root_cause", **FIELDS["root_cause"]}).status_code == 404
    assert client.patch(f"{API}/{nc}", headers=api("auditor"), json={
        "severity": "minor", "severity_reason": "x"}).status_code == 403
    lowered = client.patch(f"{API}/{nc}", headers=qm, json={
        "severity": "minor", "severity_reason": "Client accepts a lower risk"})
    assert lowered.status_code == 200 and lowered.json()["severity"] == "minor"
    issued = date.fromisoformat(lowered.json()["issued_at"][:10])
    assert date.fromisoformat(lowered.json()["due_date"]) - issued in (
        timedelta(days=30), timedelta(days=29), timedelta(days=31))  # local vs UTC day


def test_register_scoping_by_role(client: Any, run: Any, api: Any) -> None:
    ids = run(user_ids)
    # An inspection run by the engineer, an audit led by the auditor.
    _insp, insp_ncs = run(submitted_audit, UPS, "engineer", {"UP1.01": (180, "")})
    _aud, aud_ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", ""),
                                                               "QM1.03": ("no", "")})
    run(drive, insp_ncs[0], "open", "quality_manager")
    run(drive, aud_ncs[0], "open", "owner")
    # aud_ncs[1] stays a draft.

    def visible(login: str) -> set[int]:
        body = client.get(API, headers=api(login), params={"limit": 500}).json()
        assert body["total"] < 500  # so the page holds every NC
        return {i["id"] for i in body["items"]}

    def mine(login: str) -> set[int]:
        """Which of this test's NCs they see (the demo's and other tests' NCs are there
        too; the check against can_see below covers every NC)."""
        return visible(login) & set(insp_ncs + aud_ncs)

    assert mine("quality_manager") == set(insp_ncs + aud_ncs)
    assert mine("admin") == set(insp_ncs + aud_ncs)
    assert mine("auditor") == set(aud_ncs)
    assert mine("engineer") == set(insp_ncs)
    assert mine("owner") == {aud_ncs[0]}
    # An action in an NC makes it visible to the action's owner.
    run(drive, aud_ncs[0], "root_cause", "owner")

    async def action_for_engineer() -> None:
        from server.findings import service

        await service.add_action(aud_ncs[0], await actor("owner"), {
            "kind": "preventive", "description": "Train", "owner": ids["engineer"],
            "due_date": (clock.today() + timedelta(days=3)).isoformat()})

    run(action_for_engineer)
    assert mine("engineer") == set(insp_ncs) | {aud_ncs[0]}
    # Python's can_see agrees with the SQL scope for every person and NC.
    from server.findings.access import can_see

    logins = ("admin", "quality_manager", "auditor", "engineer", "owner")
    by_sql = {login: visible(login) for login in logins}

    async def by_python() -> dict[str, set[int]]:
        rows = await Nonconformance.select()
        out = {}
        for login in logins:
            user = await actor(login)
            out[login] = {r["id"] for r in rows if await can_see(user, r)}
        return out

    assert run(by_python) == by_sql


def test_change_log_records_who_when_and_why(client: Any, run: Any, api: Any) -> None:
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    run(drive, ncs[0], "containment")
    rows = run(history, "nonconformance", ncs[0])
    assert [r["action"] for r in rows] == ["create", "issue", "contain"]
    contain = rows[-1]
    assert contain["actor_login"] == "owner" and contain["at"] is not None
    assert contain["changes"]["state"] == ["open", "containment"]
    assert contain["changes"]["containment"][1] == FIELDS["containment"]["containment"]
