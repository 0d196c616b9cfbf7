"""``python -m benchmarks [P2 P3 …] [--dataset NAME] [--repeat N] [--strict]``

Runs the benchmarks of ``quality.md`` (all of them, or those named), prints one
line per figure and writes ``benchmarks/results.json`` (entries of benchmarks
not run this time are kept). Each ratio is measured in the same run against its
baseline. ``DATABASE_URL`` set: PostgreSQL (in a schema of its own), else SQLite.
"""
import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

# id -> module with ``run(dataset_name=None, repeat=None, report=print) -> dict``.
BENCHMARKS = {
    "P1": "benchmarks.p1_reception",
    "P2": "benchmarks.p2_export",
    "P3": "benchmarks.p3_list",
    "P4": "benchmarks.p4_payments",
    "P5": "benchmarks.p5_validation",
    "P8": "benchmarks.p8_workbook",
    "R6": "benchmarks.r6_scaleout",
    "P6": "benchmarks.p6_field_service_send",
    "P7": "benchmarks.p7_invoice_pdf",
}
RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    parser.add_argument("names", nargs="*", help="benchmark ids (default: all): " + ", ".join(BENCHMARKS))
    parser.add_argument("--dataset", help="the list benchmarked (see benchmarks/datasets.py)")
    parser.add_argument("--repeat", type=int, help="timed runs per figure (the best one counts)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    args = parser.parse_args(argv)
    names = [name.upper() for name in args.names] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    all_ok = True
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        options = {"dataset_name": args.dataset}
        if args.repeat:
            options["repeat"] = args.repeat
        start = time.perf_counter()
        result = module.run(**options, report=lambda line: print(line, flush=True))
        result["run_s"] = round(time.perf_counter() - start, 1)
        result["at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        results[name] = result
        all_ok = all_ok and result.get("ok", True)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results written to {os.path.relpath(RESULTS)}")
    return 1 if args.strict and not all_ok else 0


if __name__ == "__main__":
    sys.exit(main())
