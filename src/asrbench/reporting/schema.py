"""The report's JSON Schema (shipped as ``asrbench/report.schema.json``) and a validator for it.

``validate`` checks the subset of JSON Schema the file uses (``type``, ``const``, ``required``,
``properties``, ``additionalProperties``, ``items``, ``minItems``, ``maxItems``, ``minimum`` and
local ``$ref``), so reports can be checked without the ``jsonschema`` package; any full JSON Schema
validator accepts the same file.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["load_schema", "validate"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


@cache
def _text() -> str:
    return resources.files("asrbench.reporting").joinpath("report.schema.json").read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The report schema, parsed, with every registered run figure (:mod:`asrbench.bench.figures`)
    listed: the shipped file holds the built-in ones; a figure a plugin registers is added here."""
    from asrbench.bench.figures import figures

    schema: dict[str, Any] = json.loads(_text())
    run = schema["$defs"]["run"]["properties"]
    for fig in figures():
        run.setdefault(fig.name, {"type": ["number", "null"], "description": fig.description})
        run.setdefault(f"{fig.name}_reason", {"type": "string"})
    return schema


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[kind])


def _check(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str,
           errors: list[str]) -> None:
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        _check(value, target, root, where, errors)
        return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: expected {schema['const']!r}, got {value!r}")
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            errors.append(f"{where}: expected {' or '.join(kinds)}, got {type(value).__name__}")
            return
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: missing required key {key!r}")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _check(item, properties[key], root, f"{where}.{key}", errors)
            elif isinstance(extra, dict):
                _check(item, extra, root, f"{where}.{key}", errors)
            elif extra is False:
                errors.append(f"{where}: unexpected key {key!r}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], root, f"{where}[{i}]", errors)
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        errors.append(f"{where}: {value!r} is below the minimum {schema['minimum']}")


def validate(report: Any, schema: dict[str, Any] | None = None) -> list[str]:
    """Every way ``report`` departs from the schema, as ``path: problem`` lines (empty: valid)."""
    root = schema or load_schema()
    errors: list[str] = []
    _check(report, root, root, "$", errors)
    return errors
