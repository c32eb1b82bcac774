"""Syncing checklist files into the database: immutable versions, on both engines.
(Each test syncs a key of its own: the versions one stores stay for the others.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.checklists import store
from server.checklists.diff import diff_checklists
from server.checklists.sync import sync_checklists
from server.checklists.tables import ChecklistVersion
from tests.support import checklist_yaml


def write(directory: Path, text: str, name: str = "sample.yaml") -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_sync_stores_once_then_reports_unchanged(run: Any, checklist_dir: Path) -> None:
    write(checklist_dir, checklist_yaml(key="test.once"))
    first = run(sync_checklists, checklist_dir)
    assert first.added == ["test.once v1"] and first.ok
    second = run(sync_checklists, checklist_dir)
    assert second.added == [] and second.unchanged == ["test.once v1"]
    assert run(ChecklistVersion.count().where(ChecklistVersion.key == "test.once").run) == 1


def test_changed_content_without_new_version_is_refused(run: Any, checklist_dir: Path) -> None:
    write(checklist_dir, checklist_yaml(key="test.changed"))
    run(sync_checklists, checklist_dir)
    write(checklist_dir, checklist_yaml(key="test.changed").replace("max: 27", "max: 28"))
    report = run(sync_checklists, checklist_dir)
    assert not report.ok
    assert report.errors == [
        "checklists/sample.yaml:1: test.changed v1 is already stored with other content; "
        "raise `version` to publish a change"
    ]
    stored = run(store.get, "test.changed", 1)
    assert stored.item("S1.02").max == 27  # the stored version is untouched


def test_raised_version_is_stored_beside_the_old(run: Any, checklist_dir: Path) -> None:
    write(checklist_dir, checklist_yaml(key="test.raised"))
    run(sync_checklists, checklist_dir)
    write(checklist_dir, checklist_yaml(key="test.raised", version=2).replace("max: 27", "max: 28"))
    assert run(sync_checklists, checklist_dir).added == ["test.raised v2"]
    assert run(store.versions_of, "test.raised") == [1, 2]
    assert run(store.get, "test.raised").version == 2
    old, new = run(store.get, "test.raised", 1), run(store.get, "test.raised", 2)
    assert diff_checklists(old, new).lines() == ["~ S1.02: max"]


def test_invalid_files_are_reported_and_valid_ones_still_load(
    run: Any, checklist_dir: Path
) -> None:
    write(checklist_dir, checklist_yaml(key="test.good"), "good.yaml")
    write(checklist_dir, checklist_yaml(key="test.bad").replace("yes_no_na", "bogus"), "bad.yaml")
    write(checklist_dir, "key: [", "broken.yaml")
    report = run(sync_checklists, checklist_dir)
    assert report.added == ["test.good v1"]
    assert sorted(e.split(":")[0] for e in report.errors) == [
        "checklists/bad.yaml",
        "checklists/broken.yaml",
    ]


def test_every_shipped_checklist_is_synced(run: Any, client: Any) -> None:
    from server.checklists.loader import load_tree
    from server.core.settings import PROJECT_ROOT

    shipped = {r.checklist.key for r in load_tree([PROJECT_ROOT / "checklists"]) if r.checklist}
    assert shipped, "the repository ships checklists"
    stored = {s.key for s in run(store.latest_summaries)}
    assert shipped <= stored
