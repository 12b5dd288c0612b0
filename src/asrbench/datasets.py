"""Public path for datasets, as the README's hook example uses it: :class:`Dataset`,
:class:`UtteranceSpec`, :class:`Utterance`, :func:`load_dataset`. They live in
:mod:`asrbench.data.datasets`."""

from __future__ import annotations

from asrbench.data.datasets import Dataset, Utterance, UtteranceSpec, load_dataset

__all__ = ["Dataset", "Utterance", "UtteranceSpec", "load_dataset"]
