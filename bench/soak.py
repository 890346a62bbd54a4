"""Opt-in soak (not in ``all``, not in CI): an idle TCP connection through a service VIP
survives past IPVS's 900 s (moby#31208).

A lab of two hosts: a service of one busybox ``nc -ll -e cat`` (an echo server) task on
h1, a client container on h2. The client connects through the VIP, sends a line, stays
silent ``SEAWAY_SOAK_IDLE_S`` seconds (default 960), sends a second line: both come
back when the flow survived. ``./run bench --suite soak`` (about 17 minutes).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seaway.lab import Lab

Log = Callable[[str], None]


def run(quick: bool, log: Log) -> dict[str, Any]:
    idle = int(os.environ.get("SEAWAY_SOAK_IDLE_S", "30" if quick else "960"))
    topology = {
        "name": "k" + secrets.token_hex(4),
        "segments": [{"name": "lan"}],
        "hosts": [{"name": n, "links": ["lan"]} for n in ("h1", "h2")],
        "swarm": {"managers": ["h1"], "workers": ["h2"]},
    }
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    lab = Lab(topology, run_dir=run_dir)
    try:
        lab.up()
        h1, h2 = lab.host("h1"), lab.host("h2")
        h1.run(["docker", "network", "create", "-d", "overlay", "--attachable", "soak"], timeout=60)
        h1.run(["docker", "service", "create", "--name", "echo", "--constraint", "node.hostname==h1",
                "--network", "soak", "busybox", "nc", "-ll", "-p", "81", "-e", "cat"], timeout=120)  # fmt: skip
        h2.run(["docker", "run", "-d", "--name", "client", "--network", "soak", "busybox", "sleep", str(idle + 600)],
               timeout=60)  # fmt: skip
        time.sleep(2)
        script = f"(echo first; sleep {idle}; echo second; sleep 3) | nc echo 81"
        log(f"soak: a connection through the VIP of echo, idle {idle} s")
        started = time.perf_counter()
        out = h2.run(["docker", "exec", "client", "sh", "-c", script], timeout=idle + 120).stdout.split()
        took = round(time.perf_counter() - started, 1)
        survived = out == ["first", "second"]
        log(f"soak: after {idle} s idle the flow {'survived' if survived else 'was lost'} (echoed {out})")
        return {"idle_s": idle, "survived": survived, "echoed": out, "wall_s": took}
    finally:
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)


def summary(results: dict[str, Any]) -> list[str]:
    verdict = "survived" if results["survived"] else "LOST"
    return [f"soak: an idle TCP flow through a VIP, {results['idle_s']} s idle: {verdict}"]
