"""The demo's audit history goes through the real services: a programme with planned
audits, a submitted audit with photos, its NCs at several stages; loaded once only."""

from __future__ import annotations

import ast
from typing import Any

from server.audits.tables import Audit, Photo
from server.changelog.tables import ChangeLog
from server.demo.audits import FAILS, PLANNED, SUBMITTED, load_demo_audits
from server.findings.tables import CorrectiveAction, Nonconformance


def test_demo_audits_load_once_through_the_services(client: Any, run: Any, settings: Any,
                                                    template: Any) -> None:
    # The demo went into the empty template database as at a first `serve`; this
    # module's copy holds just that (no other test here adds to it).
    loaded = next(line for line in template.log if line.startswith("demo data loaded: "))
    added = ast.literal_eval(loaded.removeprefix("demo data loaded: "))["audits"]
    assert added == len(PLANNED) + 1

    async def snapshot() -> dict[str, Any]:
        return {
            "audits": await Audit.select(Audit.checklist_key, Audit.status, Audit.passed,
                                         Audit.signer_name).order_by(Audit.id),
            "ncs": await Nonconformance.select(Nonconformance.state, Nonconformance.title)
            .order_by(Nonconformance.id),
            "actions": await CorrectiveAction.select(CorrectiveAction.status),
            "photos": await Photo.select(Photo.item_id, Photo.path),
            "log": await ChangeLog.count(),
        }

    first = run(snapshot)
    statuses = [(a["checklist_key"], a["status"]) for a in first["audits"]]
    assert statuses == [(key, "planned") for key, *_ in PLANNED] + [(SUBMITTED, "submitted")]
    assert first["audits"][-1]["signer_name"]  # signed on submit
    # One draft NC per failed item, taken to different stages.
    assert [nc["state"] for nc in first["ncs"]] == ["draft", "containment", "implementing"]
    assert [nc["title"].split()[0] for nc in first["ncs"]] == sorted(FAILS)
    assert [a["status"] for a in first["actions"]] == ["open"]
    # Photo evidence for the failed items that ask for it, stored like any upload.
    assert first["photos"] and {p["item_id"] for p in first["photos"]} <= set(FAILS)
    for photo in first["photos"]:
        assert (settings.data_dir / photo["path"]).is_file()

    assert run(load_demo_audits, settings.data_dir) == 0
    assert run(snapshot) == first  # nothing added, nothing changed, nothing logged
