"""docs/checklists.md, generated from the checklist files so it cannot drift.

`auditrail checklists doc --output docs/checklists.md`; a test fails when stale.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.checklists.model import Checklist, Kind

HEADINGS = {
    Kind.org_audit: "Organisation-level audits (semi-annual internal audit)",
    Kind.project_audit: "Project-level audits and periodic project checks",
    Kind.inspection: "Equipment and service inspections",
    Kind.acceptance: "Acceptance",
    Kind.survey: "Surveys",
}
SOURCES = {
    "000": "technical service quality control manual",
    "001": "implementation, training and after-sales plans",
    "002": "project quality management system (ITSS-0404)",
    "003": "project acceptance and after-sales process template",
    "004": "O&M service quality management system (ITSS)",
}


def _scope(c: Checklist) -> str:
    s = c.scope
    parts = [s.area, s.phase, s.asset_category, s.frequency]
    return ", ".join(str(getattr(p, "value", p)) for p in parts if p)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(checklists: Iterable[Checklist]) -> str:
    items = sorted(checklists, key=lambda c: (list(Kind).index(c.kind), c.key))
    lines = [
        "# The checklist library",
        "",
        "Generated from `checklists/` by `auditrail checklists doc --output docs/checklists.md`.",
        "Every text exists in Chinese and English; every item has guidance on what evidence",
        "to look at. Source numbers refer to the quality documents:",
        "",
    ]
    lines += [f"- **{num}**: {name}" for num, name in SOURCES.items()]
    lines += [
        "",
        "The copy of document 004 ends part-way through §4: of §8.4 and §8.5 only the",
        "headings survive. The organisation and project checkpoints are therefore derived",
        "from those headings, the duties 004 §3–§4 describes, and documents 000 and 002.",
    ]
    total = sum(len(c.items()) for c in items)
    lines += ["", f"{len(items)} checklists, {total} items.", ""]
    for kind, heading in HEADINGS.items():
        group = [c for c in items if c.kind == kind]
        if not group:
            continue
        lines += [
            f"## {heading}",
            "",
            "| checklist | key | scope | items | critical | source |",
            "|---|---|---|---|---|---|",
        ]
        for c in group:
            critical = sum(1 for i in c.items() if i.critical)
            lines.append(
                f"| {_cell(c.title.en)} / {_cell(c.title.zh_CN)} | `{c.key}` v{c.version} | "
                f"{_scope(c)} | {len(c.items())} | {critical} | {_cell(c.source or '')} |"
            )
        lines.append("")
    return "\n".join(lines)
