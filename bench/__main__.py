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

from bench import balancer, cluster, core, daemon, dns, lab, machine, ports, propagation, services, soak, throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--compare",
        choices=("dockerd",),
        help="run the daemon, DNS and cluster (init only) suites against Debian's dockerd too",
    )
    parser.add_argument("--out", type=Path, help="result file (default bench/results/<date>-<suite>[-quick].json)")
    parser.add_argument(
        "--suite",
        choices=(
            "core",
            "daemon",
            "dns",
            "throughput",
            "ports",
            "lab",
            "cluster",
            "services",
            "balancer",
            "soak",
            "propagation",
            "all",
        ),
        default="all",
        help="which benchmarks to run (soak, ~17 min, and propagation, 20 lab hosts: only when named)",
    )
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    results = {
        "started": started.isoformat(),
        "quick": args.quick,
        "machine": machine.describe(),
        "benchmarks": {},
    }
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if args.suite in ("core", "all"):
        results["benchmarks"].update(core.run_all(quick=args.quick, log=log))
    if args.suite in ("daemon", "all"):
        results["benchmarks"]["daemon"] = daemon.run(quick=args.quick, log=log, compare=args.compare == "dockerd")
    if args.suite in ("dns", "all"):
        results["benchmarks"]["dns"] = dns.run(quick=args.quick, log=log, compare=args.compare == "dockerd")
    if args.suite in ("throughput", "all"):
        results["benchmarks"]["throughput"] = throughput.run(quick=args.quick, log=log)
    if args.suite in ("ports", "all"):
        results["benchmarks"]["ports"] = ports.run(quick=args.quick, log=log)
    if args.suite in ("lab", "all"):
        results["benchmarks"]["lab"] = lab.run(quick=args.quick, log=log)
    if args.suite in ("cluster", "all"):
        results["benchmarks"]["cluster"] = cluster.run(quick=args.quick, log=log, compare=args.compare == "dockerd")
    if args.suite in ("services", "all"):
        results["benchmarks"]["services"] = services.run(quick=args.quick, log=log)
    if args.suite in ("balancer", "all"):
        results["benchmarks"]["balancer"] = balancer.run(quick=args.quick, log=log)
    if args.suite == "soak":
        results["benchmarks"]["soak"] = soak.run(quick=args.quick, log=log)
    if args.suite == "propagation":
        results["benchmarks"]["propagation"] = propagation.run(quick=args.quick, log=log)
    suffix = ("-quick" if args.quick else "") + ("-vs-dockerd" if args.compare else "")
    out = args.out or Path(__file__).parent / "results" / f"{started:%Y-%m-%d}-{args.suite}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    lines = []
    if "attach" in results["benchmarks"]:
        lines.append(core.summary(results["benchmarks"]))
    if "daemon" in results["benchmarks"]:
        lines += daemon.summary(results["benchmarks"]["daemon"])
    if "dns" in results["benchmarks"]:
        lines += dns.summary(results["benchmarks"]["dns"])
    if "throughput" in results["benchmarks"]:
        lines += throughput.summary(results["benchmarks"]["throughput"])
    if "ports" in results["benchmarks"]:
        lines += ports.summary(results["benchmarks"]["ports"])
    if "lab" in results["benchmarks"]:
        lines += lab.summary(results["benchmarks"]["lab"])
    if "cluster" in results["benchmarks"]:
        lines += cluster.summary(results["benchmarks"]["cluster"])
    if "services" in results["benchmarks"]:
        lines += services.summary(results["benchmarks"]["services"])
    if "balancer" in results["benchmarks"]:
        lines += balancer.summary(results["benchmarks"]["balancer"])
    if "soak" in results["benchmarks"]:
        lines += soak.summary(results["benchmarks"]["soak"])
    if "propagation" in results["benchmarks"]:
        lines += propagation.summary(results["benchmarks"]["propagation"])
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
