"""The NC pages through the browser's path (session cookie + CSRF): register,
detail and its forms, the auditor's review, raising by hand, "My actions", the
dashboard and the policy page; access by role; refusals re-render with the reason."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from typing import Any

import pytest

from server.core import clock
from server.findings.tables import Nonconformance
from tests.test_findings_support import QM_AUDIT, UPS, drive, submitted_audit, user_ids

ROLES = ["admin", "quality_manager", "auditor", "engineer", "owner"]


def _cards(html: str) -> set[int]:
    """The NCs a register page lists."""
    return {int(i) for i in re.findall(r'class="card-link" href="/nonconformances/(\d+)"', html)}


def _state(run: Any, nc: int) -> str:
    async def get() -> str:
        row = await Nonconformance.select(Nonconformance.state).where(
            Nonconformance.id == nc).first()
        return str(row["state"])

    return str(run(get))


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client: Any, as_user: Any, run: Any, role: str) -> None:
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    run(drive, ncs[0], "containment")
    as_user(role)
    expected = {
        "/nonconformances": 200,
        "/my-actions": 200,
        "/dashboard": 200 if role in ("admin", "quality_manager") else 403,
        "/dashboard/scores": 200 if role in ("admin", "quality_manager") else 403,
        "/settings/nc-policy": 200 if role in ("admin", "quality_manager") else 403,
        "/nonconformances/new": 200 if role in ("quality_manager", "auditor", "engineer")
        else 403,
        f"/nonconformances/{ncs[0]}": 404 if role == "engineer" else 200,
    }
    for path, status in expected.items():
        response = client.get(path)
        assert response.status_code == status, (role, path, response.status_code)
    register = client.get("/nonconformances").text
    assert (ncs[0] in _cards(register)) == (role != "engineer")


def test_detail_page_shows_the_nc_and_only_the_forms_of_this_person(
        client: Any, as_user: Any, run: Any) -> None:
    _audit, ncs = run(submitted_audit, UPS, "auditor", {"UP1.01": (180, "Input sagging")})
    nc = ncs[0]
    run(drive, nc, "open")
    as_user("owner")
    page = client.get(f"/nonconformances/{nc}", headers={"accept-language": "en"})
    text = page.text
    assert "Input voltage" in text and "Input sagging" in text and "180" in text
    assert 'name="to" value="containment"' in text
    assert 'value="cancelled"' not in text  # the QM's, not the owner's
    assert "/static/findings.css" in text
    assert "History" in text and "issue" in text
    as_user("quality_manager")
    qm = client.get(f"/nonconformances/{nc}").text
    assert 'value="cancelled"' in qm and 'value="containment"' not in qm
    assert f'action="/nonconformances/{nc}/concession"' in qm
    assert f'action="/nonconformances/{nc}/reassign"' in qm


def test_the_owners_flow_through_the_forms(client: Any, as_user: Any, run: Any) -> None:
    ids = run(user_ids)
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    nc = ncs[0]
    run(drive, nc, "open")
    token = as_user("owner")
    url = f"/nonconformances/{nc}/transitions"
    # Missing containment: the page comes back with 422 and says what is missing.
    refused = client.post(url, data={"_csrf": token, "to": "containment"},
                          headers={"accept-language": "en"})
    assert refused.status_code == 422
    assert "Please complete" in refused.text and "containment" in refused.text.lower()
    # Without the CSRF token: refused.
    assert client.post(url, data={"to": "containment", "containment": "x"}).status_code == 403
    done = client.post(url, data={"_csrf": token, "to": "containment",
                                  "containment": "Breaker replaced"})
    assert done.status_code == 200 and _state(run, nc) == "containment"
    wrong = client.post(url, data={"_csrf": token, "to": "closed"},
                        headers={"accept-language": "en"})
    # the refusal is said on the page, though no form on it asks for that step
    assert wrong.status_code == 409 and 'role="alert">Only observations can be closed' in wrong.text
    analysed = client.post(url, data={
        "_csrf": token, "to": "root_cause", "root_cause": "No checks",
        "cause_category": "method", "similar_elsewhere": "No", "why1": "Why?", "why2": "Because"})
    assert analysed.status_code == 200 and _state(run, nc) == "root_cause"
    # Add an action through the form, then submit the plan.
    bad_action = client.post(f"/nonconformances/{nc}/actions", data={
        "_csrf": token, "kind": "corrective", "description": "", "owner": ids["owner"],
        "due_date": "2001-01-01"})
    assert bad_action.status_code == 422
    added = client.post(f"/nonconformances/{nc}/actions", data={
        "_csrf": token, "kind": "corrective", "description": "Weekly breaker check",
        "owner": ids["owner"], "due_date": (clock.today() + timedelta(days=9)).isoformat()})
    assert added.status_code == 200 and "Weekly breaker check" in added.text
    planned = client.post(url, data={"_csrf": token, "to": "action_plan",
                                     "verification_standard": "Checked weekly for a month"})
    assert planned.status_code == 200 and _state(run, nc) == "action_plan"
    token = as_user("quality_manager")
    assert client.post(url, data={"_csrf": token, "to": "implementing"}).status_code == 200
    assert _state(run, nc) == "implementing"  # approving starts the work: no empty step
    token = as_user("owner")
    page = client.get(f"/nonconformances/{nc}").text
    action_id = re.search(rf"/nonconformances/{nc}/actions/(\d+)", page).group(1)
    client.post(f"/nonconformances/{nc}/actions/{action_id}",
                data={"_csrf": token, "op": "done", "note": "Added to the round"})
    assert client.post(url, data={"_csrf": token, "to": "verification"}).status_code == 200
    assert _state(run, nc) == "verification"
    my = client.get("/my-actions").text
    assert f"/nonconformances/{nc}" not in my  # nothing left for the owner
    token = as_user("auditor")
    assert f"/nonconformances/{nc}" in client.get("/my-actions").text  # to verify
    client.post(url, data={"_csrf": token, "to": "closed", "verification_note": "OK"})
    assert _state(run, nc) == "closed"


def test_review_page_edit_issue_and_merge(client: Any, as_user: Any, run: Any) -> None:
    ids = run(user_ids)
    audit_id, ncs = run(submitted_audit, UPS, "auditor", {"UP1.01": (180, ""),
                                                           "UP1.02": (240, ""),
                                                           "UP1.04": (91, "")})
    token = as_user("auditor")
    page = client.get(f"/audits/{audit_id}/nonconformances", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "Input voltage" in page.text and "Merge two drafts" in page.text
    # Change the severity without a reason: refused on the review page itself.
    refused = client.post(f"/nonconformances/{ncs[0]}/edit", data={
        "_csrf": token, "next": f"/audits/{audit_id}/nonconformances", "title": "UP1.01 low",
        "severity": "minor", "severity_reason": "", "owner": "", "then": "save"},
        headers={"accept-language": "en"})
    assert refused.status_code == 422 and "Merge two drafts" in refused.text
    saved = client.post(f"/nonconformances/{ncs[0]}/edit", data={
        "_csrf": token, "next": f"/audits/{audit_id}/nonconformances", "title": "UP1.01 low",
        "description": "Seen twice", "severity": "major", "owner": ids["owner"],
        "verification_standard": "", "then": "issue"})
    assert saved.status_code == 200 and _state(run, ncs[0]) == "open"
    merged = client.post(f"/audits/{audit_id}/nonconformances/merge",
                         data={"_csrf": token, "keep": ncs[1], "other": ncs[2]})
    assert merged.status_code == 200 and _state(run, ncs[2]) == "cancelled"
    # "Issue every draft that has an owner": the remaining one has none, so stays a draft.
    client.post(f"/audits/{audit_id}/nonconformances/issue", data={"_csrf": token})
    assert _state(run, ncs[1]) == "draft"
    # Others cannot review: the owner sees the issued one only, no forms.
    as_user("owner")
    other = client.get(f"/audits/{audit_id}/nonconformances")
    assert other.status_code == 200 and "Merge" not in other.text
    as_user("engineer")
    assert client.get(f"/audits/{audit_id}/nonconformances").status_code == 404


def test_raise_by_hand_through_the_form(client: Any, as_user: Any, run: Any) -> None:
    ids = run(user_ids)
    token = as_user("engineer")
    refused = client.post("/nonconformances", data={"_csrf": token, "source": "incident"},
                          headers={"accept-language": "en"})
    assert refused.status_code == 422 and "Please complete" in refused.text
    created = client.post("/nonconformances", data={
        "_csrf": token, "source": "complaint", "title": "Slow response to ticket 4411",
        "severity": "minor", "description": "Client waited 3 days", "owner": ids["owner"],
        "issue_now": "on"}, headers={"accept-language": "en"})
    assert created.status_code == 200
    assert "Slow response to ticket 4411" in created.text and "Customer complaint" in created.text
    nc_id = int(re.search(r"/nonconformances/(\d+)/notice.pdf", created.text).group(1))
    assert _state(run, nc_id) == "open"
    as_user("owner")
    assert escape("Slow response to ticket 4411") in client.get("/my-actions").text


def test_register_filters_and_paging(client: Any, as_user: Any, run: Any) -> None:
    _audit, ncs = run(submitted_audit, UPS, "auditor", {"UP1.01": (180, ""),
                                                        "UP1.04": (91, "")})
    run(drive, ncs[0], "open")
    as_user("quality_manager")

    def listed(url: str) -> set[int]:
        """This test's NCs on the page (the register holds the demo's and other tests')."""
        return _cards(client.get(url).text) & set(ncs)

    assert listed("/nonconformances") == {ncs[0]}
    assert listed("/nonconformances?state=draft") == {ncs[1]}
    assert listed("/nonconformances?state=all") == {ncs[0]}  # "all" = every issued NC
    assert listed("/nonconformances?state=active&severity=observation") == set()
    odd = client.get("/nonconformances?state=bogus&owner=x&page=-3&severity=huge")
    assert odd.status_code == 200


def test_dashboard_and_policy_pages(client: Any, as_user: Any, run: Any) -> None:
    token = as_user("quality_manager")
    kpi = re.compile(r'<span class="nc-kpi-value" id="kpi-open">(\d+)</span>')
    before = int(kpi.search(client.get("/dashboard").text).group(1))
    _audit, ncs = run(submitted_audit, UPS, "auditor", {"UP1.01": (180, "")})
    run(drive, ncs[0], "open")
    page = client.get("/dashboard", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert f'<span class="nc-kpi-value" id="kpi-open">{before + 1}</span>' in page.text
    assert "<svg" in page.text and "style=" not in page.text
    assert client.get("/dashboard?org_unit=x&months=7&scores_by=project").status_code == 200
    bad = client.post("/settings/nc-policy", data={
        "_csrf": token, "major.corrective_action": "on", "major.plan_days": "10",
        "major.close_days": "5", "minor.corrective_action": "on", "minor.plan_days": "30",
        "minor.close_days": "60", "remind_days_before": "3"}, headers={"accept-language": "en"})
    assert bad.status_code == 422 and "Closure cannot be due before" in bad.text
    good = client.post("/settings/nc-policy", data={
        "_csrf": token, "major.corrective_action": "on", "major.plan_days": "5",
        "major.close_days": "20", "minor.corrective_action": "on", "minor.plan_days": "14",
        "minor.close_days": "45", "remind_days_before": "2", "reason": "New rule"})
    assert good.status_code == 200 and 'value="14"' in good.text

    async def policy() -> Any:
        from server.findings.policy import load_policy

        return await load_policy()

    assert run(policy).rule("minor").plan_days == 14
    assert run(policy).rule("observation").plan_days is None
    as_user("auditor")
    assert client.post("/settings/nc-policy", data={"_csrf": token}).status_code == 403
