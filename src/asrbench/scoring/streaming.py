"""Streaming figures of one utterance, computed from its trace: pure functions, no files, no clock.

A trace is the stream's updates in order, each with its emission time (``emitted``), the arrival of
its chunk (``arrival``), its compute seconds, the whole hypothesis (``partial``) and its committed
prefix. Reference word timings give each word's end. Texts are compared after the run's normaliser;
each reference word is normalised on its own, and a word that normalises to several tokens is shown
once all of them are (one that normalises to none is not timed).

- Per word (correct words only: words the final hypothesis gets right): first-appearance latency is
  the emission of the first update whose ``partial`` shows the word minus the word's reference end;
  commit latency the same for ``committed``. A partial is aligned to the reference with the unheard
  rest of the reference free (a prefix alignment), so an early ``the`` never matches a later one.
  Negative latencies (a word guessed before it ended) are kept, not clipped.
- OpenBench's streaming latency and confirmed streaming latency (argmaxinc/OpenBench,
  ``metric/streaming_latency_metrics``): :func:`openbench_latency`, its formula as published.
- Stability: erasure counts the words removed from the end of ``partial`` between consecutive
  updates; OpenBench's correction counts come from :func:`openbench_corrections`; a commit
  violation is an update whose committed text does not extend the previous one's, or is not a
  prefix of its own ``partial``.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Step",
    "StreamScore",
    "Timed",
    "openbench_corrections",
    "openbench_latency",
    "prefix_matches",
    "score_stream",
    "word_times",
]


class Step(Protocol):
    """One update of a trace (what :class:`asrbench.bench.stream_clock.StreamStep` holds)."""

    @property
    def arrival(self) -> float: ...
    @property
    def compute(self) -> float: ...
    @property
    def emitted(self) -> float: ...
    @property
    def partial(self) -> str: ...
    @property
    def committed(self) -> str: ...
    @property
    def final(self) -> bool: ...


class Timed(Protocol):
    """One reference word with its timing."""

    @property
    def word(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


@dataclass(frozen=True)
class StreamScore:
    """Every streaming figure of one utterance; ``None`` where it needs timings there were none of."""

    first_latencies: tuple[float, ...] | None
    commit_latencies: tuple[float, ...] | None
    #: OpenBench's components: Σ latency × duration, Σ duration (interim, then confirmed).
    openbench: tuple[float, float] | None
    openbench_confirmed: tuple[float, float] | None
    #: OpenBench's deletions, substitutions, insertions between consecutive interim results.
    corrections: tuple[int, int, int]
    first_correct_word: float | None
    end_of_utterance: float | None
    removed_words: int
    final_words: int
    violations: tuple[str, ...]
    compute_seconds: float
    lag_slope: float | None

    def as_dict(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamScore:
        def tup(key: str) -> Any:
            value = data.get(key)
            return None if value is None else tuple(value)

        return cls(tup("first_latencies"), tup("commit_latencies"), tup("openbench"),
                   tup("openbench_confirmed"), tuple(data["corrections"]),
                   data.get("first_correct_word"), data.get("end_of_utterance"),
                   int(data["removed_words"]), int(data["final_words"]),
                   tuple(data.get("violations", ())), float(data["compute_seconds"]),
                   data.get("lag_slope"))


def _tokens(text: str, normalise: Callable[[str], str]) -> list[str]:
    return normalise(text).split()


def _memo(normalise: Callable[[str], str]) -> Callable[[str], str]:
    """``normalise`` computed once per distinct text (a trace repeats its texts many times)."""
    seen: dict[str, str] = {}

    def apply(text: str) -> str:
        if text not in seen:
            seen[text] = normalise(text)
        return seen[text]

    return apply


def score_stream(steps: Sequence[Step], words: Sequence[Timed] | None,
                 normalise: Callable[[str], str]) -> StreamScore:
    """Every figure of one utterance's trace against its reference timings (``None``: none)."""
    normalise = _memo(normalise)
    partials = [_tokens(s.partial, normalise) for s in steps]
    committed = [_tokens(s.committed, normalise) for s in steps]
    final = partials[-1] if partials else []
    removed = sum(len(before) - _common(before, after)
                  for before, after in itertools.pairwise(partials))
    interim = _changes(steps, partials)
    corrections = openbench_corrections([t for _, t in interim])
    first = commit = bench = confirmed = None
    first_word = eou = None
    if words:
        times = word_times(steps, words, normalise)
        first = tuple(t - w.end for (t, _), w in zip(times, words, strict=True) if t is not None)
        commit = tuple(t - w.end for (_, t), w in zip(times, words, strict=True) if t is not None)
        first_word = min((t for t, _ in times if t is not None), default=None)
        settled = _settled(steps, committed)
        eou = settled - max(w.end for w in words) if settled is not None else None
        ref, owner = _reference(words, normalise)
        starts, ends = [words[i].start for i in owner], [words[i].end for i in owner]
        cursors = [_cursor(steps, s.emitted) for s in steps]
        bench = openbench_latency([t for _, t in interim], [cursors[i] for i, _ in interim],
                                  ref, starts, ends)
        done = _changes(steps, committed)
        confirmed = openbench_latency([t for _, t in done], [cursors[i] for i, _ in done],
                                      ref, starts, ends)
    return StreamScore(first, commit, bench, confirmed, corrections, first_word, eou, removed,
                       len(final), _violations(steps), sum(s.compute for s in steps),
                       _lag_slope(steps))


def _reference(words: Sequence[Timed], normalise: Callable[[str], str]
               ) -> tuple[list[str], list[int]]:
    """The reference tokens, each word normalised on its own, and the word each token is from."""
    ref: list[str] = []
    owner: list[int] = []
    for index, word in enumerate(words):
        for token in _tokens(word.word, normalise):
            ref.append(token)
            owner.append(index)
    return ref, owner


def word_times(steps: Sequence[Step], words: Sequence[Timed], normalise: Callable[[str], str]
               ) -> list[tuple[float | None, float | None]]:
    """Per reference word, the emission of the update where it first appears in ``partial`` (or in
    ``committed``, if sooner) and in ``committed``; ``(None, None)`` for a word the final
    hypothesis does not get right (a word of several tokens counts once all of them are shown)."""
    ref, owner = _reference(words, normalise)
    partials = [_tokens(s.partial, normalise) for s in steps]
    committed = [_tokens(s.committed, normalise) for s in steps]
    correct = set(prefix_matches(ref, partials[-1] if partials else [], prefix=False))
    shown = _first_seen(steps, partials, ref, correct)
    kept = _first_seen(steps, committed, ref, correct)
    out: list[tuple[float | None, float | None]] = []
    for index in range(len(words)):
        tokens = [t for t, o in enumerate(owner) if o == index]
        if not tokens or any(t not in correct for t in tokens):
            out.append((None, None))
            continue
        first = max(shown[t] for t in tokens)
        commit = max(kept[t] for t in tokens) if all(t in kept for t in tokens) else None
        # committed text is shown text: a word committed is shown no later, whichever way the
        # partial's and the committed text's alignments resolve repeated words
        out.append((first if commit is None else min(first, commit), commit))
    return out


def _common(before: Sequence[str], after: Sequence[str]) -> int:
    n = 0
    for a, b in zip(before, after, strict=False):
        if a != b:
            break
        n += 1
    return n


def _changes(steps: Sequence[Step], texts: Sequence[list[str]]) -> list[tuple[int, str]]:
    """(index, text) of the updates a service would send: non-empty and changed."""
    out: list[tuple[int, str]] = []
    for index, tokens in enumerate(texts):
        text = " ".join(tokens)
        if text and (not out or out[-1][1] != text):
            out.append((index, text))
    return out


def _cursor(steps: Sequence[Step], when: float) -> float:
    """The audio sent by time ``when``: the latest arrival at or before it."""
    return max((s.arrival for s in steps if s.arrival <= when), default=0.0)


def _first_seen(steps: Sequence[Step], texts: Sequence[list[str]], ref: Sequence[str],
                correct: set[int]) -> dict[int, float]:
    seen: dict[int, float] = {}
    previous: list[str] | None = None
    for step, tokens in zip(steps, texts, strict=True):
        # the final update is always aligned in full, even when its text repeats the one before:
        # the correct words are its full alignment, which a prefix alignment may not match
        if not step.final and (tokens == previous or not tokens):
            previous = tokens
            continue
        previous = tokens
        for i in prefix_matches(ref, tokens, prefix=not step.final):
            if i in correct and i not in seen:
                seen[i] = step.emitted
    return seen


def _settled(steps: Sequence[Step], committed: Sequence[list[str]]) -> float | None:
    """When the committed text first took its final value for good."""
    if not steps:
        return None
    when = steps[-1].emitted
    for step, tokens in zip(reversed(steps), reversed(committed), strict=True):
        if tokens != committed[-1]:
            break
        when = step.emitted
    return when


def _violations(steps: Sequence[Step]) -> tuple[str, ...]:
    out = []
    before: list[str] = []
    for number, step in enumerate(steps, start=1):
        now, shown = step.committed.split(), step.partial.split()
        if now[:len(before)] != before:
            out.append(f"update {number} at {step.emitted:.3f} s: committed {' '.join(before)!r} "
                       f"became {' '.join(now)!r}")
        elif shown[:len(now)] != now:
            out.append(f"update {number} at {step.emitted:.3f} s: committed {' '.join(now)!r} is "
                       f"not a prefix of partial {' '.join(shown)!r}")
        before = now
    return tuple(out)


def _lag_slope(steps: Sequence[Step]) -> float | None:
    """Least-squares slope of f_k - a_k over a_k (seconds of lag per second of audio)."""
    points = [(s.arrival, s.emitted - s.arrival) for s in steps if not s.final]
    if len({x for x, _ in points}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den


def prefix_matches(ref: Sequence[str], hyp: Sequence[str], *, prefix: bool = True) -> list[int]:
    """Reference indices matched exactly by a word of ``hyp`` in a minimum-edit alignment.

    ``prefix``: ``hyp`` covers only the start of ``ref`` (the rest not heard yet costs nothing),
    and among equally good ends the earliest is taken. A leading run of equal words is matched
    outright (matching equal first words is always part of some minimum-edit alignment), so a
    partial that repeats the reference's start costs only its differing tail.
    """
    lead = 0
    while lead < len(ref) and lead < len(hyp) and ref[lead] == hyp[lead]:
        lead += 1
    if lead:
        rest = prefix_matches(ref[lead:], hyp[lead:], prefix=prefix) if lead < len(hyp) else []
        return [*range(lead), *(lead + i for i in rest)]
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, above = cost[i], cost[i - 1]
        row[0] = i
        word = ref[i - 1]
        for j in range(1, m + 1):
            row[j] = min(above[j - 1] + (word != hyp[j - 1]), above[j] + 1, row[j - 1] + 1)
    i = min(range(n + 1), key=lambda k: (cost[k][m], k)) if prefix else n
    j, out = m, []
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1] and cost[i][j] == cost[i - 1][j - 1]:
            out.append(i - 1)
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j - 1] + 1:
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return out[::-1]


def openbench_latency(interim: Sequence[str], cursor: Sequence[float], ref: Sequence[str],
                      starts: Sequence[float], ends: Sequence[float]) -> tuple[float, float] | None:
    """OpenBench's (Σ latency × duration, Σ duration) over one utterance's interim results.

    Per result l aligned to the reference (jiwer): the transcript cursor is the end of the last
    correctly aligned reference word; min latency = audio cursor - transcript cursor, max latency =
    audio cursor - the previous transcript cursor (the audio cursor for the first); both clipped at
    0; their mean is weighted by the audio newly covered (from the first reference word of the
    change to the transcript cursor). Results that add or change no word are left out. The figure
    is Σ weighted / Σ duration over all results of all utterances; ``None`` when nothing counted.
    """
    if not interim or not ref:
        return None
    import jiwer

    reference = " ".join(ref)
    cursors: list[float] = []
    weighted = duration = 0.0
    for index, text in enumerate(interim):
        chunks = jiwer.process_words(reference, text).alignments[0]
        equal = [c for c in chunks if c.type == "equal"]
        if not equal:
            continue
        if index == 0:
            start = starts[equal[0].ref_start_idx]
        else:
            diff = jiwer.process_words(interim[index - 1], text).alignments[0]
            changed = [c for c in diff if c.type in ("insert", "substitute")]
            if not changed:
                continue
            mapped = _hyp_to_ref(changed[0].hyp_start_idx, chunks)
            if mapped is None or mapped >= len(starts):
                continue
            start = starts[mapped]
        end = ends[equal[-1].ref_end_idx - 1]
        lowest = max(0.0, cursor[index] - end)
        highest = max(0.0, cursor[index] - cursors[-1]) if cursors else max(0.0, cursor[index])
        cursors.append(end)
        weighted += (lowest + highest) / 2 * (end - start)
        duration += end - start
    return (weighted, duration) if cursors else None


def _hyp_to_ref(index: int, chunks: Sequence[Any]) -> int | None:
    for chunk in chunks:
        if chunk.hyp_start_idx <= index < chunk.hyp_end_idx:
            return int(chunk.ref_start_idx + index - chunk.hyp_start_idx)
    return None


def openbench_corrections(interim: Sequence[str]) -> tuple[int, int, int]:
    """OpenBench's (deletions, substitutions, insertions) between consecutive interim results:
    words of a result dropped from the next, replaced in it, and added inside its old span.

    As OpenBench counts them since it fixed its count of dropped words (argmaxinc/OpenBench#34):
    the later result is the reference and the earlier the hypothesis, names swapped to match.
    """
    if len(interim) < 2:
        return (0, 0, 0)
    import jiwer

    dropped = replaced = added = 0
    for before, after in itertools.pairwise(interim):
        out = jiwer.process_words(after, before)
        length = len(out.hypotheses[0])
        for chunk in out.alignments[0]:
            span = chunk.ref_end_idx - chunk.ref_start_idx
            if chunk.type == "delete" and chunk.ref_start_idx < length:
                added += span
            elif chunk.type == "substitute":
                replaced += span
            elif chunk.type == "insert":
                dropped += chunk.hyp_end_idx - chunk.hyp_start_idx
    return (dropped, replaced, added)
