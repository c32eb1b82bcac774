"""The show_if language: parsing, evaluation and refusal of anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.checklists.conditions import ConditionError, parse_condition


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("A1 == 'yes'", {"A1": "yes"}, True),
        ("A1 == 'yes'", {"A1": "no"}, False),
        ("A1 == 'yes'", {}, False),
        ("A1 != 'yes'", {}, False),
        ("A1 != 'yes'", {"A1": "no"}, True),
        ("A1 is answered", {"A1": "na"}, True),
        ("A1 is not answered", {}, True),
        ("A2 > 10", {"A2": 12}, True),
        ("A2 > 10", {"A2": "12.5"}, True),
        ("A2 <= 10", {"A2": 10}, True),
        ("A2 < 10", {"A2": "abc"}, False),
        ("A2 == 5", {"A2": 5.0}, True),
        ("A3 in ['x', 'y']", {"A3": "y"}, True),
        ("A3 in ['x', 'y']", {"A3": ["z", "x"]}, True),
        ("A3 == 'x'", {"A3": ["x"]}, True),
        ("A3 != 'x'", {"A3": ["y"]}, True),
        ("A1 == 'no' and A2 > 3", {"A1": "no", "A2": 4}, True),
        ("A1 == 'no' and A2 > 3", {"A1": "no", "A2": 2}, False),
        ("A1 == 'no' or A2 > 3", {"A1": "yes", "A2": 4}, True),
        ("not (A1 == 'no' or A2 > 3)", {"A1": "yes", "A2": 1}, True),
        ("not A1 is answered", {}, True),
    ],
)
def test_evaluation(source: str, answers: dict[str, object], expected: bool) -> None:
    assert parse_condition(source).evaluate(answers) is expected


def test_references_in_order() -> None:
    assert parse_condition("B2 == 1 or (A1 == 'x' and B2 > 0)").references() == ["B2", "A1"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "A1",
        "A1 ==",
        "A1 = 'x'",
        "== 'x'",
        "A1 == 'x' and",
        "(A1 == 'x'",
        "A1 in []",
        "A1 in ['x'",
        "__import__('os')",
        "A1 == x",
        "A1 is maybe",
        "A1 == 'x' A2 == 'y'",
        "A1 == 'x'; drop",
        "(" * 40 + "A1 == 1" + ")" * 40,
        "A" * 600,
    ],
)
def test_refuses_malformed(bad: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(bad)


@given(st.text(max_size=80))
def test_parser_only_raises_condition_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ConditionError:
        return
    assert isinstance(condition.evaluate({}), bool)
