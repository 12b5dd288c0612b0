"""Reading the options of a pytest run: the command line, the ini file and ``[tool.asrbench]``.

Every option is declared once in :data:`~asrbench.config.table.OPTIONS`; from it come the
command-line options (one ``asrbench`` group), their ini mirrors (:func:`add_options`), the accepted
``[tool.asrbench]`` keys (:func:`read_tool_table`) and the frozen :class:`Settings`
(:func:`settings_from_config`). A value is taken from the command line, else the ini file, else
``[tool.asrbench]``, else the default (:func:`~asrbench.config.table.resolve`).

Adding an option is one :class:`Option` entry in :data:`OPTIONS`, one :class:`Settings` field, plus
its use (``settings.<field>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from asrbench.config.settings import Settings
from asrbench.config.table import (
    OPTIONS,
    Option,
    Source,
    default_layer,
    present,
    resolve,
    tool_keys,
)
from asrbench.core.errors import ConfigError

if TYPE_CHECKING:
    import pytest

__all__ = [
    "OPTIONS",
    "Option",
    "Settings",
    "Source",
    "add_options",
    "read_tool_table",
    "resolve",
    "settings_from_config",
    "tool_keys",
]


def settings_from_config(config: pytest.Config) -> Settings:
    """Read the command line, ini file and ``[tool.asrbench]`` of ``config`` into :class:`Settings`.

    Relative paths on the command line and in the ini file are read from the invocation folder,
    those in ``[tool.asrbench]`` from the ``pyproject.toml`` folder; ``pyproject.toml`` is read once.
    """
    pyproject = _pyproject(config)
    tool = read_tool_table(pyproject)
    return Settings(**{o.field: resolve(o, _layers(config, o, tool, pyproject)) for o in OPTIONS})


def _layers(config: pytest.Config, option: Option, tool: dict[str, Any],
            pyproject: Path | None) -> list[tuple[Source, Any]]:
    here = config.invocation_params.dir
    layers = [default_layer(option, here)]
    if option.key is not None and option.key in tool and pyproject is not None:
        layers.append((Source(f"[tool.asrbench] {option.key}", pyproject.parent), tool[option.key]))
    ini = config.getini(option.ini)
    if present(ini):
        layers.append((Source(f"ini {option.ini}", here), ini))
    cli = config.getoption(option.ini)
    if present(cli):
        layers.append((Source(option.flag, here, command_line=True), cli))
    return layers


def _pyproject(config: pytest.Config) -> Path | None:
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    candidate = config.rootpath / "pyproject.toml"
    return candidate if candidate.is_file() else None


def read_tool_table(pyproject: Path | None, options: Iterable[Option] = OPTIONS) -> dict[str, Any]:
    """``[tool.asrbench]`` from ``pyproject``, with unknown keys rejected."""
    if pyproject is None or not pyproject.is_file():
        return {}
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML ({exc})") from exc
    table = data.get("tool", {}).get("asrbench", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.asrbench] must be a table")
    valid = tool_keys(options)
    for key in table:
        if key not in valid:
            raise ConfigError(
                f"{pyproject}: [tool.asrbench] unknown key {key!r}; valid: {', '.join(valid)}")
    return table


# -- pytest -------------------------------------------------------------------------------------

def add_options(parser: pytest.Parser, options: Iterable[Option] = OPTIONS) -> None:
    """Each option on the command line (group ``asrbench``) and as an ini value."""
    group = parser.getgroup("asrbench", "speech recognition benchmarks (asrbench)")
    for option in options:
        kwargs: dict[str, Any] = {"action": "append"} if option.repeatable else {}
        if option.cli_type is not None:
            kwargs["type"] = option.cli_type
        if option.switch:  # a flag on the command line; true/false in ini and pyproject
            kwargs = {"action": "store_true", "default": None}
        else:
            kwargs["metavar"] = option.metavar
        group.addoption(option.flag, dest=option.ini, help=option.help_text, **kwargs)
        ini_type: Literal["linelist", "string"] = (
            "linelist" if option.repeatable or option.rules else "string")
        parser.addini(option.ini, option.help_text, type=ini_type)
