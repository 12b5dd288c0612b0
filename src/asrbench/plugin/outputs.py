"""The run's files at the end: the JSON report (``--asr-report``), the HTML page (``--asr-html``)
and the Markdown summary (``--asr-markdown``), each written atomically from one report dict.

The Markdown summary is appended to what its file already holds (GitHub's ``$GITHUB_STEP_SUMMARY``
is a file each step appends to), the whole file still replaced in one rename.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asrbench.bench.results import RunSummary
    from asrbench.bench.session import BenchSession
    from asrbench.config.settings import Settings

__all__ = ["DISCLOSED", "report_data", "wanted", "write_outputs"]

#: The machine's facts and load average read when the settings were built (the disclosure's
#: "before"); without them (a report built outside a run) they are read when the report is.
DISCLOSED: pytest.StashKey[dict[str, Any]] = pytest.StashKey()


def wanted(settings: Settings) -> bool:
    """Whether any output file was asked for."""
    return any(p is not None for p in (settings.report, settings.html, settings.markdown))


def write_outputs(settings: Settings, data: Mapping[str, Any]) -> list[str]:
    """Write every asked-for file from ``data`` (a built report); lines saying what was written."""
    from asrbench.reporting import report

    done = "" if data.get("complete", False) else " (incomplete)"
    lines = []
    if settings.report is not None:
        report.write_json_atomic(settings.report, dict(data))
        lines.append(f"report written to {settings.report}{done}")
    if settings.html is not None:  # each writer imported only when its file is asked for
        from asrbench.reporting.html import write_html
        from asrbench.reporting.html_media import find_audio

        audio = find_audio(data, allow_outside_paths=settings.allow_outside_paths)
        write_html(data, settings.html, audio=audio)
        lines.append(f"HTML report written to {settings.html}{done}")
    if settings.markdown is not None:
        from asrbench.core.files import write_atomic
        from asrbench.reporting.markdown import render_markdown

        path = Path(settings.markdown)
        before = path.read_text(encoding="utf-8") if path.is_file() else ""
        separator = "\n" if before and not before.endswith("\n") else ""
        write_atomic(path, before + separator + render_markdown(data))
        lines.append(f"Markdown summary {'appended' if before else 'written'} to {path}{done}")
    return lines


def report_data(config: pytest.Config, session: BenchSession, *, complete: bool) -> dict[str, Any]:
    """The run's report: every result of ``session``, plus what plugins add
    (``pytest_asrbench_report_fields``)."""
    from asrbench.core import versions
    from asrbench.engines.registry import engine_packages
    from asrbench.plugin import hookcalls as hooks
    from asrbench.reporting import disclosure, report

    settings = session.settings
    summaries = session.summaries()
    # the whole dataset's ids even in a shard, so that a merge can name what is missing
    datasets = [{"name": d.name, "source": d.source, "hash": session.datasets.digests.get(d.name),
                 "ids": list(session.datasets.ids.get(d.name, [i.id for i in d.items])),
                 "shard_ids": [i.id for i in d.items] if settings.shard else None}
                for d in session.datasets.datasets]
    data = report.build_report(
        summaries, session.store.utterances(), skipped=session.store.skipped,
        normaliser=session.normaliser, software=versions.software(engine_packages()),
        failures=session.store.failures, complete=complete,
        datasets=datasets, shard=settings.shard.as_dict() if settings.shard else None,
    )
    before: dict[str, Any] = config.stash.get(DISCLOSED, {})
    disclosure.attach(data, before, batch_size=settings.batch_size)
    hooks.report_fields(config, summaries, data["runs"])
    if session.store.throughput:
        data["throughput"] = [r.as_dict() for r in session.store.throughput.values()]
    return data


def write_summary(terminal: Any, session: BenchSession, summaries: list[RunSummary], *,
                  notes: Sequence[str], failing: list[str]) -> None:
    """The ``asrbench`` section of the terminal summary; ``failing`` lines end the run as failed."""
    from asrbench.bench import throughput
    from asrbench.reporting import report

    store = session.store
    if summaries or store.skipped or store.failures or store.throughput:
        terminal.section("asrbench")
        for line in report.format_summary(summaries, store.skipped):
            terminal.write_line(line)
        for line in throughput.format_throughput(list(store.throughput.values())):
            terminal.write_line(line)
        if store.failures:
            terminal.write_line(f"{len(store.failures)} utterance tests produced no result "
                                "(listed in the report's failures)")
        for line in notes:
            terminal.write_line(line)
    for line in failing:
        terminal.write_line(f"asrbench: {line}; the run fails", red=True, bold=True)
