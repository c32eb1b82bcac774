"""The `show_if` condition language: a tiny, safe grammar over earlier answers.

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | test
    test       := ITEM ("==" | "!=" | "<" | "<=" | ">" | ">=") VALUE
                | ITEM "in" "[" VALUE ("," VALUE)* "]"
                | ITEM "is" ["not"] "answered"
    VALUE      := 'text' | "text" | number

A test against an unanswered (or hidden) item is false, except `is not answered`.
For multi-choice answers `==` means "this option is among those chosen".
Parsed by hand into a small tree: never `eval`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_LENGTH = 500
MAX_DEPTH = 16

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'[^']*'|"[^"]*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<word>[A-Za-z][A-Za-z0-9_.-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "answered"}


class ConditionError(ValueError):
    pass


Value = str | float


@dataclass(frozen=True)
class Test:
    item: str
    op: str
    values: tuple[Value, ...] = ()

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        answer = answers.get(self.item)
        answered = answer not in (None, "", [])
        if self.op == "answered":
            return answered
        if self.op == "not_answered":
            return not answered
        if not answered:
            return False
        if isinstance(answer, list):
            chosen = {str(a) for a in answer}
            hit = any(str(v) in chosen for v in self.values)
            return hit if self.op in ("==", "in") else not hit if self.op == "!=" else False
        if self.op in ("==", "in"):
            return any(_equal(answer, v) for v in self.values)
        if self.op == "!=":
            return not _equal(answer, self.values[0])
        try:
            left = float(answer)
            right = float(self.values[0])
        except (TypeError, ValueError):
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
            self.op
        ]


def _equal(answer: Any, value: Value) -> bool:
    if isinstance(value, float):
        try:
            return float(answer) == value
        except (TypeError, ValueError):
            return False
    return str(answer) == value


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or" | "not"
    parts: tuple[Node, ...]

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        if self.op == "not":
            return not self.parts[0].evaluate(answers)
        if self.op == "and":
            return all(p.evaluate(answers) for p in self.parts)
        return any(p.evaluate(answers) for p in self.parts)


Node = Test | BoolOp


@dataclass(frozen=True)
class Condition:
    source: str
    root: Node

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        return self.root.evaluate(answers)

    def references(self) -> list[str]:
        found: list[str] = []

        def walk(node: Node) -> None:
            if isinstance(node, Test):
                if node.item not in found:
                    found.append(node.item)
            else:
                for part in node.parts:
                    walk(part)

        walk(self.root)
        return found


def _tokens(source: str) -> Iterator[tuple[str, str]]:
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise ConditionError(f"unexpected text at column {pos + 1}: {source[pos : pos + 10]!r}")
        kind = match.lastgroup or ""
        text = match.group(kind)
        if kind == "word" and text in _KEYWORDS:
            kind = "kw"
        yield kind, text
        pos = match.end()


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = list(_tokens(source))
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConditionError(f"condition ends early; expected {text or kind}")
        if (kind and token[0] != kind) or (text and token[1] != text):
            raise ConditionError(f"expected {text or kind}, found {token[1]!r}")
        self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == text and token[0] in ("kw", "op")

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise ConditionError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.at("or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.at("and"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError("condition is nested too deeply")
        try:
            if self.at("not"):
                self.take()
                return BoolOp("not", (self.not_(),))
            if self.at("("):
                self.take()
                node = self.or_()
                self.take("op", ")")
                return node
            return self.test()
        finally:
            self.depth -= 1

    def value(self) -> Value:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1]
        if kind == "num":
            return float(text)
        raise ConditionError(f"expected a quoted text or a number, found {text!r}")

    def test(self) -> Test:
        kind, item = self.take()
        if kind != "word":
            raise ConditionError(f"expected an item id, found {item!r}")
        token = self.peek()
        if token is None:
            raise ConditionError(f"condition ends after {item!r}; expected a comparison")
        if token[1] == "is":
            self.take()
            negate = self.at("not")
            if negate:
                self.take()
            self.take("kw", "answered")
            return Test(item, "not_answered" if negate else "answered")
        if token[1] == "in":
            self.take()
            self.take("op", "[")
            values = [self.value()]
            while self.at(","):
                self.take()
                values.append(self.value())
            self.take("op", "]")
            return Test(item, "in", tuple(values))
        if token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Test(item, token[1], (self.value(),))
        raise ConditionError(f"expected a comparison after {item!r}, found {token[1]!r}")


@lru_cache(maxsize=4096)
def parse_condition(source: str) -> Condition:
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("condition is empty")
    if len(source) > MAX_LENGTH:
        raise ConditionError(f"condition is longer than {MAX_LENGTH} characters")
    return Condition(source, _Parser(source).parse())
