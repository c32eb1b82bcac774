"""Where a person holds each of their roles: everywhere, or in some departments (with
the departments under them and their projects) or some projects. The one place that
says whether a role covers a record's department or project; the domains' access
modules ask it, for one record (covers) and for lists (clause)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grant:
    """One role held by one person: everywhere (no department, no project), for a
    department, or for a project."""

    role: str
    org_unit: int | None = None
    project: int | None = None

    @property
    def everywhere(self) -> bool:
        return self.org_unit is None and self.project is None

    def __str__(self) -> str:
        """"auditor", "department_head@unit:3", "project_manager@project:7"."""
        if self.org_unit is not None:
            return f"{self.role}@unit:{self.org_unit}"
        if self.project is not None:
            return f"{self.role}@project:{self.project}"
        return str(self.role)

    @classmethod
    def parse(cls, text: str) -> Grant:
        """The inverse of str(); ValueError for anything else."""
        role, _, where = text.strip().partition("@")
        if not where:
            return cls(role)
        kind, _, number = where.partition(":")
        if kind not in ("unit", "project") or not number.isdigit() or len(number) > 9:
            raise ValueError(text)
        return cls(role, org_unit=int(number)) if kind == "unit" else cls(
            role, project=int(number))


@dataclass(frozen=True)
class Scope:
    everywhere: bool = False
    units: frozenset[int] = field(default_factory=frozenset)
    projects: frozenset[int] = field(default_factory=frozenset)

    def covers(self, org_unit: int | None, project: int | None) -> bool:
        return self.everywhere or (org_unit is not None and org_unit in self.units) or (
            project is not None and project in self.projects)


NOWHERE = Scope()


def scopes_of(grants: Iterable[Grant], children: Mapping[int, Iterable[int]],
              projects_of_unit: Mapping[int, Iterable[int]]) -> dict[str, Scope]:
    """Each role's scope. A department takes in the departments under it (`children`:
    unit -> its direct sub-units) and every project of those (`projects_of_unit`)."""
    everywhere: set[str] = set()
    units: dict[str, set[int]] = {}
    projects: dict[str, set[int]] = {}
    for grant in grants:
        units.setdefault(grant.role, set())
        projects.setdefault(grant.role, set())
        if grant.everywhere:
            everywhere.add(grant.role)
        if grant.org_unit is not None:
            for unit in _below(grant.org_unit, children):
                units[grant.role].add(unit)
                projects[grant.role].update(projects_of_unit.get(unit, ()))
        if grant.project is not None:
            projects[grant.role].add(grant.project)
    return {role: Scope(role in everywhere, frozenset(units[role]), frozenset(projects[role]))
            for role in units}


def _below(unit: int, children: Mapping[int, Iterable[int]]) -> set[int]:
    seen, todo = set(), [unit]
    while todo:  # a parent loop in the data cannot make this run forever
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(children.get(current, ()))
    return seen


def clause(scope: Scope, unit_column: str, project_column: str) -> tuple[str, list[int]]:
    """A WHERE fragment ({} placeholders) for the rows a scope covers."""
    if scope.everywhere:
        return "1 = 1", []
    parts, args = [], []
    if scope.units:
        parts.append(f"{unit_column} IN ({', '.join('{}' for _ in scope.units)})")
        args += sorted(scope.units)
    if scope.projects:
        parts.append(f"{project_column} IN ({', '.join('{}' for _ in scope.projects)})")
        args += sorted(scope.projects)
    return (f"({' OR '.join(parts)})", args) if parts else ("1 = 0", [])
