"""MkDocs hooks: pages generated from the code, so nothing is written twice.

``<!-- options-table -->`` in a page becomes the table of every option in
``asrbench.config.table.OPTIONS``; ``<!-- report-schema -->`` becomes the report's JSON Schema
rendered as tables. The docs tests call the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["on_page_markdown", "options_table", "schema_tables"]

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "src" / "asrbench" / "reporting" / "report.schema.json"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("[", "\\[").replace("\n", " ")


def options_table() -> str:
    """Markdown: one row per option, from the options table itself."""
    from asrbench.config.table import OPTIONS

    rows = ["| option | ini | `[tool.asrbench]` | meaning (default) |", "|---|---|---|---|"]
    for option in OPTIONS:
        flag = f"`{option.flag}`" if option.switch else f"`{option.flag} {option.metavar}`"
        if option.repeatable:
            flag += " (repeatable)"
        key = f"`{option.key}`" if option.key else "—"
        rows.append(f"| {flag} | `{option.ini}` | {key} | {_cell(option.help_text)} |")
    return "\n".join(rows)


def _type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name})"
    kind = node.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array of {_type(node['items'])}"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    return f"{kind}"


def _properties(node: dict[str, Any]) -> str:
    required = set(node.get("required", ()))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, field in node.get("properties", {}).items():
        rows.append(f"| `{name}` | {_type(field)} | {'yes' if name in required else ''} | "
                    f"{_cell(field.get('description', ''))} |")
    return "\n".join(rows)


def schema_tables() -> str:
    """Markdown: the report's top level, then each definition, from report.schema.json."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    parts = [schema.get("description", ""), "## report", _properties(schema)]
    for name, node in schema.get("$defs", {}).items():
        parts += [f"## {name}", node.get("description", ""), _properties(node)]
    return "\n\n".join(p for p in parts if p)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if "<!-- options-table -->" in markdown:
        markdown = markdown.replace("<!-- options-table -->", options_table())
    if "<!-- report-schema -->" in markdown:
        markdown = markdown.replace("<!-- report-schema -->", schema_tables())
    return markdown
