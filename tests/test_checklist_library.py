"""The shipped checklist library: complete, bilingual, and built from real checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.checklists.catalogue_doc import render
from server.checklists.loader import load_tree
from server.checklists.model import Checklist, ItemType, Kind, PhotoRule
from server.core.settings import PROJECT_ROOT

RESULTS = load_tree([PROJECT_ROOT / "checklists"], PROJECT_ROOT)
LIBRARY = [r.checklist for r in RESULTS if r.checklist]
BY_KEY = {c.key: c for c in LIBRARY}
CJK = re.compile(r"[\u4e00-\u9fff]")


def texts(c: Checklist) -> list[tuple[str, str, str]]:
    """(where, zh, en) for every human text in a checklist."""
    found = [("title", c.title.zh_CN, c.title.en)]
    for section in c.sections:
        found.append((section.id, section.title.zh_CN, section.title.en))
        for item in section.items:
            found.append((item.id, item.prompt.zh_CN, item.prompt.en))
            if item.guidance:
                found.append((f"{item.id} guidance", item.guidance.zh_CN, item.guidance.en))
            for choice in c.choices_of(item):
                found.append((f"{item.id} {choice.id}", choice.label.zh_CN, choice.label.en))
    return found


def test_every_shipped_file_validates() -> None:
    problems = [str(p) for r in RESULTS for p in r.problems]
    assert problems == []
    assert len(LIBRARY) == len(RESULTS) >= 25


def test_files_live_in_the_folder_of_their_kind() -> None:
    for result in RESULTS:
        assert result.checklist is not None
        assert Path(result.file).parts[1] == result.checklist.kind.value, result.file


@pytest.mark.parametrize("checklist", LIBRARY, ids=lambda c: c.key)
def test_every_text_is_really_in_both_languages(checklist: Checklist) -> None:
    for where, zh, en in texts(checklist):
        assert CJK.search(zh) or (zh.isascii() and len(zh) <= 12), f"{where}: no Chinese: {zh}"
        assert not CJK.search(en), f"{where}: Chinese in the English text: {en}"


@pytest.mark.parametrize("checklist", LIBRARY, ids=lambda c: c.key)
def test_every_item_has_guidance_and_can_be_judged(checklist: Checklist) -> None:
    scored = 0
    for item in checklist.items():
        assert item.guidance is not None, item.id
        if item.can_fail_by_type():
            scored += 1
    assert scored >= len(checklist.items()) // 2, "most items must be checks that can fail"
    assert checklist.source


def test_the_library_covers_every_area_phase_and_equipment_category() -> None:
    areas = {c.scope.area.value for c in LIBRARY if c.kind == Kind.org_audit and c.scope.area}
    assert areas == {
        "quality_management",
        "service_capability",
        "personnel",
        "resources",
        "technology",
        "process",
    }
    phases = {
        c.scope.phase.value for c in LIBRARY if c.kind == Kind.project_audit and c.scope.phase
    }
    assert phases == {"startup", "plan", "execution", "monitoring", "closure"}
    for key in (
        "project.routine_check",
        "project.quarterly_check",
        "project.random_check",
        "acceptance.project",
        "acceptance.delivery",
        "survey.return_visit",
        "inspection.system.pm_quarterly",
        "inspection.system.pm_half_yearly",
        "inspection.system.full_yearly",
    ):
        assert key in BY_KEY, key
    categories = {c.scope.asset_category for c in LIBRARY if c.kind == Kind.inspection}
    assert {"server_room", "server", "network_device", "ups", "precision_ac"} <= categories


def test_every_item_type_is_used_somewhere() -> None:
    used = {item.type for c in LIBRARY for item in c.items()}
    assert used == set(ItemType)


def test_readings_have_limits_and_units() -> None:
    for c in LIBRARY:
        if c.kind != Kind.inspection:
            continue
        numbers = [i for i in c.items() if i.type == ItemType.number]
        assert numbers, f"{c.key} takes no reading"
        for item in numbers:
            assert item.unit is not None, f"{c.key} {item.id}"


def test_a_failed_backup_restore_test_is_critical_and_needs_evidence() -> None:
    pm = BY_KEY["inspection.system.pm_quarterly"]
    restore = [i for i in pm.items() if "restore" in i.prompt.en.lower()]
    assert restore, "the quarterly maintenance checks a backup restore"
    assert any(
        i.critical and i.evidence.photo in (PhotoRule.required, PhotoRule.required_if_failed)
        for i in restore
    )


def test_return_visit_uses_a_five_level_scale() -> None:
    survey = BY_KEY["survey.return_visit"]
    scales = [choices for choices in survey.choice_lists.values() if len(choices) == 5]
    assert scales, "a five-level satisfaction list"
    levels = scales[0]
    assert [c.points for c in levels] == sorted((c.points for c in levels), reverse=True)
    assert sum(c.fails for c in levels) == 2


def test_generated_catalogue_doc_is_current() -> None:
    committed = (PROJECT_ROOT / "docs" / "checklists.md").read_text(encoding="utf-8")
    assert committed.strip() == render(LIBRARY).strip(), (
        "regenerate with: auditrail checklists doc --output docs/checklists.md"
    )
