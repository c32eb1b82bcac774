"""Reads checklist YAML into the model, reporting every problem with file, line
and item id at once. Loading never raises on bad input: it returns problems."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from server.checklists.model import Checklist, cross_check, dump

MAX_FILE_BYTES = 2_000_000
MAX_NODES = 200_000

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    item: str | None = None

    def __str__(self) -> str:
        where = f"item {self.item}: " if self.item else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


@dataclass
class LoadResult:
    file: str
    checklist: Checklist | None = None
    problems: list[Problem] = field(default_factory=list)
    raw: Any = None

    @property
    def ok(self) -> bool:
        return self.checklist is not None and not self.problems


class _TooBig(Exception):
    pass


class _Builder:
    """Turns a composed YAML node tree into plain data, remembering each path's line.

    Aliases are expanded by walking, so a node budget guards against
    'billion laughs' files.
    """

    def __init__(self) -> None:
        self.lines: dict[Path_, int] = {}
        self.nodes = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path_ = ()) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig
        return _to_python(self, node, path)


def _to_python(b: _Builder, node: yaml.Node, path: Path_) -> Any:
    lines = b.lines
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                b.constructor.construct_object(key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if key is None or isinstance(key, list | dict):
                raise yaml.MarkedYAMLError(
                    problem="mapping keys must be plain values", problem_mark=key_node.start_mark
                )
            if key in result:
                raise yaml.MarkedYAMLError(
                    problem=f"key {key!r} appears twice", problem_mark=key_node.start_mark
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = b.build(value_node, (*path, key))
        return result
    if isinstance(node, yaml.SequenceNode):
        return [b.build(child, (*path, i)) for i, child in enumerate(node.value)]
    return b.constructor.construct_object(node)


def parse_text(text: str, file: str) -> LoadResult:
    """Validate one checklist's YAML text."""
    result = LoadResult(file=file)
    builder = _Builder()
    lines = builder.lines
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            result.problems.append(Problem(file, 1, "the file is empty"))
            return result
        raw = builder.build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        result.problems.append(Problem(file, line, f"YAML: {exc.problem or exc.context}"))
        return result
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        # SafeConstructor raises plain errors for odd scalars (e.g. a bad timestamp)
        result.problems.append(Problem(file, 1, f"YAML: {exc}"))
        return result
    except (_TooBig, RecursionError):
        result.problems.append(Problem(file, 1, "the file is too large or nested too deeply"))
        return result
    result.raw = raw
    if not isinstance(raw, dict):
        result.problems.append(Problem(file, 1, "a checklist file must be a mapping of fields"))
        return result
    try:
        checklist = Checklist.model_validate(raw)
    except ValidationError as exc:
        result.problems.extend(_problems_from(exc, raw, lines, file))
        return result
    except RecursionError:
        result.problems.append(Problem(file, 1, "the file is nested too deeply"))
        return result
    for loc, message in cross_check(checklist):
        result.problems.append(_problem(file, raw, lines, loc, message))
    if not result.problems:
        result.checklist = checklist
    return result


def load_file(path: Path, root: Path | None = None) -> LoadResult:
    name = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return LoadResult(name, problems=[Problem(name, 1, f"cannot read file: {exc.strerror}")])
    if len(data) > MAX_FILE_BYTES:
        return LoadResult(name, problems=[Problem(name, 1, "the file is larger than 2 MB")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return LoadResult(name, problems=[Problem(name, line, "the file is not valid UTF-8")])
    return parse_text(text, name)


def find_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def load_tree(paths: Iterable[Path], root: Path | None = None) -> list[LoadResult]:
    """Load every file; also flag two files that claim the same key and version."""
    results = [load_file(p, root) for p in find_files(paths)]
    owners: dict[tuple[str, int], str] = {}
    for result in results:
        if result.checklist is None:
            continue
        ident = (result.checklist.key, result.checklist.version)
        if ident in owners:
            result.problems.append(
                Problem(
                    result.file, 1, f"key {ident[0]} version {ident[1]} is also in {owners[ident]}"
                )
            )
            result.checklist = None
        else:
            owners[ident] = result.file
    return results


def content_hash(checklist: Checklist) -> str:
    canonical = json.dumps(
        dump(checklist), sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- turning pydantic errors into file:line messages -----------------------------


def clean_loc(raw: Any, loc: tuple[Any, ...]) -> tuple[Path_, bool]:
    """Follow loc through the raw data, dropping pydantic's union tags.

    Returns the path and whether the error belongs to the union branch that
    matches the raw value's shape (errors of the other branches are noise).
    """
    path: list[Any] = []
    node = raw
    relevant = True
    for seg in loc:
        if isinstance(node, dict) and seg in node:
            path.append(seg)
            node = node[seg]
        elif isinstance(node, dict) and isinstance(seg, str) and seg.isdigit() and int(seg) in node:
            path.append(int(seg))
            node = node[int(seg)]
        elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
            path.append(seg)
            node = node[seg]
        elif isinstance(seg, str) and (seg == "str" or seg.startswith("list[")):
            if (seg == "str") != isinstance(node, str):
                relevant = False
        elif isinstance(seg, str):
            path.append(seg)  # a missing field: report at its parent's line
            node = None
    return tuple(path), relevant


def _line_for(lines: dict[Path_, int], path: Path_) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _item_for(raw: Any, path: Path_) -> str | None:
    if len(path) >= 4 and path[0] == "sections" and path[2] == "items":
        try:
            item = raw["sections"][path[1]]["items"][path[3]]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"]
        return f"#{path[3] + 1} of section {path[1] + 1}"
    return None


def _field_label(path: Path_) -> str:
    """The field path below the item (or the top level) for the message."""
    if len(path) >= 4 and path[0] == "sections" and path[2] == "items":
        rest = path[4:]
    elif len(path) >= 2 and path[0] == "sections":
        rest = path[2:]
    else:
        rest = path
    return ".".join(str(p) for p in rest)


def error_message(error: dict[str, Any], label: str) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "missing":
        return f"{label} is required"
    if kind == "extra_forbidden":
        return f"unknown field {label!r}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    else:
        msg = msg[:1].lower() + msg[1:]
    return f"{label}: {msg}" if label and not msg.startswith(label.split(".")[-1]) else msg


def _problem(file: str, raw: Any, lines: dict[Path_, int], path: Path_, message: str) -> Problem:
    return Problem(file, _line_for(lines, path), message, _item_for(raw, path))


def _problems_from(
    exc: ValidationError, raw: Any, lines: dict[Path_, int], file: str
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    for error in exc.errors(include_url=False):
        path, relevant = clean_loc(raw, tuple(error["loc"]))
        if not relevant:
            continue
        problem = _problem(file, raw, lines, path, error_message(error, _field_label(path)))
        key = (problem.line, str(problem))
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    return problems
