"""The ``asrbench`` command: convert, compare, ab, merge, submit, plot, report, doctor, align.

Exit codes: 0 success; 1 a ``--fail-on`` gate broke (compare, ab: a timing verdict ``slower``), a
shard's tests failed (submit), or (doctor) nothing can run, an installed engine is broken, or
torch and torchaudio are not a release pair; 2 bad usage or input (the message names the file or
option), or a timing gate over several runs per side reached ``no decision``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from asrbench.core.errors import AsrBenchError

__all__ = ["main"]


def _convert(args: argparse.Namespace) -> int:
    from asrbench.engines.convert import convert_to_whisper

    if args.to == "ggml":  # whisper.cpp's file, from a CTranslate2 folder or a .pt checkpoint
        from asrbench.engines.convert_ggml import convert_to_ggml

        print(f"wrote {convert_to_ggml(Path(args.source), Path(args.dest))}")
        return 0
    if args.to in ("transformers", "mlx"):  # a model folder for transformers or mlx-whisper
        from asrbench.engines.convert_hf import convert_to_transformers
        from asrbench.engines.convert_mlx import convert_to_mlx

        folder = (convert_to_transformers if args.to == "transformers" else convert_to_mlx)(
            Path(args.source), Path(args.dest))
        print(f"wrote {folder}")
        return 0
    if args.to != "whisper":
        raise AsrBenchError(f"--to {args.to!r}: valid: 'whisper' (an openai-whisper checkpoint), "
                            "'ggml' (a whisper.cpp file), 'transformers' or 'mlx' (a model folder)")
    dest = convert_to_whisper(Path(args.source), Path(args.dest))
    print(f"wrote {dest}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from asrbench.reporting import compare, compare_format
    from asrbench.reporting.history import find_runs

    gates = [compare.parse_gate(g) for g in args.fail_on]
    if args.vs:
        from asrbench.cli.ab import compare_sides_and_gate

        if not args.runs:
            raise AsrBenchError("--vs: name side A's runs before it: compare A1 A2 A3 --vs B1 B2 B3")
        base = find_runs(Path(args.storage), args.runs)
        new = find_runs(Path(args.storage), args.vs)
        return compare_sides_and_gate(base, new, gates=gates, paired=args.paired,
                                      margin=args.margin, output=_output(args),
                                      significant=args.significant,
                                      allow_cross_machine=args.allow_cross_machine)
    from asrbench.reporting.sides import parse_margin

    parse_margin(args.margin)
    if args.paired:
        raise AsrBenchError("--paired: pairs runs of two sides; name them with RUN... --vs RUN...")
    runs = find_runs(Path(args.storage), args.runs)
    rows = compare.compare_runs(runs)
    if args.csv or args.format == "csv":
        sys.stdout.write(compare_format.format_csv(rows))
    elif args.json or args.format == "json":
        print(compare_format.format_json(rows))
    elif args.format == "markdown":
        sys.stdout.write(compare_format.format_markdown(rows))
    else:
        print(f"baseline {runs[0].name}")
        print(compare_format.format_table(rows, runs))
    notes: list[str] = []
    if any(compare.is_timing(g.metric) for g in gates):
        notes.append("a timing gate on one run against one run cannot separate run-to-run spread "
                     "from a change; for a verdict compare 3 or more runs per side "
                     "('asrbench compare A1 A2 A3 --vs B1 B2 B3', or 'asrbench ab')")
    try:
        broken = compare.failures(rows, gates, significant_only=args.significant,
                                  allow_cross_machine=args.allow_cross_machine, notes=notes)
    finally:  # the table is out already; what a gate could not judge is said before any error
        for message in notes:
            print(f"NOTE {message}", file=sys.stderr)
    for message in broken:
        print(f"FAIL {message}", file=sys.stderr)
    return 1 if broken else 0


def _output(args: argparse.Namespace) -> str:
    return "csv" if args.csv else "json" if args.json else str(args.format)


def _ab(args: argparse.Namespace) -> int:
    from asrbench.cli.ab import Side, compare_sides_and_gate, run_ab
    from asrbench.reporting import compare
    from asrbench.reporting.history import load_run

    gates = [compare.parse_gate(g) for g in args.fail_on]
    from asrbench.reporting.sides import parse_margin

    parse_margin(args.margin)  # a bad margin is refused before any run
    folder = Path(args.out or f"asrbench-ab/{datetime.now(UTC):%Y%m%dT%H%M%S}")
    # a relative Python is relative to here, not to the side's folder (abspath: a venv's python
    # is a symlink that must stay one)
    a = Side("A", args.a, os.path.abspath(args.a_python) if args.a_python else sys.executable,
             Path(args.a_cwd or "."))
    b = Side("B", args.b, os.path.abspath(args.b_python) if args.b_python else sys.executable,
             Path(args.b_cwd or "."))
    result = run_ab(a, b, pairs=args.pairs, folder=folder, seed=args.seed,
                    storage=None if args.no_save else Path(args.storage),
                    say=lambda line: print(line, file=sys.stderr))
    print(f"seed {result.seed}; orders {' '.join(result.orders)}; again: asrbench compare "
          f"{result.folder}/a-*.json --vs {result.folder}/b-*.json --paired", file=sys.stderr)
    return compare_sides_and_gate([load_run(p) for p in result.reports_a],
                                  [load_run(p) for p in result.reports_b], gates=gates,
                                  paired=True, margin=args.margin, output=_output(args),
                                  significant=args.significant)


def _merge(args: argparse.Namespace) -> int:
    from asrbench.reporting.merge import load_report, merge_reports, save_merged
    from asrbench.reporting.report import write_json_atomic

    paths = [Path(p) for p in args.reports]
    merged = merge_reports(paths, allow_cross_machine=args.allow_cross_machine)
    if args.out:
        write_json_atomic(Path(args.out), merged)
        print(f"wrote {args.out}")
    if not args.no_save:
        benchmarks = [b for p in paths for b in load_report(p)[1]]
        print(f"saved {save_merged(merged, Path(args.storage), benchmarks)}")
    for run in merged["runs"]:
        low, high = run["wer_ci95"]
        ci = ("1 utterance: no interval" if low is None or high is None
              else f"{100 * low:.2f}-{100 * high:.2f}")
        print(f"{run['model']} / {run['device']} / {run['dataset']}: {run['utterances']} "
              f"utterances, WER {100 * run['wer']:.2f}% [{ci}], RTFx {run['rtfx'] or 0:.1f}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from asrbench.cli.submit import submit

    pytest_args = list(args.pytest_args)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    result = submit(pytest_args, shards=args.shards, executor=args.executor,
                    folder=Path(args.folder), storage=Path(args.storage),
                    parameters=dict(p.split("=", 1) for p in args.param),
                    allow_cross_machine=args.allow_cross_machine)
    print(f"merged {args.shards} shards: saved {result.saved}")
    for index, code in enumerate(result.exit_codes, start=1):
        if code != 0:
            print(f"shard {index}/{args.shards}: pytest exited {code}", file=sys.stderr)
    return 0 if not any(result.exit_codes) else 1


def _plot(args: argparse.Namespace) -> int:
    from asrbench.reporting.history import find_runs, load_run
    from asrbench.reporting.plot import plot_latency, plot_wer_cost, plot_wer_speed

    run = load_run(Path(args.report)) if args.report else find_runs(Path(args.storage), args.runs)[-1]
    out = Path(args.out)
    written = plot_wer_speed(list(run.runs.values()), out / "wer_vs_speed", speed=args.speed)
    if any(r.get("core_hours_per_audio_hour") is not None for r in run.runs.values()):
        written += plot_wer_cost(list(run.runs.values()), out / "wer_vs_core_hours",
                                 key="core_hours_per_audio_hour",
                                 label="CPU core-hours per audio hour (host CPU, lower is cheaper)")
    if run.utterances:
        written += plot_latency(run.utterances, out / "latency")
    for path in written:
        print(f"wrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from asrbench.reporting.markdown import render_markdown, write_markdown
    from asrbench.reporting.merge import load_report

    if args.worst < 0:
        raise AsrBenchError(f"--worst {args.worst}: expected 0 or more utterances")
    report, _ = load_report(Path(args.report))
    try:
        if args.html:
            from asrbench.reporting.html import write_html
            from asrbench.reporting.html_media import find_audio

            audio = find_audio(report, allow_outside_paths=args.allow_outside_paths)
            print(f"wrote {write_html(report, Path(args.html), audio=audio, worst=args.worst)}")
        if args.markdown:
            print(f"wrote {write_markdown(report, Path(args.markdown))}")
    except OSError as exc:
        raise AsrBenchError(f"{exc.filename or args.html or args.markdown}: cannot write "
                            f"({exc.strerror or exc})") from exc
    if not args.html and not args.markdown:
        sys.stdout.write(render_markdown(report))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from asrbench.cli.doctor import diagnose, format_diagnosis

    diagnosis = diagnose()
    print(format_diagnosis(diagnosis))
    return 0 if diagnosis.healthy else 1


def _align(args: argparse.Namespace) -> int:
    from asrbench.cli.align import run

    return run(args.dataset, args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asrbench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="convert a CTranslate2 Whisper model folder")
    convert.add_argument("source", help="CTranslate2 model folder (holds model.bin)")
    convert.add_argument("dest", help="output path (.pt for whisper, .bin for ggml, a folder for "
                         "transformers and mlx)")
    convert.add_argument("--to", default="whisper", help="target format: whisper, ggml, transformers "
                         "or mlx (default: whisper)")
    convert.set_defaults(func=_convert)

    storage_help = "pytest-benchmark storage folder (default: .benchmarks)"
    compare = commands.add_parser("compare", help="WER/RTF of saved runs side by side")
    compare.add_argument("runs", nargs="*", help="run ids, files or globs; first is the baseline "
                         "(default: the two most recent); with --vs, side A's runs")
    compare.add_argument("--vs", nargs="+", metavar="RUN", help="side B's runs (ids, files or "
                         "globs): each run a replicate, timings judged run by run (3+ per side "
                         "for a verdict)")
    compare.add_argument("--paired", action="store_true", help="with --vs: the i-th runs of A "
                         "and B ran back to back (as 'asrbench ab' runs them)")
    compare.add_argument("--margin", default="5%", help="with --vs: the practical margin of a "
                         "timing verdict (default: 5%%)")
    compare.add_argument("--storage", default=".benchmarks", help=storage_help)
    form = compare.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV output")
    form.add_argument("--json", action="store_true", help="JSON output")
    form.add_argument("--format", choices=("table", "csv", "json", "markdown"), default="table",
                      help="output format (default: table)")
    compare.add_argument("--fail-on", action="append", default=[], metavar="GATE",
                         help="exit 1 when a run regresses: wer:+0.5 (points), rtf:+10%% "
                         "(relative), or any lower-is-better figure "
                         "(core_hours_per_audio_hour:+10%%); with --vs a timing gate fails on "
                         "'slower', exits 2 on 'no decision'; repeatable")
    compare.add_argument("--significant", action="store_true",
                         help="a WER, RTF or core-hours gate fires only on a significant rise "
                         "(paired bootstrap)")
    compare.add_argument("--allow-cross-machine", action="store_true",
                         help="let timing gates compare runs timed on different machines")
    compare.set_defaults(func=_compare)

    ab = commands.add_parser("ab", help="run two pytest commands alternately (fresh processes, "
                             "shuffled order) and judge their timings pair by pair")
    ab.add_argument("--pairs", type=int, required=True, help="pairs of runs (3 or more for a "
                    "verdict)")
    ab.add_argument("--a", required=True, metavar="PYTEST_ARGS", help="side A (the baseline): "
                    "pytest arguments, quoted as one string (--a='-m cpu ...' when they start "
                    "with a dash)")
    ab.add_argument("--b", required=True, metavar="PYTEST_ARGS", help="side B: pytest arguments")
    ab.add_argument("--a-python", help="side A's Python (default: this one); e.g. another "
                    "checkout's virtual environment")
    ab.add_argument("--b-python", help="side B's Python (default: this one)")
    ab.add_argument("--a-cwd", help="side A's working folder (default: here)")
    ab.add_argument("--b-cwd", help="side B's working folder (default: here)")
    ab.add_argument("--seed", type=int, help="seed of the order within each pair (default: "
                    "drawn, then printed)")
    ab.add_argument("--out", help="folder of the runs' reports and logs (default: "
                    "asrbench-ab/<UTC time>)")
    ab.add_argument("--storage", default=".benchmarks", help=storage_help + "; each run is "
                    "also saved there, labelled ab-SEED-a or ab-SEED-b")
    ab.add_argument("--no-save", action="store_true", help="do not save the runs into the storage")
    ab.add_argument("--margin", default="5%", help="practical margin of a timing verdict "
                    "(default: 5%%)")
    ab.add_argument("--fail-on", action="append", default=[], metavar="GATE",
                    help="rtf:+5%%: exit 1 on 'slower', 2 on 'no decision'; wer:+0.5 (points); "
                    "repeatable")
    ab.add_argument("--significant", action="store_true",
                    help="a WER gate fires only on a significant rise")
    ab_form = ab.add_mutually_exclusive_group()
    ab_form.add_argument("--json", action="store_true", help="JSON output")
    ab_form.add_argument("--csv", action="store_true", help="CSV output")
    ab_form.add_argument("--format", choices=("table", "csv", "json", "markdown"), default="table",
                         help="output format (default: table)")
    ab.set_defaults(func=_ab)

    merge = commands.add_parser("merge", help="combine --asr-shard reports into one run")
    merge.add_argument("reports", nargs="+", help="shard reports (--asr-report files or saved "
                       "benchmark JSON), one per shard")
    merge.add_argument("--storage", default=".benchmarks", help=storage_help + "; the merged "
                       "run is saved there as the next run of its machine folder")
    merge.add_argument("--out", help="also write the merged report to this JSON file")
    merge.add_argument("--no-save", action="store_true", help="do not save into the storage")
    merge.add_argument("--allow-cross-machine", action="store_true",
                       help="merge shards timed on different machines (the run says so)")
    merge.set_defaults(func=_merge)

    submit = commands.add_parser("submit", help="run pytest as N shards (Slurm or local "
                                 "processes, through submitit), then merge")
    submit.add_argument("--shards", type=int, required=True, help="number of shards")
    submit.add_argument("--executor", choices=("slurm", "local"), default="slurm",
                        help="where the shards run (default: slurm)")
    submit.add_argument("--folder", default="asrbench-jobs", help="job logs and shard reports "
                        "(default: asrbench-jobs)")
    submit.add_argument("--storage", default=".benchmarks", help=storage_help)
    submit.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="submitit executor parameter, e.g. slurm_partition=gpu, "
                        "gpus_per_node=1, timeout_min=120; repeatable")
    submit.add_argument("--allow-cross-machine", action="store_true",
                        help="merge shards that ran on different hosts (usual on Slurm)")
    submit.add_argument("pytest_args", nargs=argparse.REMAINDER,
                        help="-- then the pytest arguments of every shard")
    submit.set_defaults(func=_submit)

    plot = commands.add_parser("plot", help="WER against speed, and latency per utterance")
    plot.add_argument("runs", nargs="*", help="run id (default: the most recent)")
    plot.add_argument("--report", help="an asrbench JSON report instead of the storage")
    plot.add_argument("--storage", default=".benchmarks", help=storage_help)
    plot.add_argument("--out", default="plots", help="output folder (default: plots)")
    plot.add_argument("--speed", choices=("rtfx", "rtf"), default="rtfx",
                      help="x axis (default: rtfx)")
    plot.set_defaults(func=_plot)

    report = commands.add_parser("report", help="an HTML page and a Markdown summary of a saved "
                                 "report (without --html/--markdown: Markdown to stdout)")
    report.add_argument("report", help="an --asr-report JSON file (or a saved benchmark file)")
    report.add_argument("--html", metavar="PATH", help="write one self-contained HTML page")
    report.add_argument("--markdown", metavar="PATH", help="write the summary as Markdown")
    report.add_argument("--worst", type=int, default=5, metavar="N",
                        help="inline the audio of the N worst utterances (default: 5)")
    report.add_argument("--allow-outside-paths", "--asr-allow-outside-paths",
                        dest="allow_outside_paths", action="store_true",
                        help="inline audio even from a dataset whose paths leave its folder "
                        "(as the run's --asr-allow-outside-paths)")
    report.set_defaults(func=_report)

    doctor = commands.add_parser("doctor", help="devices, engines and what can run where")
    doctor.set_defaults(func=_doctor)

    align = commands.add_parser("align", help="reference word timings by forced alignment "
                                "(pocketsphinx), written as a JSONL manifest with 'words'")
    align.add_argument("dataset", help="'smoke', a JSONL manifest or a LibriSpeech folder")
    align.add_argument("--out", metavar="FILE", help="write the manifest here (default: stdout)")
    align.set_defaults(func=_align)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AsrBenchError as exc:
        print(f"asrbench {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
