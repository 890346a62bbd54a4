"""``seaway dns stats``: the embedded resolver's counters (a Seaway extension endpoint)."""

from __future__ import annotations

import argparse
import json

from seaway.cli.client import Client


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("dns", help="the embedded DNS server")
    cmds = parser.add_subparsers(dest="dns_command", required=True, metavar="COMMAND")
    p = cmds.add_parser("stats", help="queries, answers by rcode, forwards, failures and latency")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=stats)


def stats(client: Client, args: argparse.Namespace) -> int:
    data = client.get("/seaway/dns/stats")
    if args.format == "json":
        print(json.dumps(data))
        return 0
    latency = data.get("LatencyMs", {})
    rows = [
        ("Queries", data.get("Queries", 0)),
        ("Answers", ", ".join(f"{k} {v}" for k, v in sorted(data.get("Answers", {}).items())) or "-"),
        ("Forwarded", data.get("Forwarded", 0)),
        ("Forward failures", data.get("ForwardFailures", 0)),
        (
            "Latency p50 / p99 / max (ms)",
            f"{latency.get('p50', 0)} / {latency.get('p99', 0)} / {latency.get('max', 0)}",
        ),
        ("Scheduling", data.get("Scheduling") or "-"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    return 0
