"""The disclosure block: built from a run's figures and the machine's facts; compare flags changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from asrbench.hardware import machine
from asrbench.reporting import compare, compare_format, disclosure
from asrbench.reporting.history import load_run
from asrbench.reporting.schema import validate

SAMPLE = Path(__file__).parents[1] / "sample_report.py"


@pytest.fixture
def report() -> dict[str, Any]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("sample_report", SAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data: dict[str, Any] = module.sample_report()
    for run in data["runs"] + data["utterances"]:  # figures other tests fill in
        for key in [k for k, v in run.items() if v == "<volatile>" or k == "disclosure"]:
            del run[key]
    return data


FACTS = {"cpu_model": "Test CPU 9000", "cpu_logical_cores": 4, "cpu_physical_cores": 2,
         "cpu_allowed_cores": 4, "cpu_allowed_cores_source": "affinity", "memory_bytes": 8 * 2**30,
         "os": "Linux-test", "gpus": [{"index": 0, "name": "Fake GPU", "memory_bytes": 2**34}],
         "gpu_driver": "555.1"}


@pytest.fixture
def fake_machine(monkeypatch):
    loads = iter([[0.5, 0.4, 0.3], [2.5, 1.0, 0.5]])
    monkeypatch.setattr(machine, "machine_facts", lambda: dict(FACTS))
    monkeypatch.setattr(machine, "load_average", lambda: {"load_average": next(loads)})


def test_every_run_records_its_conditions_and_the_load_before_and_after(report, fake_machine):
    run = report["runs"][0]
    run["engine_info"] = {"engine_version": "1.0", "precision": "int8", "compute_type": "int8",
                          "ctranslate2_version": "4.5.0", "cpu_threads": 2,
                          "decoding": {"beam_size": 5}}
    before = disclosure.before_run()
    disclosure.attach(report, before, batch_size=8)
    block = report["runs"][0]["disclosure"]
    assert block["load_average_before"] == [0.5, 0.4, 0.3]
    assert block["load_average_after"] == [2.5, 1.0, 0.5]
    assert block["batch_size"] == 1
    assert block["throughput_batch_size"] == 8
    assert (block["precision"], block["compute_type"]) == ("int8", "int8")
    assert block["attn_implementation"] is None
    assert block["decoding"] == {"beam_size": 5}
    assert (block["warmup_rounds"], block["measured_rounds"]) == (1, 2)
    assert block["threads"] == 2
    assert block["engine_threads"] == 2
    assert block["clock"] == disclosure.CLOCK
    assert "synchronise" in block["clock"]
    assert "outside" in block["clock"]
    assert block["versions"]["ctranslate2"] == "4.5.0"
    assert block["versions"]["stub"] == "1.0"
    assert block["versions"]["jiwer"] == "4.0.0"
    assert block["cpu_model"] == "Test CPU 9000"
    assert block["gpus"][0]["name"] == "Fake GPU"
    assert block["gpu_driver"] == "555.1"
    assert validate(report) == []


def _pair(tmp_path: Path, report: dict[str, Any], **changes: Any) -> list[compare.Row]:
    base = copy.deepcopy(report)
    new = copy.deepcopy(report)
    for data in (base, new):
        data["runs"][0]["disclosure"] = disclosure.run_disclosure(
            data["runs"][0], machine={**FACTS, "load_average_before": [0.1, 0.1, 0.1],
                                      "load_average_after": [0.2, 0.1, 0.1]},
            software=data["software"], batch_size=None)
    new["runs"][0]["disclosure"].update(changes)
    paths = []
    for data, name in ((base, "base"), (new, "new")):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(data), encoding="utf-8")
    return compare.compare_runs([load_run(p) for p in paths], resamples=200)


def test_compare_flags_runs_whose_threads_differ(tmp_path, report):
    rows = _pair(tmp_path, report, threads=1)
    assert rows[0].conditions_differ(rows[0].baseline) == []
    assert "conditions differ: threads 2 vs 1" in compare_format.format_table(rows)
    [base, new] = json.loads(compare_format.format_json(rows))
    assert base["conditions_differ"] is None
    assert new["conditions_differ"] == "threads 2 vs 1"
    assert "threads 2 vs 1" in compare_format.format_csv(rows)


def test_compare_does_not_flag_the_same_conditions(tmp_path, report):
    rows = _pair(tmp_path, report)
    assert "conditions differ" not in compare_format.format_table(rows)
    assert [r["conditions_differ"] for r in json.loads(compare_format.format_json(rows))] == [None, None]


def test_versions_hardware_and_a_busy_machine_are_flagged(tmp_path, report):
    rows = _pair(tmp_path, report, versions={**report["software"], "jiwer": "4.1.0"},
                 gpus=[{"index": 0, "name": "Other GPU", "memory_bytes": 1}],
                 load_average_after=[3.0, 1.0, 1.0], batch_size=4)
    [_, new] = json.loads(compare_format.format_json(rows))
    assert new["conditions_differ"] == ("batch 1 vs 4; GPUs Fake GPU vs Other GPU; "
                                        "jiwer 4.0.0 vs 4.1.0; load average 0.2 vs 3")


def test_a_report_from_before_the_disclosure_loads_and_is_never_flagged(tmp_path, report):
    """The golden report (schema 2, no disclosure) still compares with a new one."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps(report), encoding="utf-8")
    rows = _pair(tmp_path, report, threads=1)
    runs = [load_run(old), load_run(tmp_path / "new.json")]
    rows = compare.compare_runs(runs, resamples=200)
    assert rows[0].conditions[runs[0].name] is None
    assert "conditions differ" not in compare_format.format_table(rows)
    [_, new] = json.loads(compare_format.format_json(rows))
    assert new["conditions_differ"] is None
    assert new["rtf_significant"] is False  # identical latencies
