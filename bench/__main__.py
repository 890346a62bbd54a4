"""Run the benchmarks inside a sandboxed fake host and write one JSON result file.

``python -m bench [--quick] [--out FILE]``. Each benchmark builds its own fake host
namespace (never the machine's own), measures with ``time.perf_counter_ns``, and reports
min/median/p99/max. ``--quick`` runs small counts only to prove the benchmarks still run;
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import core, machine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--out", type=Path, help="result file (default bench/results/<date>-core[-quick].json)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    results = {
        "started": started.isoformat(),
        "quick": args.quick,
        "machine": machine.describe(),
        "benchmarks": core.run_all(quick=args.quick, log=lambda msg: print(msg, file=sys.stderr)),
    }
    suffix = "-quick" if args.quick else ""
    out = args.out or Path(__file__).parent / "results" / f"{started:%Y-%m-%d}-core{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    print(core.summary(results["benchmarks"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
