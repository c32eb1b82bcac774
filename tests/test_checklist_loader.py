"""The checklist loader: every kind of error, with file, line and item id."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.checklists.loader import load_file, load_tree, parse_text
from server.checklists.model import json_schema
from tests.support import checklist_yaml

FILE = "checklists/project_audit/startup.yaml"


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_text(text, FILE).problems]


def test_valid_sample_loads() -> None:
    result = parse_text(checklist_yaml(), FILE)
    assert result.ok, result.problems
    assert result.checklist is not None
    assert [i.id for i in result.checklist.items()] == ["S1.01", "S1.02"]


def test_negative_weight_reports_file_line_and_item() -> None:
    text = checklist_yaml().replace(
        "        prompt: {zh-CN: 温度, en: Temperature}",
        "        prompt: {zh-CN: 温度, en: Temperature}\n        weight: -1",
    )
    line = text.splitlines().index("        weight: -1") + 1
    assert problems(text) == [f"{FILE}:{line}: item S1.02: weight must not be negative"]


def test_missing_english_text() -> None:
    text = checklist_yaml().replace(
        "{zh-CN: 团队已组建, en: Team is formed}", "{zh-CN: 团队已组建}"
    )
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "团队已组建" in row)
    assert problems(text) == [f"{FILE}:{line}: item S1.01: prompt.en is required"]


def test_unknown_field_and_bad_type_all_reported_at_once() -> None:
    text = (
        checklist_yaml()
        .replace("type: yes_no_na", "type: yes_or_no")
        .replace("        min: 18", "        minimum: 18")
    )
    found = problems(text)
    assert len(found) == 2
    assert "item S1.01: type: input should be" in found[0]
    assert "item S1.02: unknown field 'minimum'" in found[1]


def test_duplicate_item_ids() -> None:
    text = checklist_yaml().replace("id: S1.02", "id: S1.01")
    found = problems(text)
    assert len(found) == 1 and "item S1.01: item id 'S1.01' is used twice" in found[0]


def test_show_if_must_refer_to_earlier_item() -> None:
    text = checklist_yaml(
        extra_item="""\
        - id: S1.03
          type: text
          prompt: {zh-CN: 说明, en: Notes}
          show_if: "S1.09 == 'yes'"
        """
    )
    assert problems(text) == [
        f"{FILE}:{len(text.splitlines())}: item S1.03: "
        "show_if refers to 'S1.09', not an earlier item"
    ]


def test_show_if_syntax_error() -> None:
    text = checklist_yaml(
        extra_item="""\
        - id: S1.03
          type: text
          prompt: {zh-CN: 说明, en: Notes}
          show_if: "S1.01 === 'yes'"
        """
    )
    (found,) = problems(text)
    assert "item S1.03: show_if" in found and "unexpected" in found


def test_scope_must_match_kind() -> None:
    text = checklist_yaml().replace("scope: {phase: startup}", "scope: {area: personnel}")
    assert problems(text) == [f"{FILE}:1: a project_audit checklist needs scope.phase"]


def test_number_limits_and_critical_rules() -> None:
    text = checklist_yaml().replace("min: 18", "min: 30")
    assert any("min must not be greater than max" in p for p in problems(text))
    text = checklist_yaml(
        extra_item="""\
        - id: S1.03
          type: text
          critical: true
          prompt: {zh-CN: 说明, en: Notes}
        """
    )
    assert any("a text item cannot fail, so it cannot be critical" in p for p in problems(text))


def test_undefined_choice_list() -> None:
    text = checklist_yaml(
        extra_item="""\
        - id: S1.03
          type: single_choice
          choices: grades
          prompt: {zh-CN: 等级, en: Grade}
        """
    )
    assert any("choice list 'grades' is not defined" in p for p in problems(text))


def test_yaml_syntax_and_duplicate_keys() -> None:
    assert problems("key: [unclosed\n")[0].startswith(f"{FILE}:2: YAML:")
    dup = checklist_yaml().replace("version: 1", "version: 1\nversion: 2")
    assert problems(dup) == [f"{FILE}:3: YAML: key 'version' appears twice"]


def test_version_must_be_integer() -> None:
    assert any(
        "version must be a whole number" in p
        for p in problems(checklist_yaml().replace("version: 1", "version: '1'"))
    )
    assert any(
        "version must be a whole number" in p
        for p in problems(checklist_yaml().replace("version: 1", "version: 1.5"))
    )


def test_not_a_mapping_and_empty() -> None:
    assert problems("- a\n- b\n") == [f"{FILE}:1: a checklist file must be a mapping of fields"]
    assert problems("") == [f"{FILE}:1: the file is empty"]


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    assert problems("\n".join(lines)) == [f"{FILE}:1: the file is too large or nested too deeply"]


def test_bad_bytes_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"key: a\n\xff\xfe\n")
    (problem,) = load_file(path, tmp_path).problems
    assert str(problem) == "bad.yaml:2: the file is not valid UTF-8"


def test_same_key_and_version_in_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(checklist_yaml(), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(checklist_yaml(), encoding="utf-8")
    results = load_tree([tmp_path], tmp_path)
    assert [str(p) for r in results for p in r.problems] == [
        "b.yaml:1: key test.sample version 1 is also in a.yaml"
    ]


def test_json_schema_is_published_and_current() -> None:
    import json

    published = Path(__file__).parent.parent / "docs" / "checklist.schema.json"
    assert json.loads(published.read_text(encoding="utf-8")) == json_schema(), (
        "regenerate with: auditrail checklists schema --output docs/checklist.schema.json"
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_loader_never_crashes_on_any_text(text: str) -> None:
    result = parse_text(text, FILE)
    assert result.ok or result.problems


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=True),
    st.text(max_size=12),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "prompt",
                    "en",
                    "zh-CN",
                    "weight",
                    "items",
                    "min",
                    "max",
                    "choices",
                    "show_if",
                    "scale",
                    "evidence",
                    "critical",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "key",
                "version",
                "kind",
                "scope",
                "title",
                "sections",
                "choice_lists",
                "pass_threshold",
                "description",
            ]
        ),
        yaml_values,
        max_size=8,
    )
)
def test_loader_never_crashes_on_structured_garbage(data: dict[str, object]) -> None:
    import yaml

    result = parse_text(yaml.safe_dump(data, allow_unicode=True), FILE)
    assert result.ok or result.problems
    for problem in result.problems:
        assert problem.file == FILE and problem.line >= 1 and problem.message


@pytest.mark.parametrize(
    "mutation",
    [
        ("type: number", "type: scale"),
        ("min: 18", "min: not-a-number"),
        ("pass_threshold: 75", "pass_threshold: 120"),
        ("kind: project_audit", "kind: checklist"),
    ],
)
def test_targeted_mutations_are_reported_not_raised(mutation: tuple[str, str]) -> None:
    found = problems(checklist_yaml().replace(*mutation))
    assert found and all(p.startswith(FILE + ":") for p in found)
