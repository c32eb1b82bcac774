"""What changed between two versions of a checklist, item by item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.checklists.model import Checklist


@dataclass
class ChecklistDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.header)

    def lines(self) -> list[str]:
        out = [f"~ {name}" for name in self.header]
        out += [f"+ {item}" for item in self.added]
        out += [f"- {item}" for item in self.removed]
        out += [f"~ {item}: {', '.join(fields)}" for item, fields in self.changed.items()]
        return out or ["no differences"]


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def diff_checklists(old: Checklist, new: Checklist) -> ChecklistDiff:
    result = ChecklistDiff()
    old_top, new_top = _dump(old), _dump(new)
    for name in new_top:
        if name not in ("sections", "version") and old_top.get(name) != new_top.get(name):
            result.header.append(name)
    old_items = {i.id: (_dump(i), s.id) for s in old.sections for i in s.items}
    new_items = {i.id: (_dump(i), s.id) for s in new.sections for i in s.items}
    result.added = [i for i in new_items if i not in old_items]
    result.removed = [i for i in old_items if i not in new_items]
    for item_id, (data, section) in new_items.items():
        if item_id not in old_items:
            continue
        before, old_section = old_items[item_id]
        fields = [k for k in data if before.get(k) != data.get(k)]
        if section != old_section:
            fields.insert(0, f"moved {old_section}→{section}")
        if fields:
            result.changed[item_id] = fields
    return result
