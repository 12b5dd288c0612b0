"""The ``asrbench`` command: ``convert``, ``compare``, ``plot`` and ``doctor``.

Exit codes: 0 success; 1 a ``--fail-on`` gate broke (compare), or (doctor) nothing can run, an
installed engine is broken, or torch and torchaudio are not a release pair; 2 bad usage or input
(the message names the file or option).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asrbench.errors import AsrBenchError

__all__ = ["main"]


def _convert(args: argparse.Namespace) -> int:
    from asrbench.convert import convert_to_whisper

    if args.to != "whisper":
        raise AsrBenchError(f"--to {args.to!r}: only 'whisper' (an openai-whisper checkpoint) is "
                            "supported")
    dest = convert_to_whisper(Path(args.source), Path(args.dest))
    print(f"wrote {dest}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from asrbench import compare
    from asrbench.history import find_runs

    gates = [compare.parse_gate(g) for g in args.fail_on]
    runs = find_runs(Path(args.storage), args.runs)
    rows = compare.compare_runs(runs)
    if args.csv:
        sys.stdout.write(compare.format_csv(rows))
    elif args.json:
        print(compare.format_json(rows))
    else:
        print(f"runs: {', '.join(f'{r.id} ({r.created})' for r in runs)}; baseline {runs[0].id}")
        print(compare.format_table(rows))
    broken = compare.failures(rows, gates)
    for message in broken:
        print(f"FAIL {message}", file=sys.stderr)
    return 1 if broken else 0


def _plot(args: argparse.Namespace) -> int:
    from asrbench.history import find_runs, load_run
    from asrbench.plot import plot_latency, plot_wer_speed

    run = load_run(Path(args.report)) if args.report else find_runs(Path(args.storage), args.runs)[-1]
    out = Path(args.out)
    written = plot_wer_speed(list(run.runs.values()), out / "wer_vs_speed", speed=args.speed)
    if run.utterances:
        written += plot_latency(run.utterances, out / "latency")
    for path in written:
        print(f"wrote {path}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from asrbench.doctor import diagnose, format_diagnosis

    diagnosis = diagnose()
    print(format_diagnosis(diagnosis))
    return 0 if diagnosis.healthy else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asrbench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser("convert", help="convert a CTranslate2 Whisper model folder")
    convert.add_argument("source", help="CTranslate2 model folder (holds model.bin)")
    convert.add_argument("dest", help="output checkpoint path (.pt)")
    convert.add_argument("--to", default="whisper", help="target format (default: whisper)")
    convert.set_defaults(func=_convert)

    storage_help = "pytest-benchmark storage folder (default: .benchmarks)"
    compare = commands.add_parser("compare", help="WER/RTF of saved runs side by side")
    compare.add_argument("runs", nargs="*", help="run ids or files; first is the baseline "
                         "(default: the two most recent)")
    compare.add_argument("--storage", default=".benchmarks", help=storage_help)
    form = compare.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV output")
    form.add_argument("--json", action="store_true", help="JSON output")
    compare.add_argument("--fail-on", action="append", default=[], metavar="GATE",
                         help="exit 1 when a run regresses: wer:+0.5 (points), rtf:+10%% "
                         "(relative); repeatable")
    compare.set_defaults(func=_compare)

    plot = commands.add_parser("plot", help="WER against speed, and latency per utterance")
    plot.add_argument("runs", nargs="*", help="run id (default: the most recent)")
    plot.add_argument("--report", help="an asrbench JSON report instead of the storage")
    plot.add_argument("--storage", default=".benchmarks", help=storage_help)
    plot.add_argument("--out", default="plots", help="output folder (default: plots)")
    plot.add_argument("--speed", choices=("rtfx", "rtf"), default="rtfx",
                      help="x axis (default: rtfx)")
    plot.set_defaults(func=_plot)

    doctor = commands.add_parser("doctor", help="devices, engines and what can run where")
    doctor.set_defaults(func=_doctor)
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
