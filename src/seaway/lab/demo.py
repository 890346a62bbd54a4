"""The quick start: bring up the demo lab, run its small application, show what reaches
what as a table of checks, and leave the lab up (``seaway lab down`` removes it).

The demo lab (``demo.yaml`` next to this module): hosts h1 and h2 on a LAN, router r1
to the outside world. On h1, ``web`` (network ``front`` and the internal network
``data``, port 8080 published) and its database ``db`` (``data`` only); on h2 a
``client`` on its own ``front``. Every check is a real packet in the lab, bounded in time.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from seaway.errors import Unsupported
from seaway.lab import probes
from seaway.lab.api import Lab, LabHost
from seaway.lab.plan import RUN_DIR, WEB_ADDRESS
from seaway.lab.status import tree
from seaway.lab.world import GREETING

DEMO_FILE = Path(__file__).with_name("demo.yaml")
EXEC_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


@dataclass(frozen=True)
class Check:
    what: str
    how: str
    expect: bool
    probe: Callable[[], bool]


@dataclass(frozen=True)
class Outcome:
    check: Check
    observed: bool

    @property
    def passed(self) -> bool:
        return self.observed == self.check.expect


def fetch_in(host: LabHost, container: str, url: str, timeout: int = 3) -> str:
    """``wget`` from inside a container of ``host`` (busybox); the body, or "". (Bounded
    by busybox ``timeout``: Debian's static busybox wget crashes with its own ``-T``.)"""
    argv = ["timeout", str(timeout), "wget", "-qO-", url]
    result = host.docker.containers.get(container).exec_run(argv, environment=EXEC_ENV)
    return result.output.decode(errors="replace") if result.exit_code == 0 else ""


def checks(lab: Lab) -> list[Check]:
    h1, h2 = lab.host("h1"), lab.host("h2")
    web_url = f"http://{h1.address}:8080/"
    world = f"http://{WEB_ADDRESS}/"
    return [
        Check("h2 reaches h1 over the underlay", f"ping {h1.address}", True, lambda: probes.ping(h2.netns, h1.address)),
        Check("h1 reaches the outside world's web server", f"GET {world}", True, lambda: GREETING in (probes.http_get(h1.netns, world) or "")),
        Check("web (h1) resolves www.example.com and fetches it", "wget http://www.example.com/", True,
              lambda: GREETING in fetch_in(h1, "web", "http://www.example.com/")),
        Check("web reaches db by name on the internal network", "wget http://db:5432/", True, lambda: "rows: 42" in fetch_in(h1, "web", "http://db:5432/")),
        Check("db cannot reach the outside world (internal network)", f"wget {world}", False, lambda: GREETING in fetch_in(h1, "db", world, 2)),
        Check("h2 reaches web through h1's published port", f"GET {web_url}", True,
              lambda: "hello from web" in (probes.http_get(h2.netns, web_url) or "")),
        Check("client (h2) reaches web through h1's published port", f"wget {web_url}", True,
              lambda: "hello from web" in fetch_in(h2, "client", web_url)),
        Check("client (h2) reaches the outside world (masqueraded)", f"wget {world}", True, lambda: GREETING in fetch_in(h2, "client", world)),
        Check("client (h2) cannot reach web's container address on h1", "wget <web's front address>:80", False,
              lambda: "hello from web" in fetch_in(h2, "client", f"http://{_address(h1, 'web', 'front')}/", 2)),
    ]  # fmt: skip


def _address(host: LabHost, container: str, network: str) -> str:
    attrs = host.docker.containers.get(container).attrs
    return str(attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


def run_checks(lab: Lab) -> list[Outcome]:
    def one(check: Check) -> Outcome:
        return Outcome(check, check.probe())

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, checks(lab)))


def print_checks(outcomes: list[Outcome], out: TextIO) -> None:
    width = max(len(o.check.what) for o in outcomes)
    out.write("\nwhat reaches what:\n")
    for o in outcomes:
        mark = "✓" if o.passed else "✗"
        expected = "reachable" if o.check.expect else "blocked"
        out.write(f"  {mark}  {o.check.what.ljust(width)}  {o.check.how}  (expected {expected})\n")
    out.write(f"{sum(o.passed for o in outcomes)}/{len(outcomes)} checks passed\n")


def next_steps(lab: Lab) -> str:
    """Where to look next, as a two-column list of commands."""
    rows = [
        ("seaway lab status", "hosts, daemons, networks and containers as a tree"),
        ('eval "$(seaway lab env h1)"; docker ps', "drive h1 with the docker CLI (any docker client)"),
        (f"seaway lab exec h2 -- ping -c1 {lab.host('h1').address}", "run a program on h2"),
        ("seaway lab fault partition h1 h2", "cut h1 off from h2 (seaway lab fault heal)"),
        (f"seaway lab graph {DEMO_FILE} -o lab.svg", "draw it"),
        ("seaway lab down", "remove everything the lab made"),
    ]
    width = max(len(command) for command, _ in rows)
    return "\nthe lab stays up. Where to look next:\n" + "".join(f"  {c.ljust(width)}  {w}\n" for c, w in rows)


def run(out: TextIO = sys.stdout, run_dir: Path = RUN_DIR) -> int:
    """The demo; exit status 0 when every check passed."""
    if os.geteuid() != 0:
        raise Unsupported("the demo builds network namespaces: run it as root")
    lab = Lab.from_file(DEMO_FILE, run_dir=run_dir)
    if lab.is_up:
        out.write(f"lab {lab.name} is already up; checking it again\n")
    else:
        started = time.monotonic()
        lab.up(lambda line: out.write(f"  {line}\n"))
        out.write(f"lab {lab.name} is up in {time.monotonic() - started:.1f} s\n")
    out.write(tree(lab) + "\n")
    outcomes = run_checks(lab)
    print_checks(outcomes, out)
    out.write(next_steps(lab))
    return 0 if all(o.passed for o in outcomes) else 1
