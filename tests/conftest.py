"""Shared test set-up.

pytester's in-process runs unload every module first imported inside them; torch cannot be imported
twice in one process, so it is imported here, before any in-process run.
"""

from __future__ import annotations

import torch  # noqa: F401
