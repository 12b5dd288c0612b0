"""Why an utterance scored as it did: the word alignment of reference and hypothesis.

Shown in a WER-threshold failure so that a user sees at a glance which words were substituted (S),
deleted (D) or inserted (I), using jiwer's alignment view over the normalised texts.
"""

from __future__ import annotations

__all__ = ["alignment"]

LEGEND = "S substitution, D deletion, I insertion"


def alignment(reference: str, hypothesis: str) -> str:
    """``REF:``/``HYP:`` lines with the words aligned and a line marking S, D and I under them."""
    if not reference.split():
        return f"REF: (empty)\nHYP: {hypothesis}\n(every hypothesis word is an insertion)"
    import jiwer

    out = jiwer.process_words(reference, hypothesis if hypothesis.split() else "")
    text = jiwer.visualize_alignment(out, show_measures=False, skip_correct=False)
    lines = [line.rstrip() for line in text.splitlines()
             if line.strip() and not line.startswith("=== SENTENCE")]
    return "\n".join([*lines, f"({LEGEND})"])
