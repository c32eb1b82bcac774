"""Answer rules: what normalize accepts and refuses per item type, and what an answer means."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from server.audits.answers import MAX_TEXT, InvalidAnswer, normalize, points_of, result_of
from server.checklists.model import Checklist, Item
from server.core import i18n


def T(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


def item(id: str, type: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "type": type, "prompt": T(id), **extra}


CHECKLIST = Checklist.model_validate(
    {
        "key": "test.answers",
        "version": 1,
        "kind": "survey",
        "title": T("answers"),
        "choice_lists": {
            "levels": [
                {"id": "good", "label": T("good"), "points": 1},
                {"id": "poor", "label": T("poor"), "points": 0.2, "fails": True},
            ]
        },
        "sections": [
            {
                "id": "S1",
                "title": T("all types"),
                "items": [
                    item("YN", "yes_no_na"),
                    item("PF", "pass_fail"),
                    item("SC", "scale", scale={"min": 1, "max": 5, "pass_min": 3}),
                    item("SC0", "scale"),
                    item("SC10", "scale", scale={"min": 0, "max": 10}),
                    item("NUM", "number", min=10, max=20),
                    item("NUMLO", "number", min=10),
                    item("NUMHI", "number", max=20),
                    item("NUMFREE", "number"),
                    item("TX", "text"),
                    item("DT", "date"),
                    item(
                        "CH",
                        "single_choice",
                        choices=[
                            {"id": "ok", "label": T("ok"), "points": 1},
                            {"id": "part", "label": T("part"), "points": 0.5},
                            {"id": "bad", "label": T("bad"), "fails": True},
                            {"id": "badpts", "label": T("bad"), "points": 0.25, "fails": True},
                            {"id": "plain", "label": T("plain")},
                        ],
                    ),
                    item(
                        "CHU",
                        "single_choice",
                        choices=[
                            {"id": "yes", "label": T("yes")},
                            {"id": "no", "label": T("no")},
                        ],
                    ),
                    item("CHL", "single_choice", choices="levels"),
                    item(
                        "MC",
                        "multi_choice",
                        choices=[
                            {"id": "a", "label": T("a")},
                            {"id": "b", "label": T("b")},
                            {"id": "x", "label": T("x"), "fails": True},
                        ],
                    ),
                    item(
                        "MCU",
                        "multi_choice",
                        choices=[
                            {"id": "a", "label": T("a"), "points": 1},
                            {"id": "b", "label": T("b")},
                        ],
                    ),
                    item("PH", "photo"),
                    item("SG", "signature"),
                ],
            }
        ],
    }
)


def it(item_id: str) -> Item:
    found = CHECKLIST.item(item_id)
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = i18n.current_language.set("en")
    yield
    i18n.current_language.reset(token)


# --- normalize: accepted values --------------------------------------------------------

VALID = [
    ("YN", "yes", "yes"),
    ("YN", "no", "no"),
    ("YN", "na", "na"),
    ("YN", " Yes ", "yes"),
    ("YN", "NA", "na"),
    ("PF", "pass", "pass"),
    ("PF", "fail", "fail"),
    ("PF", "na", "na"),
    ("PF", "PASS", "pass"),
    ("SC", 3, 3),
    ("SC", 1, 1),
    ("SC", 5, 5),
    ("SC", "3", 3),
    ("SC", " 4 ", 4),
    ("SC", 3.0, 3),
    ("SC", "3.0", 3),
    ("SC10", 0, 0),
    ("SC10", "10", 10),
    ("NUM", 12, 12),
    ("NUM", 12.5, 12.5),
    ("NUM", "12.5", 12.5),
    ("NUM", "-3", -3),
    ("NUM", "+7", 7),
    ("NUM", " 7 ", 7),
    ("NUM", 7.0, 7),
    ("NUM", ".5", 0.5),
    ("NUM", -0.0, 0),
    ("NUM", 0, 0),
    ("NUM", 1e300, 1e300),
    ("NUM", 2**60, float(2**60)),
    ("NUMFREE", "1000000", 1000000),
    ("TX", " hello ", "hello"),
    ("TX", "line 1\nline 2", "line 1\nline 2"),
    ("TX", "机房温度正常", "机房温度正常"),
    ("TX", "a" * MAX_TEXT, "a" * MAX_TEXT),
    ("TX", " " + "a" * MAX_TEXT + " ", "a" * MAX_TEXT),
    ("DT", "2024-02-29", "2024-02-29"),
    ("DT", " 2024-01-31 ", "2024-01-31"),
    ("DT", date(2024, 1, 2), "2024-01-02"),
    ("CH", "ok", "ok"),
    ("CH", " part ", "part"),
    ("CH", "plain", "plain"),
    ("CHU", "no", "no"),
    ("CHL", "poor", "poor"),
    ("MC", ["a"], ["a"]),
    ("MC", ["x", "b", "a"], ["a", "b", "x"]),
    ("MC", ["b", "b"], ["b"]),
    ("MC", ("b",), ["b"]),
    ("MC", [" a "], ["a"]),
]


@pytest.mark.parametrize(("item_id", "value", "expected"), VALID)
def test_normalize_accepts(item_id: str, value: Any, expected: Any) -> None:
    result = normalize(CHECKLIST, it(item_id), value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("item_id", [i.id for i in CHECKLIST.items()])
@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_nothing_clears_every_type(item_id: str, value: Any) -> None:
    assert normalize(CHECKLIST, it(item_id), value) is None


@pytest.mark.parametrize("item_id", ["MC", "MCU"])
def test_an_empty_choice_list_clears(item_id: str) -> None:
    assert normalize(CHECKLIST, it(item_id), []) is None


# --- normalize: refused values, with their messages -------------------------------------

MESSAGES = {
    "YN": "Choose yes, partly, no or N/A.",
    "PF": "Choose pass, fail or N/A.",
    "SC": "Enter a whole number from 1 to 5.",
    "SC10": "Enter a whole number from 0 to 10.",
    "NUM": "Enter a number.",
    "TX": "Enter text.",
    "DT": "Enter a real date as YYYY-MM-DD.",
    "CH": "Choose one of the options.",
    "CHL": "Choose one of the options.",
    "MC": "Choose from the options.",
    "PH": "Upload a photo to answer this item.",
    "SG": "Upload the signature as an image.",
}
JUNK = [True, False, {"v": "yes"}, object(), b"yes", {1, 2}]

INVALID = [
    ("YN", "maybe"),
    ("YN", "y"),
    ("YN", "n/a"),
    ("YN", "pass"),
    ("YN", 1),
    ("YN", ["yes"]),
    ("YN", "yes" * 10000),
    ("PF", "yes"),
    ("PF", "failed"),
    ("PF", 0),
    ("SC", 0),
    ("SC", 6),
    ("SC", 3.5),
    ("SC", "3.5"),
    ("SC", "abc"),
    ("SC", "1e0"),
    ("SC", [3]),
    ("SC", math.nan),
    ("SC", math.inf),
    ("SC", 10**400),
    ("SC", -1),
    ("SC10", 11),
    ("NUM", math.nan),
    ("NUM", math.inf),
    ("NUM", -math.inf),
    ("NUM", "nan"),
    ("NUM", "inf"),
    ("NUM", "Infinity"),
    ("NUM", "abc"),
    ("NUM", "12,5"),
    ("NUM", "1_000"),
    ("NUM", "1e3"),
    ("NUM", "0x10"),
    ("NUM", "１２"),  # full-width digits
    ("NUM", "٣"),  # Arabic-Indic digit
    ("NUM", "12 5"),
    ("NUM", "."),
    ("NUM", "-"),
    ("NUM", "9" * 400),
    ("NUM", 10**400),
    ("NUM", [1]),
    ("NUM", {}),
    ("TX", 5),
    ("TX", ["text"]),
    ("DT", "2023-02-29"),
    ("DT", "2024-13-01"),
    ("DT", "2024-00-10"),
    ("DT", "2024-1-1"),
    ("DT", "01/02/2024"),
    ("DT", "2024-01-01T00:00"),
    ("DT", "20240101"),
    ("DT", "0000-01-01"),
    ("DT", "２０２４-01-01"),
    ("DT", "x" * 100),
    ("DT", 20240101),
    ("DT", datetime(2024, 1, 1, 12, 0)),
    ("CH", "nope"),
    ("CH", "OK"),
    ("CH", ["ok"]),
    ("CH", 1),
    ("CH", "ok" * 1000),
    ("CHL", "ok"),
    ("MC", "a"),
    ("MC", ["a", "zz"]),
    ("MC", [1]),
    ("MC", [["a"]]),
    ("MC", [None]),
    ("MC", {"a": 1}),
    ("PH", "photo.jpg"),
    ("PH", ["x"]),
    ("PH", 1),
    ("SG", "Jane Doe"),
    ("SG", {"image": "data:"}),
    *[(item_id, junk) for item_id in MESSAGES for junk in JUNK],
]


@pytest.mark.parametrize(("item_id", "value"), INVALID)
def test_normalize_refuses(item_id: str, value: Any) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        normalize(CHECKLIST, it(item_id), value)
    assert caught.value.item_id == item_id
    assert str(caught.value) == caught.value.message
    assert caught.value.message == MESSAGES[item_id]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a" * (MAX_TEXT + 1), "Use at most 5000 characters."),
        ("b" * 10_000_000, "Use at most 5000 characters."),
        ("a\x00b", "The text contains characters that cannot be saved."),
        ("broken \ud800 surrogate", "The text contains characters that cannot be saved."),
    ],
)
def test_text_limits(value: str, message: str) -> None:
    with pytest.raises(InvalidAnswer, match=message):
        normalize(CHECKLIST, it("TX"), value)


def test_invalid_answer_is_a_value_error() -> None:
    assert issubclass(InvalidAnswer, ValueError)


def test_messages_are_translated_when_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages go through gettext at raise time (not at import), in the caller's language."""

    class Upper:
        def gettext(self, message: str) -> str:
            return "译:" + message

    monkeypatch.setattr(i18n, "translations", lambda lang: Upper())
    with pytest.raises(InvalidAnswer) as caught:
        normalize(CHECKLIST, it("YN"), "maybe")
    assert caught.value.message == "译:Choose yes, partly, no or N/A."
    with pytest.raises(InvalidAnswer) as caught:
        normalize(CHECKLIST, it("SC"), 9)
    assert caught.value.message == "译:Enter a whole number from 1 to 5."


# --- normalize over anything a JSON body can hold ---------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["yes", "no", "na", "pass", "3", "12.5", "2024-02-29", "ok", "a", "x"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@hsettings(max_examples=500, deadline=None)
@given(item_id=st.sampled_from([i.id for i in CHECKLIST.items()]), value=JSON_VALUES)
def test_normalize_only_ever_raises_invalid_answer(item_id: str, value: Any) -> None:
    item = it(item_id)
    try:
        result = normalize(CHECKLIST, item, value)
    except InvalidAnswer as exc:
        assert exc.message and exc.item_id == item_id
        return
    # What is accepted is storable JSON, and normalising again changes nothing.
    json.dumps(result, allow_nan=False)
    assert normalize(CHECKLIST, item, result) == result
    assert result_of(CHECKLIST, item, value) == result_of(CHECKLIST, item, result)
    points = points_of(CHECKLIST, item, value)
    assert points is None or 0 <= points <= 1


# --- result_of and points_of ------------------------------------------------------------

MEANINGS = [
    ("YN", "yes", "pass", 1.0),
    ("YN", "no", "fail", 0.0),
    ("YN", "na", "na", None),
    ("YN", None, None, None),
    ("PF", "pass", "pass", 1.0),
    ("PF", "fail", "fail", 0.0),
    ("PF", "na", "na", None),
    ("PF", None, None, None),
    ("SC", 1, "fail", 0.0),
    ("SC", 2, "fail", 0.25),
    ("SC", 3, "pass", 0.5),
    ("SC", 4, "pass", 0.75),
    ("SC", 5, "pass", 1.0),
    ("SC", "4", "pass", 0.75),
    ("SC", None, None, None),
    ("SC0", 1, "pass", 0.0),
    ("SC0", 5, "pass", 1.0),
    ("SC10", 0, "pass", 0.0),
    ("SC10", 7, "pass", 0.7),
    ("NUM", 10, "pass", 1.0),
    ("NUM", 15.5, "pass", 1.0),
    ("NUM", 20, "pass", 1.0),
    ("NUM", 9.99, "fail", 0.0),
    ("NUM", 20.01, "fail", 0.0),
    ("NUM", -5, "fail", 0.0),
    ("NUM", "12", "pass", 1.0),
    ("NUMLO", 10, "pass", 1.0),
    ("NUMLO", 1e9, "pass", 1.0),
    ("NUMLO", 9.5, "fail", 0.0),
    ("NUMHI", 20, "pass", 1.0),
    ("NUMHI", -1e9, "pass", 1.0),
    ("NUMHI", 21, "fail", 0.0),
    ("NUMFREE", 5, None, None),
    ("NUMFREE", -1e9, None, None),
    ("TX", "anything", None, None),
    ("DT", "2024-01-01", None, None),
    ("CH", "ok", "pass", 1.0),
    ("CH", "part", "pass", 0.5),
    ("CH", "bad", "fail", 0.0),
    ("CH", "badpts", "fail", 0.25),
    ("CH", "plain", "pass", 1.0),
    ("CH", None, None, None),
    ("CHU", "yes", None, None),
    ("CHU", "no", None, None),
    ("CHL", "good", "pass", 1.0),
    ("CHL", "poor", "fail", 0.2),
    ("MC", ["a"], "pass", 1.0),
    ("MC", ["a", "b"], "pass", 1.0),
    ("MC", ["a", "x"], "fail", 0.0),
    ("MC", ["x"], "fail", 0.0),
    ("MC", [], None, None),
    ("MCU", ["a", "b"], None, None),
    ("PH", None, None, None),
    ("SG", None, None, None),
    # Stored values that no longer fit their item count as unanswered, never raise.
    ("YN", "maybe", None, None),
    ("SC", 9, None, None),
    ("NUM", "abc", None, None),
    ("CH", "gone", None, None),
    ("MC", ["a", "gone"], None, None),
    ("PH", "photo.jpg", None, None),
    ("TX", {"no": "dict"}, None, None),
]


@pytest.mark.parametrize(("item_id", "value", "result", "points"), MEANINGS)
def test_result_and_points(item_id: str, value: Any, result: str | None, points: Any) -> None:
    assert result_of(CHECKLIST, it(item_id), value) == result
    earned = points_of(CHECKLIST, it(item_id), value)
    if points is None:
        assert earned is None
    else:
        assert earned == pytest.approx(points)


def test_every_item_type_has_a_meaning_row() -> None:
    types = {it(row[0]).type for row in MEANINGS}
    assert types == {i.type for i in CHECKLIST.items()}


def test_a_scale_whose_pass_min_is_its_min_never_fails() -> None:
    checklist = Checklist.model_validate(
        {
            "key": "test.scale",
            "version": 1,
            "kind": "survey",
            "title": T("scale"),
            "sections": [
                {
                    "id": "S",
                    "title": T("s"),
                    "items": [item("A", "scale", scale={"min": 2, "max": 4, "pass_min": 2})],
                }
            ],
        }
    )
    scale = checklist.items()[0]
    assert [result_of(checklist, scale, v) for v in (2, 3, 4)] == ["pass"] * 3
    assert [points_of(checklist, scale, v) for v in (2, 3, 4)] == [0.0, 0.5, 1.0]
