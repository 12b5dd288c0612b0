"""JSON-safe figures: JSON has no NaN or infinity, so a figure that is not finite is written as null.

Every report, benchmark file and hook result goes through :func:`clean_json` before it is written
(``json.dumps(..., allow_nan=False)`` then refuses anything that slipped past).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["clean_json", "finite_or_none"]


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
