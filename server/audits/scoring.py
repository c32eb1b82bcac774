"""Scoring an audit run, and what still blocks its submission. Plain functions over a
checklist, the stored answers ({item id: value}) and how many images each item has.

Answers are read through `answers.normalize`, so a stored value that no longer fits its
item counts as unanswered instead of breaking a score. Only visible items count: an item
whose `show_if` is false is out of the score, the progress and the submit rules.

`evaluate` reads every answer once; `score_of`, `progress_of` and `missing_of` work from
its result, so a page that shows all three does not re-read a 1000-item run three times.
`score`, `progress`, `missing` and `visible_items` are the same for one question.

Audit rigour: given the answers' comments, a failed or partly item whose checklist wants a
written finding, and an N/A that wants a reason, block submit until the comment is written.
Given the run's date, date rules are judged against it (and against the other answers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from server.audits.answers import Result, clean, date_problem, points_of_clean, result_of_clean
from server.checklists.conditions import parse_condition
from server.checklists.model import Checklist, Item, ItemType, PhotoRule

IMAGE_TYPES = {ItemType.photo, ItemType.signature}
_NO_PHOTOS: Mapping[str, int] = {}


def _images(photo_counts: Mapping[str, int], item_id: str) -> int:
    count = photo_counts.get(item_id, 0)
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0


@dataclass(frozen=True)
class Evaluation:
    """What one pass over a run's answers found, for the visible items only."""

    checklist: Checklist
    photo_counts: Mapping[str, int]
    visible: set[str]
    answered: set[str]  # an answer, or for image items at least one image
    results: dict[str, Result]
    points: dict[str, float]
    # Items whose comment is written; None when the caller did not give the comments (the
    # finding and reason rules are then not judged).
    noted: frozenset[str] | None = None
    date_problems: dict[str, str] = field(default_factory=dict)  # why a date item failed


def evaluate(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photo_counts: Mapping[str, int] | None = None,
    *,
    comments: Mapping[str, str | None] | None = None,
    run_date: date | None = None,
) -> Evaluation:
    """Conditions are evaluated in checklist order against the answers of earlier *visible*
    items only, so hiding an item also hides whatever depends on it.

    `comments` ({item id: comment}) turns on the finding and reason rules; `run_date` is the
    day the run was carried out, which date rules may refer to."""
    counts = photo_counts or _NO_PHOTOS
    noted = None if comments is None else frozenset(
        k for k, v in comments.items() if isinstance(v, str) and v.strip())
    dated: dict[str, str] = {}
    seen: dict[str, Any] = {}  # what conditions see: the answer, or an image count
    visible: set[str] = set()
    answered: set[str] = set()
    results: dict[str, Result] = {}
    points: dict[str, float] = {}
    for item in checklist.items():
        if item.show_if is not None and not parse_condition(item.show_if).evaluate(seen):
            continue
        visible.add(item.id)
        if item.type in IMAGE_TYPES:
            seen_value = _images(counts, item.id) or None
            value = None
        else:
            seen_value = value = clean(checklist, item, answers.get(item.id))
        if seen_value is None:
            continue
        seen[item.id] = seen_value
        answered.add(item.id)
        result = result_of_clean(checklist, item, value, run_date=run_date, answers=answers)
        if result == "fail" and item.date_rule is not None:
            dated[item.id] = date_problem(checklist, item, value, run_date=run_date,
                                          answers=answers) or ""
        if result is not None:
            results[item.id] = result
            earned = points_of_clean(checklist, item, value, result)
            if earned is not None:
                points[item.id] = earned
    return Evaluation(checklist, counts, visible, answered, results, points, noted, dated)


def visible_items(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photo_counts: Mapping[str, int] | None = None,
) -> set[str]:
    """Ids of the items shown for these answers."""
    return evaluate(checklist, answers, photo_counts).visible


def _percent(earned: float, possible: float) -> float | None:
    return round(100 * earned / possible, 1) if possible > 0 else None


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class SectionScore:
    id: str
    earned: float
    possible: float
    percent: float | None
    answered: int
    required: int
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "earned": self.earned,
            "possible": self.possible,
            "percent": self.percent,
            "answered": self.answered,
            "required": self.required,
            "failed": list(self.failed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SectionScore:
        return cls(
            id=str(data["id"]),
            earned=float(data["earned"]),
            possible=float(data["possible"]),
            percent=_opt_float(data["percent"]),
            answered=int(data["answered"]),
            required=int(data["required"]),
            failed=[str(i) for i in data["failed"]],
        )


@dataclass(frozen=True)
class Score:
    percent: float | None
    passed: bool
    threshold: float
    earned: float
    possible: float
    failed: list[str]
    critical_failed: list[str]
    sections: list[SectionScore]
    partly: list[str] = field(default_factory=list)  # answered "partly conforms"

    def to_json(self) -> dict[str, Any]:
        data = {
            "percent": self.percent,
            "passed": self.passed,
            "threshold": self.threshold,
            "earned": self.earned,
            "possible": self.possible,
            "failed": list(self.failed),
            "critical_failed": list(self.critical_failed),
            "sections": [s.to_json() for s in self.sections],
        }
        if self.partly:  # only then: stored scores of runs without one keep their shape
            data["partly"] = list(self.partly)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Score:
        """Read back what `to_json` wrote; ValueError for anything else."""
        try:
            return cls(
                percent=_opt_float(data["percent"]),
                passed=bool(data["passed"]),
                threshold=float(data["threshold"]),
                earned=float(data["earned"]),
                possible=float(data["possible"]),
                failed=[str(i) for i in data["failed"]],
                critical_failed=[str(i) for i in data["critical_failed"]],
                sections=[SectionScore.from_json(s) for s in data["sections"]],
                # scores stored before partly answers existed have none
                partly=[str(i) for i in data.get("partly", [])],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a stored score: {exc!r}") from None


def score(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photo_counts: Mapping[str, int] | None = None,
) -> Score:
    """The weighted score over visible items; N/A and unanswered items are left out."""
    return score_of(evaluate(checklist, answers, photo_counts))


def score_of(ev: Evaluation) -> Score:
    checklist = ev.checklist
    sections: list[SectionScore] = []
    failed: list[str] = []
    critical_failed: list[str] = []
    partly: list[str] = []
    total_earned = total_possible = 0.0
    for section in checklist.sections:
        earned = possible = 0.0
        answered = required = 0
        section_failed: list[str] = []
        for item in section.items:
            if item.id not in ev.visible:
                continue
            if item.required:
                required += 1
                answered += item.id in ev.answered
            points = ev.points.get(item.id)
            if points is not None:
                possible += item.weight
                earned += item.weight * points
            if ev.results.get(item.id) == "part":
                partly.append(item.id)
            if ev.results.get(item.id) == "fail":
                section_failed.append(item.id)
                if item.critical:
                    critical_failed.append(item.id)
        failed.extend(section_failed)
        total_earned += earned
        total_possible += possible
        sections.append(
            SectionScore(
                id=section.id,
                earned=round(earned, 6),
                possible=round(possible, 6),
                percent=_percent(earned, possible),
                answered=answered,
                required=required,
                failed=section_failed,
            )
        )
    percent = _percent(total_earned, total_possible)
    threshold = float(checklist.pass_threshold)
    return Score(
        percent=percent,
        passed=(percent is None or percent >= threshold) and not critical_failed,
        threshold=threshold,
        earned=round(total_earned, 6),
        possible=round(total_possible, 6),
        failed=failed,
        critical_failed=critical_failed,
        sections=sections,
        partly=partly,
    )


@dataclass(frozen=True)
class Missing:
    """Something that blocks submit: an answer, `needed` more images, a written finding
    (a failed or partly item) or a reason (an N/A)."""

    item_id: str
    reason: Literal["answer", "photo", "finding", "reason"]
    needed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item_id, "reason": self.reason, "needed": self.needed}


def missing(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photo_counts: Mapping[str, int] | None = None,
    *,
    comments: Mapping[str, str | None] | None = None,
    run_date: date | None = None,
) -> list[Missing]:
    """What blocks submit, in checklist order (an item's answer, its photos, then its
    finding or reason)."""
    return missing_of(evaluate(checklist, answers, photo_counts, comments=comments,
                               run_date=run_date))


Written = Literal["finding", "reason"]


def needs_comment(checklist: Checklist, item: Item, result: str | None,
                  comment: str | None) -> Written | None:
    """What an answer's comment must hold before submit: a finding for a fail or partly,
    a reason for N/A; None when nothing is needed or it is written."""
    if comment and comment.strip():
        return None
    if result in ("fail", "part") and checklist.needs_finding(item):
        return "finding"
    if result == "na" and checklist.needs_na_reason(item):
        return "reason"
    return None


def comment_needed(ev: Evaluation, item_id: str) -> Written | None:
    """needs_comment for a visible item of an evaluated run."""
    item = ev.checklist.item(item_id)
    if item is None or item_id not in ev.visible:
        return None
    noted = ev.noted is not None and item_id in ev.noted
    return needs_comment(ev.checklist, item, ev.results.get(item_id), "x" if noted else "")


def missing_of(ev: Evaluation) -> list[Missing]:
    found: list[Missing] = []
    for item in ev.checklist.items():
        rule = item.evidence.photo
        if item.id not in ev.visible:
            continue
        written = comment_needed(ev, item.id) if ev.noted is not None else None
        if rule == PhotoRule.none and (not item.required or item.id in ev.answered):
            if written:
                found.append(Missing(item.id, written))
            continue
        images = _images(ev.photo_counts, item.id)
        photos_needed = 0
        if item.required and item.id not in ev.answered:
            if item.type in IMAGE_TYPES:
                photos_needed = 1 - images
            else:
                found.append(Missing(item.id, "answer"))
        if rule == PhotoRule.required or (
            rule == PhotoRule.required_if_failed and ev.results.get(item.id) == "fail"
        ):
            photos_needed = max(photos_needed, item.evidence.min_photos - images)
        if photos_needed > 0:
            found.append(Missing(item.id, "photo", photos_needed))
        if written:
            found.append(Missing(item.id, written))
    return found


@dataclass(frozen=True)
class Progress:
    """Required visible items answered, overall and per section, and where to go next."""

    answered: int
    required: int
    sections: dict[str, tuple[int, int]]
    next_item: str | None


def progress(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photo_counts: Mapping[str, int] | None = None,
) -> Progress:
    return progress_of(evaluate(checklist, answers, photo_counts))


def progress_of(ev: Evaluation, blocking: list[Missing] | None = None) -> Progress:
    """`blocking` is missing_of(ev), when the caller has it already."""
    sections: dict[str, tuple[int, int]] = {}
    for section in ev.checklist.sections:
        required = [i.id for i in section.items if i.required and i.id in ev.visible]
        sections[section.id] = (sum(i in ev.answered for i in required), len(required))
    if blocking is None:
        blocking = missing_of(ev)
    return Progress(
        answered=sum(a for a, _ in sections.values()),
        required=sum(r for _, r in sections.values()),
        sections=sections,
        # What blocks submit comes first: a missing answer, or missing evidence photos.
        next_item=blocking[0].item_id if blocking else None,
    )
