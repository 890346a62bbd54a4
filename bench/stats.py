"""Summaries of latency samples (nanoseconds in, milliseconds out)."""

from __future__ import annotations


def summarize(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    n = len(ordered)

    def pick(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] / 1e6, 3)

    return {
        "n": n,
        "min_ms": round(ordered[0] / 1e6, 3),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1] / 1e6, 3),
    }
