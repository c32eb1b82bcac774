"""NC handling as procedures 002 and 003 set it: a minor NC fixed on the spot, a
concession with the client's signed approval, quality incidents of levels 1-3 with their
deadlines, attachments on every step (checked by content), the due date an approval sets
shown first and logged with its reason, and deadlines in working days (China's calendar
with its make-up working days, plus the organisation's own days off).

The rules directly first, then each path over HTTP: the pages (session + CSRF) and the
API (bearer tokens)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.changelog.record import history
from server.core import clock, workdays
from server.evidence import documents
from server.findings import policy as pol
from server.findings import service
from server.findings.tables import NcAttachment, Nonconformance
from server.findings.workflow import (
    Context,
    NcFacts,
    Who,
    WorkflowError,
    approval_due,
    check_attach,
    check_concession,
    decide,
    due_reason,
)
from tests.support import csrf_of, docx_bytes, jpeg_bytes, pdf_bytes, xlsx_bytes
from tests.test_findings_support import QM_AUDIT, actor, drive, submitted_audit, user_ids

API = "/api/v1/nonconformances"
AUDITOR, OWNER, QM, ENGINEER = 3, 5, 2, 4
NOW = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
CTX = Context(now=NOW, today=date(2026, 9, 28), policy=pol.DEFAULT,
              clock_start=date(2026, 9, 28))
SPOT = {"step": "fix_on_spot", "containment": "Relabelled the breaker at once",
        "verification_note": "Label checked against the drawing"}


def who(role: str, user_id: int) -> Who:
    return Who(user_id, frozenset({role}))


def nc(state: str = "draft", severity: str = "minor", **extra: Any) -> NcFacts:
    return NcFacts(state=state, severity=severity, owner_id=OWNER, raised_by=AUDITOR,
                   **extra)


def status_of(fn: Any, *args: Any, **kwargs: Any) -> int:
    try:
        fn(*args, **kwargs)
    except WorkflowError as exc:
        return exc.status
    return 200


# --- working days -------------------------------------------------------------


def test_working_days_follow_the_2026_national_day_holiday_and_make_up_day() -> None:
    # 1-7 October 2026 are off; Saturday 10 October is worked in their place.
    assert not workdays.is_workday(date(2026, 10, 1))
    assert not workdays.is_workday(date(2026, 10, 5))  # a Monday, but a holiday
    assert workdays.is_workday(date(2026, 10, 10))  # a Saturday, but a make-up day
    assert not workdays.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert workdays.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert workdays.add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)
    # The organisation's own day off moves the deadline on by one more working day.
    assert workdays.add_workdays(date(2026, 9, 30), 1, [date(2026, 10, 8)]) == date(2026, 10, 9)
    assert workdays.add_workdays(date(2026, 9, 30), 0) == date(2026, 9, 30)
    with pytest.raises(ValueError):
        workdays.add_workdays(date(2026, 9, 30), -1)


def test_a_year_the_calendar_does_not_know_counts_the_plain_working_week() -> None:
    assert not workdays.is_workday(date(2031, 1, 4))  # a Saturday
    assert workdays.is_workday(date(2031, 1, 6))  # a Monday
    assert workdays.add_workdays(date(2031, 1, 3), 1) == date(2031, 1, 6)


def test_policy_counts_working_days_where_a_rule_says_so() -> None:
    data = {**pol.DEFAULT_POLICY, "minor": {"corrective_action": True, "plan_days": 5,
                                             "close_days": 10, "working_days": True},
            "days_off": "2026-10-08\n2026-10-09"}
    policy = pol.parse_policy(data)
    assert policy.days_off == (date(2026, 10, 8), date(2026, 10, 9))
    # Calendar days for majors (the procedures name no working days there) ...
    assert pol.plan_due(policy, "major", date(2026, 9, 30)) == date(2026, 10, 7)
    # ... working days for minors: 10-10 (make-up), 10-12, 10-13, 10-14, 10-15.
    assert pol.plan_due(policy, "minor", date(2026, 9, 30)) == date(2026, 10, 15)
    assert pol.parse_policy(policy.as_json()) == policy  # stored and read back the same
    with pytest.raises(pol.PolicyError) as bad:
        pol.parse_policy({**pol.DEFAULT_POLICY, "days_off": ["2026-13-01"]})
    assert "days_off" in bad.value.problems


def test_incident_levels_set_their_own_deadlines() -> None:
    start = date(2026, 9, 28)
    assert pol.incident_due(pol.DEFAULT, 1, start) == start  # within 2 hours
    assert pol.incident_due(pol.DEFAULT, 2, start) == start  # within 4 hours
    # 8 working days: 9-29, 9-30, 10-8, 10-9, 10-10 (Saturday, worked), 10-12, 10-13, 10-14.
    assert pol.incident_due(pol.DEFAULT, 3, start) == date(2026, 10, 14)
    assert pol.incident_due(pol.DEFAULT, None, start) is None
    # Issuing takes the earlier of the plan's deadline and the incident's.
    assert pol.issue_due(pol.DEFAULT, "minor", 3, start) == date(2026, 10, 14)
    assert pol.issue_due(pol.DEFAULT, "major", 3, start) == date(2026, 10, 5)
    decision = decide(nc("draft", "major", incident_level=1), who("auditor", AUDITOR), "open",
                      {}, CTX)
    assert decision.values["due_date"] == date(2026, 9, 28)


# --- fixed on the spot ----------------------------------------------------------


def test_a_minor_nc_fixed_on_the_spot_closes_without_a_plan() -> None:
    with_file = frozenset({"on_the_spot"})
    for state in ("draft", "open"):
        decision = decide(nc(state, attachment_steps=with_file), who("auditor", AUDITOR),
                          "closed", SPOT, CTX)
        assert decision.transition.name == "fix_on_spot"
        values = decision.values
        assert values["state"] == "closed" and values["verified_by"] == AUDITOR
        assert values["containment"] == SPOT["containment"]
        assert values["closed_at"] == NOW and values["due_date"] is None


def test_fixed_on_the_spot_is_refused_for_major_nc_without_evidence_or_by_others() -> None:
    with_file = frozenset({"on_the_spot"})
    with pytest.raises(WorkflowError) as major:
        decide(nc(severity="major", attachment_steps=with_file), who("auditor", AUDITOR),
               "closed", SPOT, CTX)
    assert major.value.status == 409 and "major" in major.value.message.lower()
    assert status_of(decide, nc(severity="observation", attachment_steps=with_file),
                     who("auditor", AUDITOR), "closed", SPOT, CTX) == 409
    with pytest.raises(WorkflowError) as no_file:
        decide(nc(), who("auditor", AUDITOR), "closed", SPOT, CTX)
    assert no_file.value.status == 409 and no_file.value.missing == ["file"]
    # Only the auditor (or whoever raised it): not the owner, nor the QM who did not raise it.
    assert status_of(decide, nc(attachment_steps=with_file), who("owner", OWNER), "closed",
                     SPOT, CTX) == 403
    assert status_of(decide, nc(attachment_steps=with_file), who("quality_manager", QM),
                     "closed", SPOT, CTX) == 403
    with pytest.raises(WorkflowError) as empty:
        decide(nc(attachment_steps=with_file), who("auditor", AUDITOR), "closed",
               {"step": "fix_on_spot"}, CTX)
    assert empty.value.status == 422
    assert empty.value.missing == ["containment", "verification_note"]
    # Past the plan stage it is too late, and it is never taken by its target alone.
    assert status_of(decide, nc("containment", attachment_steps=with_file),
                     who("auditor", AUDITOR), "closed", SPOT, CTX) == 409
    assert status_of(decide, nc("open", attachment_steps=with_file), who("auditor", AUDITOR),
                     "closed", {k: v for k, v in SPOT.items() if k != "step"}, CTX) == 409


# --- attachments and concessions: the rules --------------------------------------


def test_who_may_attach_to_which_step() -> None:
    assert status_of(check_attach, nc("open"), who("owner", OWNER), "containment") == 200
    assert status_of(check_attach, nc("open"), who("auditor", AUDITOR), "containment") == 403
    assert status_of(check_attach, nc("implementing"), who("engineer", ENGINEER), "action",
                     ENGINEER) == 200  # the action's owner
    assert status_of(check_attach, nc("implementing"), who("engineer", ENGINEER),
                     "action") == 403
    assert status_of(check_attach, nc("verification"), who("owner", OWNER),
                     "verification") == 403  # the owner never verifies
    assert status_of(check_attach, nc("verification"), who("auditor", AUDITOR),
                     "verification") == 200
    assert status_of(check_attach, nc("open"), who("quality_manager", QM), "concession") == 200
    assert status_of(check_attach, nc("open", "major"), who("auditor", AUDITOR),
                     "on_the_spot") == 409
    assert status_of(check_attach, nc("closed"), who("quality_manager", QM), "concession") == 409
    assert status_of(check_attach, nc("open"), who("owner", OWNER), "whatever") == 422


def test_a_concession_needs_the_client_the_approval_date_and_the_signed_file() -> None:
    qm = who("quality_manager", QM)
    good = {"plan": "Replace in May", "until": "2026-12-31", "client_name": "Ms Li",
            "approved_on": "2026-09-27"}
    granted = check_concession(nc("open"), qm, good, date(2026, 9, 28), approval_ok=True)
    assert granted["client_name"] == "Ms Li" and granted["approved_on"] == "2026-09-27"
    with pytest.raises(WorkflowError) as no_file:
        check_concession(nc("open"), qm, good, date(2026, 9, 28))
    assert no_file.value.status == 422 and no_file.value.missing == ["file"]
    with pytest.raises(WorkflowError) as future:
        check_concession(nc("open"), qm, {**good, "approved_on": "2026-10-01"},
                         date(2026, 9, 28), approval_ok=True)
    assert "approved_on" in future.value.invalid


def test_approval_moves_the_due_date_with_a_stated_reason() -> None:
    facts = nc("action_plan", "major")
    new = approval_due(facts, CTX)
    assert new == date(2026, 10, 28)  # closure: 30 calendar days after the issue
    reason = due_reason("approve_plan", facts, pol.DEFAULT, date(2026, 10, 5), new)
    assert "2026-10-05" in reason and "2026-10-28" in reason and "30" in reason
    assert due_reason("approve_plan", facts, pol.DEFAULT, new, new) == ""


# --- attachments: the content checks ---------------------------------------------


def test_files_are_checked_by_what_they_contain() -> None:
    assert documents.check(pdf_bytes(), "report.pdf").kind == "pdf"
    assert documents.check(xlsx_bytes(), "sheet.xlsx").kind == "xlsx"
    assert documents.check(docx_bytes(), "letter.docx").kind == "docx"
    photo = documents.check(jpeg_bytes(), "IMG_1.JPG")
    assert photo.kind == "photo" and photo.filename == "IMG_1.jpg"
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    # A PDF sent under another name is stored as what it is.
    assert documents.check(pdf_bytes(), "approval.exe").filename == "approval.pdf"
    cases = {
        b"MZ\x90\x00" + b"\0" * 200: 415,  # a Windows program renamed .pdf
        b"%PDF-1.7\n garbage, no objects": 422,  # claims to be a PDF, does not parse
        docx_bytes(macro=True): 415,  # a macro document
        b"": 422,
        b"#!/bin/sh\nrm -rf /\n": 415,
    }
    for data, status in cases.items():
        with pytest.raises(documents.FileRejected) as refused:
            documents.check(data, "approval.pdf")
        assert refused.value.status == status, data[:20]
    with pytest.raises(documents.FileRejected) as big:
        documents.check(b"%PDF-" + b"0" * documents.MAX_ATTACHMENT_BYTES, "big.pdf")
    assert big.value.status == 413


# --- over HTTP --------------------------------------------------------------------


async def _minor_draft(raiser: str = "auditor", **extra: Any) -> int:
    from server.findings.raising import raise_manual

    row = await raise_manual({"title": "Breaker label missing", "severity": "minor",
                              "source": "random_check", "description": "No label on breaker 3",
                              **extra}, await actor(raiser))
    return int(row.id)


async def _row(nc_id: int) -> dict[str, Any]:
    return await Nonconformance.select().where(Nonconformance.id == nc_id).first()


def _files_of(settings: Any, nc_id: int) -> list[Path]:
    folder = Path(settings.data_dir) / "attachments" / str(nc_id)
    return sorted(folder.glob("*")) if folder.exists() else []


def test_fixed_on_the_spot_through_the_api(client: Any, run: Any, api: Any,
                                          settings: Any) -> None:
    nc_id = run(_minor_draft)
    auditor = api("auditor")
    too_early = client.post(f"{API}/{nc_id}/transitions", headers=auditor,
                            json={"to": "closed", **SPOT})
    assert too_early.status_code == 409 and too_early.json()["error"]["details"]["missing"] == [
        "file"]
    attached = client.post(f"{API}/{nc_id}/attachments", headers=auditor,
                           data={"step": "on_the_spot"},
                           files={"file": ("after.jpg", jpeg_bytes(), "image/jpeg")})
    assert attached.status_code == 201, attached.text
    meta = attached.json()["attachments"][0]
    assert meta["step"] == "on_the_spot" and meta["uploaded_by"] == "auditor"
    closed = client.post(f"{API}/{nc_id}/transitions", headers=auditor,
                         json={"to": "closed", **SPOT})
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["state"] == "closed" and body["verified_by"] == "auditor"
    assert body["actions"] == [] and body["containment"] == SPOT["containment"]
    assert "fix_on_spot" in [h["action"] for h in body["history"]]
    # The file downloads for whoever sees the NC, byte for byte, and for nobody else.
    got = client.get(meta["url"], headers=auditor)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == meta["sha256"]
    assert "attachment" in got.headers["content-disposition"]
    assert client.get(meta["url"], headers=api("engineer")).status_code == 404
    assert client.get(meta["url"], headers=api("quality_manager")).status_code == 200
    # Closed: evidence; no more files.
    late = client.post(f"{API}/{nc_id}/attachments", headers=auditor,
                       data={"step": "on_the_spot"},
                       files={"file": ("x.pdf", pdf_bytes(), "application/pdf")})
    assert late.status_code == 409
    assert len(_files_of(settings, nc_id)) == 1  # the refused file was not kept


def test_a_major_nc_cannot_be_fixed_on_the_spot_over_the_api(client: Any, run: Any,
                                                            api: Any) -> None:
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    auditor = {**api("auditor"), "accept-language": "en"}
    assert run(_row, ncs[0])["severity"] == "major"
    attached = client.post(f"{API}/{ncs[0]}/attachments", headers=auditor,
                           data={"step": "on_the_spot"},
                           files={"file": ("a.pdf", pdf_bytes(), "application/pdf")})
    assert attached.status_code == 409 and "major" in attached.json()["error"]["message"].lower()
    refused = client.post(f"{API}/{ncs[0]}/transitions", headers=auditor,
                          json={"to": "closed", **SPOT})
    assert refused.status_code == 409 and "major" in refused.json()["error"]["message"].lower()
    assert run(_row, ncs[0])["state"] == "draft"


def test_hostile_attachments_are_refused_and_leave_nothing(client: Any, run: Any, api: Any,
                                                          settings: Any) -> None:
    nc_id = run(_minor_draft)
    auditor = api("auditor")

    def send(data: bytes, name: str, headers: dict[str, str] = auditor,
             step: str = "on_the_spot") -> Any:
        return client.post(f"{API}/{nc_id}/attachments", headers=headers, data={"step": step},
                           files={"file": (name, data, "application/pdf")})

    exe = send(b"MZ\x90\x00\x03" + b"\0" * 4000, "approval.pdf")
    assert exe.status_code == 415 and "file" in exe.json()["error"]["details"]["invalid"]
    big = send(b"%PDF-" + b"0" * (documents.MAX_ATTACHMENT_BYTES + 1), "big.pdf")
    assert big.status_code == 413
    assert send(pdf_bytes(), "a.pdf", api("owner")).status_code == 404  # cannot see a draft
    assert send(pdf_bytes(), "a.pdf", api("engineer")).status_code == 404
    assert send(pdf_bytes(), "a.pdf", step="verification").status_code == 409
    assert send(pdf_bytes(), "a.pdf", step="nonsense").status_code == 422
    missing = client.post(f"{API}/{nc_id}/attachments", headers=auditor,
                          data={"step": "on_the_spot"})
    assert missing.status_code == 422 and missing.json()["error"]["details"]["missing"] == [
        "file"]
    run(drive, nc_id, "open", "owner")  # issued to the owner: now they see it
    wrong_role = send(pdf_bytes(), "a.pdf", api("owner"))
    assert wrong_role.status_code == 403

    async def rows() -> int:
        return await NcAttachment.count().where(NcAttachment.nc == nc_id)

    assert run(rows) == 0 and _files_of(settings, nc_id) == []


def test_every_step_takes_its_file_on_the_page(client: Any, as_user: Any, run: Any,
                                              settings: Any) -> None:
    """Containment, an action's implementation and verification, each posted from the
    NC page with its file (CSRF as the browser sends it); all listed with who and when."""
    ids = run(user_ids)
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    nc_id = ncs[0]
    run(drive, nc_id, "open", "owner")
    url = f"/nonconformances/{nc_id}"
    token = as_user("owner")
    contained = client.post(f"{url}/transitions", data={
        "_csrf": token, "to": "containment", "containment": "Stopped the line"},
        files={"file": ("line.jpg", jpeg_bytes(), "image/jpeg")})
    assert contained.status_code == 200 and "line.jpg" in contained.text
    refused = client.post(f"{url}/transitions", data={
        "_csrf": token, "to": "root_cause", "root_cause": "x", "cause_category": "method",
        "similar_elsewhere": "no"}, files={"file": ("x.pdf", pdf_bytes(), "application/pdf")})
    assert refused.status_code == 422  # the analysis step takes no file
    assert run(_row, nc_id)["state"] == "containment"
    run(drive, nc_id, "action_plan", "owner")
    token = as_user("quality_manager")
    page = client.get(url, headers={"accept-language": "en"}).text
    # The plan is shown above "Approve the plan", with the due date it will set.
    plan_at, approve_at = page.index("The plan"), page.index('value="implementing"')
    assert plan_at < approve_at and "Due date moved from" in page
    approved = client.post(f"{url}/transitions", data={
        "_csrf": csrf_of(page), "to": "implementing"})
    assert approved.status_code == 200
    token = as_user("owner")
    page = client.get(url).text
    action_id = re.search(rf"/nonconformances/{nc_id}/actions/(\d+)", page).group(1)
    done = client.post(f"{url}/actions/{action_id}", data={
        "_csrf": token, "op": "done", "note": "Done"},
        files={"file": ("round.xlsx", xlsx_bytes(), "application/octet-stream")})
    assert done.status_code == 200 and "round.xlsx" in done.text
    client.post(f"{url}/transitions", data={"_csrf": token, "to": "verification"})
    token = as_user("auditor")
    verified = client.post(f"{url}/transitions", data={
        "_csrf": token, "to": "closed", "verification_note": "Fine"},
        files={"file": ("check.docx", docx_bytes(), "application/octet-stream")})
    assert verified.status_code == 200
    row = run(_row, nc_id)
    assert row["state"] == "closed" and row["verified_by"] == ids["auditor"]

    async def steps() -> list[tuple[str, int | None]]:
        rows = await NcAttachment.select(NcAttachment.step, NcAttachment.action).where(
            NcAttachment.nc == nc_id).order_by(NcAttachment.id)
        return [(r["step"], r["action"]) for r in rows]

    assert run(steps) == [("containment", None), ("action", int(action_id)),
                          ("verification", None)]
    assert len(_files_of(settings, nc_id)) == 3
    page = client.get(url, headers={"accept-language": "en"}).text
    for name in ("line.jpg", "round.xlsx", "check.docx"):
        assert name in page
    link = re.search(rf'href="(/nonconformances/{nc_id}/attachments/\d+)"', page).group(1)
    assert client.get(link).status_code == 200
    as_user("engineer")
    assert client.get(link).status_code == 404  # not someone who may see the NC

    async def approve_reason() -> str:
        rows = await history("nonconformance", nc_id)
        return next(r["reason"] for r in rows if r["action"] == "approve_plan")

    assert "Due date moved from" in run(approve_reason) or "到期日" in run(approve_reason)


def test_fixed_on_the_spot_and_a_concession_on_the_page(client: Any, as_user: Any, run: Any
                                                         ) -> None:
    nc_id = run(_minor_draft)
    url = f"/nonconformances/{nc_id}"
    token = as_user("auditor")
    page = client.get(url, headers={"accept-language": "en"}).text
    assert 'value="fix_on_spot"' in page and "Fixed on the spot: close" in page
    no_file = client.post(f"{url}/transitions", data={"_csrf": token, "to": "closed", **SPOT})
    assert no_file.status_code == 409 and run(_row, nc_id)["state"] == "draft"
    closed = client.post(f"{url}/transitions", data={"_csrf": token, "to": "closed", **SPOT},
                         files={"file": ("fixed.pdf", pdf_bytes(), "application/pdf")})
    assert closed.status_code == 200 and run(_row, nc_id)["state"] == "closed"
    assert "fixed.pdf" in closed.text
    forged = client.post(f"{url}/transitions", data={"to": "closed", **SPOT})
    assert forged.status_code == 403  # no CSRF token

    # A concession on an issued NC, with the signed approval.
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    other = ncs[0]
    run(drive, other, "containment", "owner")
    token = as_user("quality_manager")
    fields = {"_csrf": token, "plan": "Replace at the May shutdown", "client_name": "Mr Wu",
              "approved_on": clock.today().isoformat(),
              "until": (clock.today() + timedelta(days=60)).isoformat()}
    unsigned = client.post(f"/nonconformances/{other}/concession", data=fields)
    assert unsigned.status_code == 422 and "Mr Wu" in unsigned.text  # typed values kept
    signed = client.post(f"/nonconformances/{other}/concession", data=fields,
                         files={"file": ("signed.pdf", pdf_bytes(), "application/pdf")})
    assert signed.status_code == 200, signed.text
    concession = run(_row, other)["concession"]
    concession = concession if isinstance(concession, dict) else __import__("json").loads(
        concession)
    assert concession["client_name"] == "Mr Wu" and concession["entered_by"] == "quality_manager"
    assert concession["approval_attachment"] and concession["entered_at"]
    page = client.get(f"/nonconformances/{other}", headers={"accept-language": "en"}).text
    assert "Signed approval" in page and "signed.pdf" in page


def test_incident_levels_in_words_and_their_deadline(client: Any, as_user: Any, run: Any,
                                                    api: Any) -> None:
    ids = run(user_ids)
    headers = api("auditor")
    raised = client.post(API, headers=headers, json={
        "title": "Report module unreachable", "severity": "minor", "source": "incident",
        "description": "The report module gives a blank page",
        "incident_level": 3, "owner": ids["owner"], "issue": True})
    assert raised.status_code == 201, raised.text
    body = raised.json()
    assert body["incident_level_label"] and body["incident_level_definition"]
    issued = clock.local_date(datetime.fromisoformat(body["issued_at"]))
    assert body["due_date"] == pol.issue_due(pol.DEFAULT, "minor", 3, issued).isoformat()
    as_user("auditor")
    page = client.get(f"/nonconformances/{body['id']}", headers={"accept-language": "en"}).text
    assert "Level 3 (ordinary)" in page and "8 working days" in page
    zh = client.get(f"/nonconformances/{body['id']}", headers={"accept-language": "zh-CN"}).text
    assert "Level 3 (ordinary)" not in zh and "三级" in zh


def test_the_policy_page_keeps_working_days_and_days_off(client: Any, as_user: Any,
                                                         run: Any) -> None:
    token = as_user("quality_manager")
    form = {"_csrf": token, "major.corrective_action": "on", "major.plan_days": "7",
            "major.close_days": "30", "minor.corrective_action": "on", "minor.plan_days": "5",
            "minor.close_days": "20", "minor.working_days": "on", "remind_days_before": "3",
            "days_off": "2026-10-08\n2026-10-09", "reason": "Company anniversary"}
    bad = client.post("/settings/nc-policy", data={**form, "days_off": "8 October"})
    assert bad.status_code == 422
    saved = client.post("/settings/nc-policy", data=form)
    assert saved.status_code == 200
    policy = run(pol.load_policy)
    assert policy.rule("minor").working_days and not policy.rule("major").working_days
    assert policy.days_off == (date(2026, 10, 8), date(2026, 10, 9))
    page = client.get("/settings/nc-policy", headers={"accept-language": "en"}).text
    assert "2026-10-08" in page and "Level 1 (urgent)" in page
    run(pol.save_policy, pol.DEFAULT, run(actor, "quality_manager"), "back to the default")


def test_an_nc_approved_before_the_change_still_moves_on(client: Any, run: Any,
                                                        api: Any) -> None:
    """Records left in plan_approved (the old, empty step) complete their actions and
    ask for verification as if implementing."""
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    nc_id = ncs[0]
    run(drive, nc_id, "implementing", "owner")

    async def back_to_old_state() -> None:
        await Nonconformance.update({Nonconformance.state: "plan_approved"}).where(
            Nonconformance.id == nc_id)

    run(back_to_old_state)
    owner = api("owner")
    body = client.get(f"{API}/{nc_id}", headers=owner).json()
    assert body["state_label"] and body["transitions"] == ["verification"]
    action = body["actions"][0]["id"]
    done = client.post(f"{API}/{nc_id}/actions/{action}/done", headers=owner,
                       json={"note": "done"})
    assert done.status_code == 200
    moved = client.post(f"{API}/{nc_id}/transitions", headers=owner, json={"to": "verification"})
    assert moved.status_code == 200 and moved.json()["state"] == "verification"


def test_service_attach_needs_the_action_for_an_action_file(run: Any, client: Any,
                                                            settings: Any) -> None:
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    run(drive, ncs[0], "implementing", "owner")

    async def attach() -> int:
        try:
            await service.attach(ncs[0], await actor("owner"), "action",
                                 service.Upload(pdf_bytes(), "a.pdf"), settings.data_dir)
        except WorkflowError as exc:
            return exc.status
        return 200

    assert run(attach) == 422 and _files_of(settings, ncs[0]) == []


def test_attachments_are_backed_up_and_verified_by_their_hash(client: Any, run: Any, api: Any,
                                                             settings: Any) -> None:
    from server.maintenance import backup, integrity

    nc_id = run(_minor_draft)
    attached = client.post(f"{API}/{nc_id}/attachments", headers=api("auditor"),
                           data={"step": "on_the_spot"},
                           files={"file": ("after.pdf", pdf_bytes(), "application/pdf")})
    assert attached.status_code == 201
    stored = _files_of(settings, nc_id)[0]
    assert stored in backup._photos(Path(settings.data_dir))  # goes into every backup
    from server.maintenance import restore

    rel = stored.relative_to(settings.data_dir).as_posix()
    assert restore._safe_name(rel) and not restore._safe_name("attachments/../secret_key")
    problems, _count = run(integrity.check_photos, settings.data_dir, "nc_attachment")
    assert not [p for p in problems if str(stored.name) in p]
    stored.write_bytes(stored.read_bytes() + b"tampered")
    problems, _count = run(integrity.check_photos, settings.data_dir, "nc_attachment")
    assert any(stored.name in p and "SHA-256" in p for p in problems)
    stored.unlink()  # leave nothing broken for the other tests of this module
    assert client.get(attached.json()["attachments"][0]["url"],
                      headers=api("auditor")).status_code == 404


def test_the_notice_names_the_incident_level_the_concession_and_the_files(
        client: Any, run: Any, api: Any, as_user: Any) -> None:
    import io

    from pypdf import PdfReader

    ids = run(user_ids)
    qm = api("quality_manager")
    raised = client.post(API, headers=qm, json={
        "title": "Sync failing", "severity": "major", "source": "incident", "incident_level": 2,
        "description": "Data sync fails nightly", "owner": ids["owner"], "issue": True})
    nc_id = raised.json()["id"]
    signed = client.post(f"{API}/{nc_id}/attachments", headers=qm, data={"step": "concession"},
                         files={"file": ("signed.pdf", pdf_bytes(), "application/pdf")})
    granted = client.post(f"{API}/{nc_id}/concession", headers=qm, json={
        "plan": "Move to the new link in May", "client_name": "Ms Zhao",
        "approved_on": clock.today().isoformat(), "approval_attachment":
        signed.json()["attachments"][0]["id"],
        "until": (clock.today() + timedelta(days=30)).isoformat()})
    assert granted.status_code == 200, granted.text
    as_user("quality_manager")
    pdf = client.get(f"/nonconformances/{nc_id}/notice.pdf?lang=en")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for words in ("Level 2 (important)", "Ms Zhao", "signed.pdf"):
        assert words in text.replace("\n", " "), words


def test_actions_are_added_right_before_the_plan_is_submitted(client: Any, as_user: Any,
                                                              run: Any) -> None:
    _audit, ncs = run(submitted_audit, QM_AUDIT, "auditor", {"QM1.01": ("no", "")})
    run(drive, ncs[0], "root_cause", "owner")
    as_user("owner")
    page = client.get(f"/nonconformances/{ncs[0]}", headers={"accept-language": "en"}).text
    plan, add, submit = (page.index("The plan"), page.index("Add the action"),
                         page.index('value="action_plan"'))
    assert plan < add < submit  # the plan, then adding to it, then submitting it
    assert page.count("Add the action") == 1  # one place to add actions, not two
    assert "Start implementing" not in page
