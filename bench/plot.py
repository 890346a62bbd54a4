"""Turn a bench JSON result into PNG charts: ``python -m bench.plot RESULT.json [-o DIR]``.

One chart per daemon figure (p50 with p99 whiskers against the number of running
containers, one line per daemon), attach latency against sandboxes, network create
against networks, and the processes' resident memory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _series(ax: Any, label: str, figure: dict[str, dict[str, float]]) -> None:
    points = sorted(figure, key=int)
    xs = [int(p) for p in points]
    p50 = [figure[p]["p50_ms"] for p in points]
    p99 = [figure[p]["p99_ms"] for p in points]
    ax.errorbar(
        xs,
        p50,
        yerr=[[0] * len(xs), [b - a for a, b in zip(p50, p99, strict=True)]],
        marker="o",
        capsize=4,
        label=label,
    )


def plot(result: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    bench = result["benchmarks"]

    def save(fig: Any, name: str) -> None:
        path = out / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    daemon = bench.get("daemon", {})
    sides = [name for name in ("seaway", "dockerd") if name in daemon]
    for figure in ("run_none", "run_bridge", "run_publish", "connect", "network_create"):
        if not sides or figure not in daemon[sides[0]]:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for name in sides:
            _series(ax, name, daemon[name][figure])
        ax.set(
            title=f"docker {figure.replace('_', ' ')}: latency vs running containers",
            xlabel="containers running",
            ylabel="ms (p50, whisker p99)",
        )
        ax.set_ylim(bottom=0)
        ax.legend()
        save(fig, f"daemon-{figure}.png")
    if sides:
        fig, ax = plt.subplots(figsize=(6, 4))
        for i, name in enumerate(sides):
            procs = daemon[name]["processes_loaded"]
            bottom = 0
            for proc, info in procs.items():
                if info["rss_kib"]:
                    ax.bar(i, info["rss_kib"] / 1024, bottom=bottom, label=f"{name}: {proc} ×{info['count']}")
                    bottom += info["rss_kib"] / 1024
        ax.set_xticks(range(len(sides)), [f"{n}\n({daemon[n]['containers_running']} containers)" for n in sides])
        ax.set(title="resident memory of the daemon and its helpers", ylabel="MiB")
        ax.legend(fontsize=7)
        save(fig, "daemon-memory.png")
    if "attach" in bench:
        fig, ax = plt.subplots(figsize=(6, 4))
        for figure in ("attach", "detach", "create_sandbox"):
            _series(ax, figure, bench["attach"][figure])
        ax.set(title="engine: latency vs sandboxes on one bridge", xlabel="sandboxes", ylabel="ms (p50, whisker p99)")
        ax.set_xscale("log")
        ax.legend()
        save(fig, "core-attach.png")
    if "network_create" in bench:
        fig, ax = plt.subplots(figsize=(6, 4))
        _series(ax, "network create", bench["network_create"]["create"])
        if "remove" in bench["network_create"]:
            _series(ax, "network remove", bench["network_create"]["remove"])
            ax.legend()
        ax.set(title="engine: network create vs existing networks", xlabel="networks", ylabel="ms (p50, whisker p99)")
        ax.set_ylim(bottom=0)
        save(fig, "core-network-create.png")
    if "with_ports" in bench:
        fig, ax = plt.subplots(figsize=(6, 4))
        for figure, curve in bench["with_ports"].items():
            if figure != "open_descriptors":
                _series(ax, figure.replace("_", " "), curve)
        ax.set(
            title="engine: per-operation cost vs published ports (one element each)",
            xlabel="ports published",
            ylabel="ms (p50, whisker p99)",
        )
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
        save(fig, "core-with-ports.png")
    ports = bench.get("ports", {})
    if "cost" in ports:
        fig, ax = plt.subplots(figsize=(6, 4))
        _series(ax, "publish one more port", ports["cost"]["publish"])
        _series(ax, "unpublish it", ports["cost"]["unpublish"])
        ax.set(
            title="published ports: cost vs ports already published",
            xlabel="ports published",
            ylabel="ms (p50, whisker p99)",
        )
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.legend()
        save(fig, "ports-publish.png")
    dns = bench.get("dns", {})
    if "internal" in dns:
        _dns_bars(plt, save, dns)
    if "range" in ports:
        fig, ax = plt.subplots(figsize=(6, 4))
        r = ports["range"]
        ax.bar(["publish", "unpublish"], [r["publish"]["p50_ms"], r["unpublish"]["p50_ms"]])
        ax.errorbar(
            ["publish", "unpublish"],
            [r["publish"]["p50_ms"], r["unpublish"]["p50_ms"]],
            yerr=[
                [0, 0],
                [r["publish"]["p99_ms"] - r["publish"]["p50_ms"], r["unpublish"]["p99_ms"] - r["unpublish"]["p50_ms"]],
            ],
            fmt="none",
            capsize=4,
            color="black",
        )
        ax.set(title=f"a {r['size']:,}-port range in one request", ylabel="ms (p50, whisker p99)")
        save(fig, "ports-range.png")
    if bench.get("lab", {}).get("sizes"):
        sizes = bench["lab"]["sizes"]
        fig, ax = plt.subplots(figsize=(6, 4))
        hosts = [r["hosts"] for r in sizes]
        ax.plot(hosts, [r["up_s"] for r in sizes], marker="o", label="up")
        ax.plot(hosts, [r["down_s"] for r in sizes], marker="o", label="down")
        ax.set(title="lab: bring-up and tear-down time", xlabel="hosts (each with its own seawayd)", ylabel="seconds")
        ax.set_ylim(bottom=0)
        ax.legend()
        save(fig, "lab-up-down.png")
    return written


def _dns_bars(plt: Any, save: Any, dns: dict[str, Any]) -> None:
    """Throughput and p99 per figure, one bar per side (Seaway, without its cache, with its
    thread in the fair class, dockerd)."""
    latency_kinds = ("internal", "internal_at_10k_qps", "forwarded")
    sides = {"seaway": {k: dns[k] for k in latency_kinds if k in dns}}
    if "forwarded_no_cache" in dns:
        sides["seaway, no cache"] = {"forwarded": dns["forwarded_no_cache"]}
    if "fair_scheduling" in dns:
        sides["seaway, --dns-realtime=false"] = dns["fair_scheduling"]
    if "internal" in dns.get("dockerd", {}):
        sides["dockerd 20.10"] = dns["dockerd"]
    for metric, title, unit in (("qps", "queries per second (saturated)", "qps"), ("p99_ms", "p99 latency", "ms")):
        kinds = ("internal", "forwarded") if metric == "qps" else tuple(k for k in latency_kinds if k in dns)
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.8 / len(sides)
        for i, (name, figures) in enumerate(sides.items()):
            xs = [k + i * width for k, kind in enumerate(kinds) if kind in figures]
            ax.bar(xs, [figures[kind][metric] for kind in kinds if kind in figures], width, label=name)
        ax.set_xticks([k + width * (len(sides) - 1) / 2 for k in range(len(kinds))], kinds)
        ax.set(title=f"embedded DNS: {title}, {dns.get('outstanding', '?')} in flight", ylabel=unit)
        ax.legend()
        save(fig, f"dns-{metric.removesuffix('_ms')}.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plot")
    parser.add_argument("result", type=Path)
    parser.add_argument("-o", "--out", type=Path, help="directory for the PNGs (default: next to the result)")
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("bench.plot needs matplotlib (pip install matplotlib)", file=sys.stderr)
        return 1
    result = json.loads(args.result.read_text())
    out = args.out or args.result.with_suffix("")
    for path in plot(result, out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
