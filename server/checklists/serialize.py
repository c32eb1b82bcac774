"""Writes a checklist back out as canonical YAML, the form the loader reads.

Canonical means: keys in the model's field order, aliases (`zh-CN`), fields equal
to their defaults left out, Chinese kept readable, and no anchors or aliases, so
the same checklist always gives the same text and a diff shows only real edits.
"""

from __future__ import annotations

from typing import Any

import yaml

from server.checklists.model import Checklist

SCHEMA_COMMENT = "# yaml-language-server: $schema=../../docs/checklist.schema.json"
FLOW_TEXT_WIDTH = 72  # a short bilingual text fits on one line, as authors write it


class _Dumper(yaml.SafeDumper):
    """Safe dumper without anchors, indenting lists the way the shipped files do."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _FlowText(dict[str, str]):
    """A short {zh-CN, en} text, written inline."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # PyYAML falls back to quoting by itself when a block scalar cannot hold the text.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_flow_text(dumper: yaml.SafeDumper, data: _FlowText) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_FlowText, _represent_flow_text)


def _is_short_text(value: dict[Any, Any]) -> bool:
    if set(value) != {"zh-CN", "en"} or not all(isinstance(v, str) for v in value.values()):
        return False
    text = value["zh-CN"] + value["en"]
    # CJK characters are about two columns wide
    width = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return "\n" not in text and width <= FLOW_TEXT_WIDTH


def _tidy(value: Any) -> Any:
    """Drop empty mappings (they equal the defaults) and write whole floats as ints."""
    if isinstance(value, dict):
        if _is_short_text(value):
            return _FlowText(value)
        tidy = {_key(k): _tidy(v) for k, v in value.items()}
        return {k: v for k, v in tidy.items() if v != {}}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _key(key: Any) -> Any:
    # JSON mode turns the int keys of scale labels into strings; YAML can keep them ints.
    return int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else key


def to_data(checklist: Checklist) -> dict[str, Any]:
    """The checklist as plain YAML-ready data, defaults left out."""
    data = checklist.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return _tidy(data)


def to_yaml(checklist: Checklist) -> str:
    body = yaml.dump(
        to_data(checklist),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1 << 30,  # one line per text keeps diffs readable
    )
    return f"{SCHEMA_COMMENT}\n{body}"
