"""JSON-safe figures: JSON has no NaN or infinity, so a figure that is not finite is written as null.

Every report, benchmark file and hook result goes through :func:`clean_json` before it is written
(``json.dumps(..., allow_nan=False)`` then refuses anything that slipped past).
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["builtin_types", "clean_json", "finite_or_none"]


def finite_or_none(value: Any) -> Any:
    """``None`` for a float that is NaN or infinite; any other value unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def clean_json(value: Any) -> Any:
    """``value`` with every non-finite float, in any dict, list or tuple, replaced by ``None``.

    Tuples become lists, as JSON writes them; dict keys are kept as they are.
    """
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return finite_or_none(value)


def builtin_types(value: Any) -> Any:
    """``value`` rebuilt of built-in types only: a ``str``, ``int`` or ``float`` subclass (torch's
    ``TorchVersion``, numpy's scalars) becomes the plain type (a ``str``-mixin enum its value, as
    JSON writes it), a tuple a list, dict keys strings (``true``, ``null``: JSON's spelling).

    What crosses a process boundary that serialises by exact type (pytest-xdist's execnet) must be
    this; JSON would write the same text either way.
    """
    if isinstance(value, dict):
        return {_key(k): builtin_types(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [builtin_types(v) for v in value]
    if value is None or type(value) in (bool, str, int, float):
        return value
    if isinstance(value, str):
        return str.__str__(value)  # str() of a (str, Enum) member is its name
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return builtin_types(item())
    return value


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)  # as JSON writes a key: true, null, 3, 1.5
    return str(key)
