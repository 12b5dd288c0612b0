"""Compare's cost figures on constructed saved runs: the core-hours change with its paired test, the
cost line of the table, the Markdown cost columns, and ``--fail-on`` on any lower-is-better figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_timing_significance import _latencies, _report  # type: ignore[import-not-found]

from asrbench.cli import main
from asrbench.reporting import compare, compare_format
from asrbench.reporting.history import load_run


def _costly(latencies: dict[str, float], cpu_factor: float | dict[str, float]) -> dict[str, Any]:
    """A report whose utterances spent ``cpu_factor`` CPU seconds per second of latency."""
    report = _report(latencies)
    spent = 0.0
    for u in report["utterances"]:
        factor = cpu_factor[u["id"]] if isinstance(cpu_factor, dict) else cpu_factor
        u["cpu_seconds"] = u["latency"] * factor
        spent += u["cpu_seconds"]
    run = report["runs"][0]
    run["cpu_seconds"] = spent
    run["core_hours_per_audio_hour"] = spent / run["audio_seconds"]
    run["cpu_utilisation"] = spent / sum(latencies.values())
    return report


def _files(tmp_path: Path, **reports: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, report in reports.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(report), encoding="utf-8")
        out[name] = str(path)
    return out


def test_core_hours_change_is_tested_and_shown_in_every_format(tmp_path):
    lat = _latencies(30, seed=1)
    base, new = _costly(lat, 1.0), _costly(dict(lat), 1.3)
    files = _files(tmp_path, base=base, new=new)
    rows = compare.compare_runs([load_run(Path(files["base"])), load_run(Path(files["new"]))],
                                resamples=2000)
    old_h = sum(lat.values()) / (2.0 * len(lat))
    new_h = 1.3 * old_h
    table = compare_format.format_table(rows)
    assert "Δcore-h/audio-h +30.0% [95% CI +30.0%, +30.0%]" in table
    assert (f"core-h/audio-h {old_h:.3g} → {new_h:.3g} (+30.0%); CPU util 1.00 → 1.30 (+30.0%)"
            in table)
    [_, record] = json.loads(compare_format.format_json(rows))
    assert record["delta_core_hours_pct"] == pytest.approx(30.0)
    assert record["core_hours_significant"] is True
    assert record["delta_core_hours_per_audio_hour"] == pytest.approx(new_h - old_h)
    markdown = compare_format.format_markdown(rows)
    header, rule, first, second = markdown.splitlines()
    assert header.endswith("| core-h/audio-h | CPU util |")
    assert len(rule.split("|")) == len(header.split("|"))
    assert first.endswith(f"| {old_h:.3g} | 1.00 |")
    assert f"| {new_h:.3g} (+30.0% [+30.0, +30.0] significant) | 1.30 (+30.0%) |" in second


def test_markdown_leaves_out_cost_columns_no_run_measured(tmp_path):
    lat = _latencies(5)
    files = _files(tmp_path, base=_report(lat), new=_report(lat))
    rows = compare.compare_runs([load_run(Path(f)) for f in files.values()], resamples=200)
    assert "core-h" not in compare_format.format_markdown(rows)


def test_fail_on_core_hours_with_and_without_significance(tmp_path, capsys):
    lat = _latencies(30, seed=1)
    # every utterance 20 % more CPU: significant; alternating -40 %/+60 %: a rise, but noise
    noisy = {u: (0.6 if n % 2 else 1.6) for n, u in enumerate(sorted(lat))}
    files = _files(tmp_path, base=_costly(lat, 1.0), more=_costly(lat, 1.2),
                   noisy=_costly(lat, noisy))
    gate = ["--fail-on", "core_hours_per_audio_hour:+10%"]
    assert main(["compare", files["base"], files["more"], *gate]) == 1
    assert main(["compare", files["base"], files["more"], *gate, "--significant"]) == 1
    err = capsys.readouterr().err
    assert "core_hours_per_audio_hour" in err
    assert "Δcore-h/audio-h +20.0%" in err
    rows = compare.compare_runs([load_run(Path(files["base"])), load_run(Path(files["noisy"]))])
    change = rows[0].cpu[list(rows[0].values)[1]]
    assert change is not None
    assert change.change > 0.10
    assert not change.significant
    assert main(["compare", files["base"], files["noisy"], *gate]) == 1
    assert main(["compare", files["base"], files["noisy"], *gate, "--significant"]) == 0
    # an absolute limit is in the figure's own unit; a figure without a paired test says so
    assert main(["compare", files["base"], files["more"], "--fail-on", "cpu_seconds:+1000"]) == 0
    capsys.readouterr()
    assert main(["compare", files["base"], files["more"], "--fail-on", "cpu_seconds:+1%",
                 "--significant"]) == 1
    assert "no paired test for cpu_seconds: gated on the margin alone" in capsys.readouterr().err


@pytest.mark.parametrize("gate", ["speed:+1", "cpu_utilisation:+1%", "core_hours:+1"])
def test_fail_on_refuses_unknown_and_higher_is_better_figures(gate, tmp_path, capsys):
    assert main(["compare", "--storage", str(tmp_path), "--fail-on", gate]) == 2
    err = capsys.readouterr().err
    assert f"--fail-on {gate!r}" in err
    assert "core_hours_per_audio_hour" in err  # the list of figures that can be gated


def test_a_gate_on_a_figure_no_run_has_is_an_error_not_a_pass(tmp_path, capsys):
    lat = _latencies(10)
    slow = {u: 3 * v for u, v in lat.items()}
    files = _files(tmp_path, old=_report(lat), new=_report(slow), costly=_costly(slow, 1.0),
                   old_costly=_costly(lat, 1.0))
    # version-2-like reports: no core-hours anywhere; RTF tripled, yet nothing can be judged
    assert main(["compare", files["old"], files["new"], "--fail-on",
                 "core_hours_per_audio_hour:+1%"]) == 2
    err = capsys.readouterr().err
    assert "--fail-on core_hours_per_audio_hour:+1%: no run pair can be judged: " in err
    assert "core_hours_per_audio_hour missing in run " in err
    # judged on one pair, missing in another: the gate runs and the gap is a note
    assert main(["compare", files["old_costly"], files["costly"], files["new"], "--fail-on",
                 "rtf:+1%", "--fail-on", "core_hours_per_audio_hour:+1%"]) == 1
    err = capsys.readouterr().err
    assert "NOTE " in err
    assert "core_hours_per_audio_hour:+1% not judged for run " in err
    assert "FAIL " in err


def test_fail_on_takes_latency_percentiles_and_refuses_idle_power(tmp_path, capsys):
    assert compare.parse_gate("latency_p95:+10%").metric == "latency_p95"
    assert compare.parse_gate("WER:+0.5").metric == "wer"
    with pytest.raises(Exception, match="idle_watts"):
        compare.parse_gate("idle_watts:+1")
    assert "idle_watts" not in compare.gateable()


def test_a_zero_median_of_cpu_seconds_still_tests_the_total():
    from asrbench.scoring.significance import paired_timing

    base = {f"u{i}": (0.0 if i < 6 else 0.5) for i in range(10)}  # a coarse clock: most read 0
    more = {u: (0.0 if v == 0 else 0.8) for u, v in base.items()}
    found = paired_timing(base, more, resamples=500)
    assert found is not None
    total, p50 = found
    assert total.change == pytest.approx(0.6)
    assert total.low is not None
    assert total.significant
    assert p50.low is None


def test_gates_never_pass_on_runs_they_could_not_judge(tmp_path, capsys):
    lat = _latencies(5)
    other = _report(lat)
    for record in other["runs"] + other["utterances"]:
        record["model"] = "another:model"
    renamed = _report(lat)
    renamed["runs"][0]["normaliser"] = "none"
    files = _files(tmp_path, base=_report(lat), other=other, renamed=renamed,
                   same=_report(dict(lat)))
    # no model × device × dataset in common: nothing judged, so not a pass
    assert main(["compare", files["base"], files["other"], "--fail-on", "wer:+1"]) == 2
    assert "no run pair can be judged: not measured in run " in capsys.readouterr().err
    assert main(["compare", files["other"], files["base"], "--fail-on", "wer:+1"]) == 2
    assert "no run pair can be judged: " in capsys.readouterr().err
    # normalisers differ: WER is not comparable, said and refused
    assert main(["compare", files["base"], files["renamed"], "--fail-on", "wer:+1"]) == 2
    assert "the runs' normalisers differ" in capsys.readouterr().err
    # one judged pair is enough; the run that could not be judged is one note (a model only a
    # later run measured has nothing to be compared with, and is no note)
    assert main(["compare", files["base"], files["same"], files["other"], "--fail-on",
                 "wer:+1"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("NOTE")]
    assert len(notes) == 1


def test_every_latency_gate_is_a_timing_gate():
    for metric in ("latency_p50", "latency_p95", "latency_mean", "rtf",
                   "core_hours_per_audio_hour", "first_text_latency_p50"):
        assert compare.is_timing(metric), metric
    assert not compare.is_timing("wer")
