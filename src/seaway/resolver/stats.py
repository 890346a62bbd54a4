"""Counters a user can read: queries, answers by rcode, forwards, failures, latency.

Written by the resolver's thread only; the API's thread reads them with single C-level
copies (``sorted``, ``dict``), which the GIL makes whole. So no lock: one cost a tenth
of an internal answer's time.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any


class Stats:
    def __init__(self, window: int = 4096) -> None:
        self.queries = 0
        self.rcodes: Counter[str] = Counter()
        self.forwarded = 0
        self.forward_failures = 0
        self.cache_hits = 0
        self._latency_us: deque[int] = deque(maxlen=window)  # the latest answers only
        #: the resolver thread's scheduling (``seaway.resolver.priority.Priority``), if known
        self.priority: Any = None

    def answered(self, rcode: str, latency_us: int, cached: bool = False) -> None:
        self.queries += 1
        self.cache_hits += cached
        self.rcodes[rcode] += 1
        self._latency_us.append(latency_us)

    def forward(self, ok: bool) -> None:
        self.forwarded += 1
        if not ok:
            self.forward_failures += 1

    def snapshot(self) -> dict[str, Any]:
        ordered = sorted(self._latency_us)

        def q(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] / 1000, 3) if ordered else 0.0

        return {
            "Queries": self.queries,
            "Answers": dict(self.rcodes),
            "Forwarded": self.forwarded,
            "ForwardFailures": self.forward_failures,
            "CacheHits": self.cache_hits,
            "LatencyMs": {"p50": q(0.5), "p99": q(0.99), "max": q(1.0), "samples": len(ordered)},
            "Scheduling": self.priority.state if self.priority is not None else "",
            "RealtimeDemotions": self.priority.demotions if self.priority is not None else 0,
        }
