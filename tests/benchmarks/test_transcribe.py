"""The benchmark suite: every utterance × model × device, then the corpus per dataset.

Run it alone with ``pytest tests/benchmarks``; select with ``-m``, ``--asr-model``,
``--asr-device`` and ``--asr-dataset``. The same fixtures work in any project's tests.
``--asr-batch-size N`` adds the throughput test: each dataset transcribed in batches;
``--asr-stream`` the streaming test: each utterance streamed chunk by chunk.
"""

from __future__ import annotations


def test_utterance(asr_model, utterance, asr_benchmark, asr_max_wer):
    result = asr_benchmark(asr_model, utterance)
    assert result.wer <= asr_max_wer, (
        f"{result.model} on {result.device}, {utterance.dataset}/{utterance.id}: "
        f"WER {result.wer:.1%} > {asr_max_wer:.1%}\n"
        f"  reference:  {result.score.reference}\n  hypothesis: {result.score.hypothesis}\n"
        f"{result.alignment}"
    )


def test_corpus(asr_model, asr_dataset, asr_corpus, asr_max_corpus_wer, asr_baseline):
    run = asr_corpus(asr_model, asr_dataset)
    if asr_baseline is not None:
        regression = asr_baseline.check(run)
        assert regression is None, f"{run.model} on {run.device}, {run.dataset}: {regression}"
    low, high = run.wer_ci
    assert run.wer <= asr_max_corpus_wer, (
        f"{run.model} on {run.device}, {run.dataset}: corpus WER {run.wer:.1%} "
        f"(95% CI {low:.1%}-{high:.1%}) > {asr_max_corpus_wer:.1%}"
    )


def test_throughput(asr_model, asr_dataset, asr_throughput, asr_max_corpus_wer):
    run = asr_throughput(asr_model, asr_dataset)
    assert run.wer <= asr_max_corpus_wer, (
        f"{run.model} on {run.device}, {run.dataset}, batches of {run.batch_size}: "
        f"corpus WER {run.wer:.1%} > {asr_max_corpus_wer:.1%}"
    )


def test_stream(asr_model, utterance, asr_stream, asr_max_wer):
    """``--asr-stream``: the utterance fed chunk by chunk on the virtual clock (marked streaming)."""
    result = asr_stream(asr_model, utterance)
    problems = asr_stream.problems(result, max_wer=asr_max_wer)
    assert not problems, "\n".join(problems)
