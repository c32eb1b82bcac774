"""The checklist file format: one pydantic model that the loader validates with
and that `auditrail checklists schema` publishes as JSON Schema."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.checklists.conditions import ConditionError, parse_condition

KEY_RE = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
ID_RE = r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$"


class Kind(StrEnum):
    org_audit = "org_audit"
    project_audit = "project_audit"
    inspection = "inspection"
    acceptance = "acceptance"
    survey = "survey"


class Area(StrEnum):
    """Organisation-level audit areas."""

    quality_management = "quality_management"
    service_capability = "service_capability"
    personnel = "personnel"
    resources = "resources"
    technology = "technology"
    process = "process"


class Phase(StrEnum):
    startup = "startup"
    plan = "plan"
    execution = "execution"
    monitoring = "monitoring"
    closure = "closure"


class Frequency(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    half_yearly = "half_yearly"
    yearly = "yearly"
    on_demand = "on_demand"


class ItemType(StrEnum):
    yes_no_na = "yes_no_na"
    pass_fail = "pass_fail"
    scale = "scale"
    number = "number"
    text = "text"
    date = "date"
    single_choice = "single_choice"
    multi_choice = "multi_choice"
    photo = "photo"
    signature = "signature"


class Severity(StrEnum):
    major = "major"
    minor = "minor"
    observation = "observation"


class PhotoRule(StrEnum):
    none = "none"
    optional = "optional"
    required = "required"
    required_if_failed = "required_if_failed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Text(_Strict):
    """A human-readable text in both languages the product speaks."""

    zh_CN: Annotated[str, Field(alias="zh-CN", min_length=1)]
    en: Annotated[str, Field(min_length=1)]

    @field_validator("zh_CN", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value.strip()

    def get(self, lang: str) -> str:
        return self.zh_CN if lang.replace("_", "-").lower().startswith("zh") else self.en


class Choice(_Strict):
    id: Annotated[str, Field(pattern=ID_RE)]
    label: Text
    points: Annotated[float | None, Field(ge=0, le=1)] = Field(
        default=None, description="Share of the item's weight this choice earns (0-1)."
    )
    fails: bool = Field(default=False, description="Choosing this option fails the item.")


class Scope(_Strict):
    area: Area | None = None
    phase: Phase | None = None
    asset_category: Annotated[str | None, Field(pattern=r"^[a-z][a-z0-9_]*$")] = None
    frequency: Frequency | None = None


class Evidence(_Strict):
    photo: PhotoRule = PhotoRule.optional
    min_photos: Annotated[int, Field(ge=0, le=20)] = 1
    note: Text | None = Field(default=None, description="What the evidence should show.")


class ScaleSpec(_Strict):
    min: Annotated[int, Field(ge=0, le=10)] = 1
    max: Annotated[int, Field(ge=1, le=10)] = 5
    pass_min: int | None = Field(default=None, description="Lowest value that still passes.")
    labels: dict[int, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounds(self) -> ScaleSpec:
        if self.max <= self.min:
            raise ValueError("scale max must be greater than min")
        if self.pass_min is not None and not self.min <= self.pass_min <= self.max:
            raise ValueError("scale pass_min must lie between min and max")
        for value in self.labels:
            if not self.min <= value <= self.max:
                raise ValueError(f"scale label {value} lies outside {self.min}..{self.max}")
        return self


_MONTH_DAY_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
RUN = "run"  # a date rule's reference to the run's own date


def month_day(text: str) -> tuple[int, int] | None:
    """(month, day) of an "MM-DD" that every year has (so not 02-29); None otherwise."""
    if not _MONTH_DAY_RE.match(text):
        return None
    month, day = int(text[:2]), int(text[3:])
    try:
        date(2001, month, day)
    except ValueError:
        return None
    return month, day


class DateRule(_Strict):
    """What makes a date answer right; a date that breaks it fails the item.

    A reference is `run` (the day the run was carried out), the id of another date item,
    or for `before`/`after` a fixed day of the run's year as "MM-DD"."""

    within_days_of: str | None = Field(
        default=None, description="`run` or a date item: the date lies at most `days` from it."
    )
    days: Annotated[int | None, Field(ge=0, le=3660)] = None
    before: str | None = Field(
        default=None, description="On or before: `run`, a date item, or MM-DD of the run's year."
    )
    after: str | None = Field(
        default=None, description="On or after: `run`, a date item, or MM-DD of the run's year."
    )
    quarter_end: Annotated[int | None, Field(ge=0, le=45)] = Field(
        default=None, description="At most this many days from the end of a calendar quarter."
    )

    @model_validator(mode="after")
    def _complete(self) -> DateRule:
        if (self.within_days_of is None) != (self.days is None):
            raise ValueError("within_days_of and days go together")
        for name in ("before", "after"):
            ref = getattr(self, name)
            if ref is not None and "-" in ref and month_day(ref) is None:
                raise ValueError(f"{name}: {ref!r} is not a day of every year as MM-DD")
        if all(getattr(self, f) is None for f in ("within_days_of", "before", "after",
                                                  "quarter_end")):
            raise ValueError("a date rule needs within_days_of, before, after or quarter_end")
        return self

    def item_refs(self) -> list[tuple[str, str]]:
        """(field, item id) for every reference to another item."""
        refs = [("within_days_of", self.within_days_of), ("before", self.before),
                ("after", self.after)]
        return [(f, r) for f, r in refs if r is not None and r != RUN and "-" not in r]


SCORED_TYPES = {ItemType.yes_no_na, ItemType.pass_fail, ItemType.scale, ItemType.number}
CHOICE_TYPES = {ItemType.single_choice, ItemType.multi_choice}


class Item(_Strict):
    id: Annotated[str, Field(pattern=ID_RE)]
    type: ItemType
    prompt: Text
    guidance: Text | None = None
    required: bool = True
    weight: Annotated[float, Field(ge=0, le=100)] = 1
    critical: bool = False
    severity_if_failed: Severity = Severity.minor
    evidence: Evidence = Field(default_factory=Evidence)
    show_if: str | None = None
    # type-specific
    unit: Text | None = None
    min: float | None = None
    max: float | None = None
    scale: ScaleSpec | None = None
    choices: str | list[Choice] | None = Field(
        default=None, description="Inline choices, or the name of a list in choice_lists."
    )
    date_rule: DateRule | None = Field(default=None, description="Date items: what is right.")
    # Audit rigour; unset means the checklist's setting (see Checklist).
    finding_if_failed: bool | None = Field(
        default=None, description="A fail (or partly) needs a written finding in the comment."
    )
    reason_if_na: bool | None = Field(
        default=None, description="N/A needs a reason in the comment (always on critical items)."
    )
    partly: bool | None = Field(default=None, description="yes_no_na: offer 'partly conforms'.")
    partly_points: Annotated[float | None, Field(ge=0, le=1)] = Field(
        default=None, description="Share of the weight a partly answer earns."
    )
    severity_if_partly: Severity | None = Field(
        default=None, description="The nonconformance a partly answer raises."
    )

    @field_validator("weight", mode="before")
    @classmethod
    def _weight_sign(cls, value: Any) -> Any:
        if isinstance(value, int | float) and value < 0:
            raise ValueError("weight must not be negative")
        return value

    @field_validator("show_if")
    @classmethod
    def _show_if_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_condition(value)
            except ConditionError as exc:
                raise ValueError(f"show_if: {exc}") from None
        return value

    @model_validator(mode="after")
    def _type_rules(self) -> Item:
        t = self.type
        if t != ItemType.number and (self.unit or self.min is not None or self.max is not None):
            raise ValueError("unit, min and max belong to number items only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be greater than max")
        if t == ItemType.scale and self.scale is None:
            self.scale = ScaleSpec()
        if t != ItemType.scale and self.scale is not None:
            raise ValueError("scale belongs to scale items only")
        if t in CHOICE_TYPES and not self.choices:
            raise ValueError(f"a {t.value} item needs choices")
        if t not in CHOICE_TYPES and self.choices is not None:
            raise ValueError("choices belong to single_choice and multi_choice items only")
        if isinstance(self.choices, list):
            ids = [c.id for c in self.choices]
            if len(ids) != len(set(ids)):
                raise ValueError("choice ids must be unique within an item")
        if t != ItemType.date and self.date_rule is not None:
            raise ValueError("date_rule belongs to date items only")
        if t != ItemType.yes_no_na and (self.partly or self.partly_points is not None
                                        or self.severity_if_partly is not None):
            raise ValueError("partly, partly_points and severity_if_partly belong to "
                             "yes_no_na items only")
        if self.critical and not self.can_fail_by_type():
            raise ValueError(f"a {t.value} item cannot fail, so it cannot be critical")
        return self

    def can_fail_by_type(self) -> bool:
        """Whether an answer to this item can ever be a fail (choice items decide later)."""
        if self.type in (ItemType.yes_no_na, ItemType.pass_fail):
            return True
        if self.type == ItemType.number:
            return self.min is not None or self.max is not None
        if self.type == ItemType.date:
            return self.date_rule is not None
        if self.type == ItemType.scale:
            return self.scale is not None and self.scale.pass_min is not None
        return self.type in CHOICE_TYPES

    def text(self, lang: str) -> str:
        return self.prompt.get(lang)


class Section(_Strict):
    id: Annotated[str, Field(pattern=ID_RE)]
    title: Text
    items: Annotated[list[Item], Field(min_length=1)]


class Checklist(_Strict):
    key: Annotated[str, Field(pattern=KEY_RE, max_length=80)]
    version: Annotated[int, Field(ge=1)]
    kind: Kind
    scope: Scope = Field(default_factory=Scope)
    title: Text
    description: Text | None = None
    source: str | None = Field(
        default=None, description="Where in the quality documents these checks come from."
    )
    pass_threshold: Annotated[float, Field(ge=0, le=100)] = 80
    choice_lists: dict[str, Annotated[list[Choice], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    # Audit rigour, for every item that does not say otherwise. Unset means the default
    # in RIGOUR_DEFAULTS, so files (and stored versions) that never mention them keep
    # their content hash.
    finding_if_failed: bool | None = Field(
        default=None, description="Default true: a fail (or partly) needs a written finding."
    )
    reason_if_na: bool | None = Field(
        default=None, description="Default true: N/A needs a reason; always on critical items."
    )
    partly: bool | None = Field(
        default=None, description="Default true: yes_no_na items offer 'partly conforms'."
    )
    partly_points: Annotated[float | None, Field(ge=0, le=1)] = Field(
        default=None, description="Default 0.5: share of the weight a partly answer earns."
    )
    severity_if_partly: Severity | None = Field(
        default=None, description="Default minor: the nonconformance a partly answer raises."
    )
    sections: Annotated[list[Section], Field(min_length=1)]

    @field_validator("version", mode="before")
    @classmethod
    def _integer_version(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("version must be a whole number")
        return value

    @model_validator(mode="after")
    def _scope_matches_kind(self) -> Checklist:
        s = self.scope
        if self.kind == Kind.org_audit and s.area is None:
            raise ValueError("an org_audit checklist needs scope.area")
        if self.kind == Kind.project_audit and s.phase is None:
            raise ValueError("a project_audit checklist needs scope.phase")
        if self.kind == Kind.inspection and (s.asset_category is None or s.frequency is None):
            raise ValueError(
                "an inspection checklist needs scope.asset_category and scope.frequency"
            )
        return self

    # --- helpers used by the rest of the app --------------------------------
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def item(self, item_id: str) -> Item | None:
        return self._index().get(item_id)

    def _index(self) -> dict[str, Item]:
        index = self.__dict__.get("_item_index")
        if index is None:
            index = {item.id: item for item in self.items()}
            self.__dict__["_item_index"] = index
        return index

    def _rigour(self, item: Item, name: str) -> Any:
        for value in (getattr(item, name), getattr(self, name)):
            if value is not None:
                return value
        return RIGOUR_DEFAULTS[name]

    def needs_finding(self, item: Item) -> bool:
        """Whether a fail (or partly) of `item` needs a written finding."""
        return bool(self._rigour(item, "finding_if_failed"))

    def needs_na_reason(self, item: Item) -> bool:
        """Whether N/A on `item` needs a reason; a critical item always does."""
        return item.critical or bool(self._rigour(item, "reason_if_na"))

    def offers_partly(self, item: Item) -> bool:
        return item.type == ItemType.yes_no_na and bool(self._rigour(item, "partly"))

    def points_if_partly(self, item: Item) -> float:
        return float(self._rigour(item, "partly_points"))

    def severity_for_partly(self, item: Item) -> Severity:
        return Severity(self._rigour(item, "severity_if_partly"))

    def choices_of(self, item: Item) -> list[Choice]:
        if isinstance(item.choices, str):
            return self.choice_lists.get(item.choices, [])
        return item.choices or []


RIGOUR_DEFAULTS: dict[str, Any] = {
    "finding_if_failed": True,
    "reason_if_na": True,
    "partly": True,
    "partly_points": 0.5,
    "severity_if_partly": Severity.minor,
}
# Fields added after checklists were first stored: left out of a definition while unset,
# so the content hash of every earlier file stays what it was.
OPTIONAL_FIELDS = frozenset({*RIGOUR_DEFAULTS, "date_rule"})


def dump(checklist: Checklist) -> dict[str, Any]:
    """The checklist as stored and hashed: JSON data, unset OPTIONAL_FIELDS left out."""
    data = checklist.model_dump(mode="json", by_alias=True)
    _prune(data)
    for section in data["sections"]:
        for item in section["items"]:
            _prune(item)
            rule = item.get("date_rule")
            if rule:
                item["date_rule"] = {k: v for k, v in rule.items() if v is not None}
    return data


def _prune(data: dict[str, Any]) -> None:
    for name in OPTIONAL_FIELDS:
        if data.get(name, 0) is None:
            del data[name]


def cross_check(checklist: Checklist) -> list[tuple[tuple[Any, ...], str]]:
    """Rules that span items: unique ids, choice-list references, show_if targets.

    Returns (location, message) pairs; the location is a path into the raw data
    so the loader can turn it into a line number.
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen_sections: set[str] = set()
    seen: dict[str, tuple[int, int]] = {}
    for si, section in enumerate(checklist.sections):
        if section.id in seen_sections:
            problems.append((("sections", si, "id"), f"section id {section.id!r} is used twice"))
        seen_sections.add(section.id)
        for ii, item in enumerate(section.items):
            where = ("sections", si, "items", ii)
            if item.id in seen:
                problems.append(((*where, "id"), f"item id {item.id!r} is used twice"))
            if isinstance(item.choices, str) and item.choices not in checklist.choice_lists:
                problems.append(
                    ((*where, "choices"), f"choice list {item.choices!r} is not defined")
                )
            if item.show_if:
                for ref in parse_condition(item.show_if).references():
                    if ref == item.id:
                        problems.append(((*where, "show_if"), "show_if refers to its own item"))
                    elif ref not in seen:
                        problems.append(
                            ((*where, "show_if"), f"show_if refers to {ref!r}, not an earlier item")
                        )
            seen[item.id] = (si, ii)
    for si, section in enumerate(checklist.sections):
        for ii, item in enumerate(section.items):
            if item.date_rule is None:
                continue
            for name, ref in item.date_rule.item_refs():
                other = checklist.item(ref)
                where = ("sections", si, "items", ii, "date_rule", name)
                if ref == item.id:
                    problems.append((where, f"date_rule.{name} refers to its own item"))
                elif other is None or other.type != ItemType.date:
                    problems.append((where, f"date_rule.{name}: {ref!r} is not a date item, "
                                            "`run` or MM-DD"))
    for name, choices in checklist.choice_lists.items():
        if not re.match(ID_RE, name):
            problems.append(
                (("choice_lists", name), f"choice list name {name!r} is not a valid id")
            )
        ids = [c.id for c in choices]
        if len(ids) != len(set(ids)):
            problems.append((("choice_lists", name), "choice ids must be unique within a list"))
    return problems


def json_schema() -> dict[str, Any]:
    schema = Checklist.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Auditrail checklist"
    return schema
