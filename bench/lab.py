"""Labs: the time to bring up and tear down labs of N hosts (each a namespace with its
own seawayd and the busybox image), one segment with the outside world on it.

Hosts are built concurrently, at most one per core at a time; a host costs mostly the
start of its daemon (a Python process), so the figure scales with hosts / cores.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seaway.lab import Lab

Log = Callable[[str], None]


def topology(hosts: int) -> dict[str, Any]:
    return {
        "name": "b" + secrets.token_hex(4),
        "segments": [{"name": "lan"}],
        "world": {"segment": "lan"},
        "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in range(1, hosts + 1)],
    }


def measure(hosts: int) -> dict[str, float]:
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    lab = Lab(topology(hosts), run_dir=run_dir)
    try:
        started = time.perf_counter()
        lab.up()
        up_s = time.perf_counter() - started
        started = time.perf_counter()
        lab.down()
        down_s = time.perf_counter() - started
        left = [p.name for p in Path("/run/netns").glob(f"swl-{lab.name}-*")] + (
            [str(lab.plan.root)] if lab.plan.root.exists() else []
        )
        if left:
            raise RuntimeError(f"lab down left {left}")
    finally:
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)
    return {"hosts": hosts, "up_s": round(up_s, 2), "down_s": round(down_s, 2), "clean": True}


def run(quick: bool, log: Log) -> dict[str, Any]:
    sizes = (5,) if quick else (5, 20, 50)
    results = []
    for n in sizes:
        result = measure(n)
        log(f"lab {n} hosts: up {result['up_s']} s, down {result['down_s']} s")
        results.append(result)
    return {"sizes": results}


def summary(results: dict[str, Any]) -> list[str]:
    lines = ["lab up / down (hosts: seconds)"]
    lines += [f"  {r['hosts']:>3} hosts: up {r['up_s']:>6.2f} s  down {r['down_s']:>6.2f} s" for r in results["sizes"]]
    return lines
