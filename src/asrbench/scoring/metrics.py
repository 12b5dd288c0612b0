"""Scoring: named text normalisers, WER/CER with S/D/I counts, RTF/RTFx, bootstrap intervals.

Pure functions over strings and numbers; nothing here touches files or devices.

Definitions (the Hugging Face Open ASR Leaderboard's):

- both reference and hypothesis pass through the same normaliser (Whisper's English one by default);
- corpus WER = (S + D + I) summed over utterances / reference words summed over utterances, not the
  mean of per-utterance WERs;
- RTF = transcription seconds / audio seconds (lower is faster); RTFx = Σ audio seconds /
  Σ transcription seconds (higher is faster).

An empty reference (after normalisation) has no words to divide by: its utterance WER is defined as
the number of inserted words (0.0 when the hypothesis is empty too), and in the corpus it adds its
insertions to the errors and nothing to the word count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from asrbench.core import versions
from asrbench.core.errors import ConfigError
from asrbench.scoring.bootstrap import percentile_interval, resample_sums

__all__ = [
    "NORMALISERS",
    "Counts",
    "Normaliser",
    "Rates",
    "Score",
    "bootstrap_wer_interval",
    "get_normaliser",
    "normaliser_names",
    "percentile",
    "register_normaliser",
    "rtf",
    "rtfx",
    "score",
    "unregister_normaliser",
]


@dataclass(frozen=True)
class Counts:
    """Edit-distance counts against a reference of ``reference`` tokens (words or characters)."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference: int = 0

    def __post_init__(self) -> None:
        if min(self.substitutions, self.deletions, self.insertions, self.reference) < 0:
            raise ValueError(f"negative error count in {self}")
        if self.substitutions + self.deletions > self.reference:
            raise ValueError(f"more substitutions and deletions than reference tokens in {self}")

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference token; with no reference tokens, the number of insertions."""
        if self.reference == 0:
            return float(self.insertions)
        return self.errors / self.reference

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference + other.reference,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "reference_tokens": self.reference,
        }


@dataclass(frozen=True)
class Normaliser:
    """A named text normaliser; ``label`` (name, package, version) is recorded with every score."""

    name: str
    package: str | None
    apply: Callable[[str], str]

    @property
    def label(self) -> str:
        if self.package is None:
            return self.name
        version = versions.version(self.package) or "unknown"
        return f"{self.name} ({self.package} {version})"


class Rates:
    """WER and CER from ``words`` and ``chars`` counts: mixed into every scored record."""

    words: Counts
    chars: Counts

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate


@dataclass(frozen=True)
class Score(Rates):
    """One utterance scored: normalised texts and word/character counts."""

    reference: str
    hypothesis: str
    words: Counts
    chars: Counts


def _whisper_english() -> Callable[[str], str]:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()  # type: ignore[no-any-return]


def _whisper_basic() -> Callable[[str], str]:
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()  # type: ignore[no-any-return]


def _whitespace() -> Callable[[str], str]:
    return lambda text: " ".join(text.split())


class _Lazy:
    """A normaliser built on its first call (Whisper's loads a spelling table)."""

    def __init__(self, factory: Callable[[], Callable[[str], str]]) -> None:
        self._factory = factory
        self._built: Callable[[str], str] | None = None

    def __call__(self, text: str) -> str:
        if self._built is None:
            self._built = self._factory()
        return self._built(text)


_REGISTRY: dict[str, Normaliser] = {}


def register_normaliser(name: str, normalise: Callable[[str], str], *,
                        package: str | None = None) -> None:
    """Add (or replace) the normaliser ``name``; ``package`` versions its label."""
    if not name or not isinstance(name, str):
        raise ConfigError(f"normaliser name {name!r}: expected a non-empty string")
    if not callable(normalise):
        raise ConfigError(f"normaliser {name!r}: {normalise!r} is not callable")
    _REGISTRY[name] = Normaliser(name, package, normalise)


def unregister_normaliser(name: str, previous: Normaliser | None = None) -> None:
    """Remove ``name``, or put back ``previous`` (what a registration replaced)."""
    if previous is None:
        _REGISTRY.pop(name, None)
    else:
        _REGISTRY[name] = previous


def normaliser_names() -> tuple[str, ...]:
    """Every registered normaliser name: the built-in ones, then those added by plugins."""
    return tuple(_REGISTRY)


register_normaliser("whisper-english", _Lazy(_whisper_english), package="whisper-normalizer")
register_normaliser("whisper-basic", _Lazy(_whisper_basic), package="whisper-normalizer")
register_normaliser("none", _whitespace(), package="pytest-asrbench")
#: The built-in normaliser names (plugins add more: see :func:`normaliser_names`).
NORMALISERS = tuple(_REGISTRY)


def get_normaliser(name: str) -> Normaliser:
    """The normaliser registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"--asr-normalizer {name!r}: unknown; valid: {', '.join(normaliser_names())}"
        ) from None


def _word_counts(reference: str, hypothesis: str) -> Counts:
    if not reference:
        return Counts(insertions=len(hypothesis.split()))
    import jiwer

    out = jiwer.process_words(reference, hypothesis)
    return Counts(out.substitutions, out.deletions, out.insertions, len(reference.split()))


def _char_counts(reference: str, hypothesis: str) -> Counts:
    """Character edits as ``jiwer.cer`` counts them: every character, spaces included."""
    if not reference:
        return Counts(insertions=len(hypothesis))
    import jiwer

    out = jiwer.process_characters(reference, hypothesis)
    return Counts(out.substitutions, out.deletions, out.insertions, len(reference))


def score(reference: str, hypothesis: str, normaliser: Normaliser) -> Score:
    """Normalise both sides with the same normaliser, then count word and character edits.

    Whitespace is collapsed to single spaces first; WER and CER then equal ``jiwer.wer`` and
    ``jiwer.cer`` of the normalised pair (CER counts the spaces between words as characters).
    """
    ref = " ".join(normaliser.apply(reference).split())
    hyp = " ".join(normaliser.apply(hypothesis).split())
    return Score(ref, hyp, _word_counts(ref, hyp), _char_counts(ref, hyp))


def total(counts: Iterable[Counts]) -> Counts:
    """Corpus counts: the sum of utterance counts (so corpus WER weighs utterances by length)."""
    result = Counts()
    for item in counts:
        result = result + item
    return result


def rtf(latency: float, audio_seconds: float) -> float:
    """Real-time factor: seconds of compute per second of audio (lower is faster)."""
    return latency / audio_seconds if audio_seconds > 0 else math.inf


def rtfx(audio_seconds: Iterable[float], latencies: Iterable[float]) -> float:
    """Inverse real-time factor over a set: Σ audio / Σ compute (the Open ASR Leaderboard's RTFx)."""
    spent = sum(latencies)
    return sum(audio_seconds) / spent if spent > 0 else math.inf


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) without needing numpy."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap_wer_interval(
    counts: Sequence[Counts], *, level: float = 0.95, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval for corpus WER, resampling utterances with replacement
    (:mod:`asrbench.scoring.bootstrap`).

    Seeded, so a report is reproducible. With fewer than two utterances there is no interval (NaN,
    ``null`` in a report), never a zero-width one: every resample would be the same draw.
    """
    if len(counts) < 2:
        return math.nan, math.nan
    errors, words = resample_sums([[c.errors for c in counts], [c.reference for c in counts]],
                                  resamples=resamples, seed=seed)
    # an empty reference has no words to divide by: its rate is its error count (see above)
    rates = np.where(words > 0, errors / np.where(words > 0, words, 1.0), errors)
    return percentile_interval(rates, level)
