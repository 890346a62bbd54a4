"""``seaway lab``: many hosts on one machine (up, down, ls, status, exec, env, graph,
fault, demo). These commands need no daemon: they build and drive labs themselves.

A command that acts on a running lab takes ``-l/--lab NAME``; without it, the only lab
that is up is meant (an error lists them when there are several). Labs live under
/run/seaway-lab unless ``SEAWAY_LAB_DIR`` names another directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from seaway.errors import InvalidParameter, NotFound, SeawayError
from seaway.kernel import process
from seaway.lab import Lab, demo, faults, graph, state, status
from seaway.lab.plan import RUN_DIR

RUN_DIR_ENV = "SEAWAY_LAB_DIR"


def _run_dir() -> Path:
    return Path(os.environ.get(RUN_DIR_ENV) or RUN_DIR)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("lab", help="labs: many hosts with their own seawayd on one machine")
    parser.set_defaults(local=True)
    cmds = parser.add_subparsers(dest="lab_command", required=True, metavar="COMMAND")

    def add(name: str, func, help: str, *, lab: bool = False) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = cmds.add_parser(name, help=help)
        p.set_defaults(func=func)
        if lab:
            p.add_argument("-l", "--lab", help="the lab (default: the only one up)")
        return p

    add("up", up, "build a lab from a topology file").add_argument("file", type=Path)
    add("down", down, "remove everything a lab made").add_argument("name", nargs="?")
    add("ls", ls, "the labs that are up")
    add("status", show_status, "a lab as a tree: segments, routers, hosts, daemons, containers").add_argument(
        "name", nargs="?"
    )
    p = add("exec", exec_, "run a program inside a host's (or router's) namespace", lab=True)
    p.add_argument("host")
    p.add_argument("argv", nargs=argparse.REMAINDER, help="-- PROGRAM [ARG...]")
    add("env", env, 'print DOCKER_HOST for a host (eval "$(seaway lab env h1)")', lab=True).add_argument("host")
    p = add("graph", draw, "draw a lab (Graphviz): hosts, segments, routers, networks, containers")
    p.add_argument("file", type=Path, help="a topology file, or the name of a lab that is up")
    p.add_argument("-o", "--output", type=Path, required=True, help="lab.svg or lab.png")
    add("demo", run_demo, "the quick start: the demo lab, its application and its checks")
    _register_faults(add("fault", fault, "inject faults: links, partitions, rate limits, delay/loss", lab=True))


def _register_faults(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="fault", required=True, metavar="FAULT")
    for name, help in (
        ("link-down", "take a node's link down"),
        ("link-up", "bring it back"),
        ("clear", "remove rate limits and impairments"),
    ):
        p = kinds.add_parser(name, help=help)
        p.add_argument("node")
        p.add_argument("--link", type=int, default=0, help="the node's link index (default 0: eth0)")
    p = kinds.add_parser("partition", help="cut hosts A off from hosts B (comma-separated lists)")
    p.add_argument("a")
    p.add_argument("b")
    kinds.add_parser("heal", help="remove every partition")
    kinds.add_parser("kill", help="SIGKILL a host's seawayd and its etcd member").add_argument("node")
    kinds.add_parser("start", help="start a killed host's seawayd again").add_argument("node")
    p = kinds.add_parser("rate", help="limit a link's rate, both directions (tbf)")
    p.add_argument("node")
    p.add_argument("rate", help="like 10mbit, 512kbit")
    p.add_argument("--link", type=int, default=0)
    p = kinds.add_parser("delay", help="delay, jitter and loss on a link (netem, where the kernel has it)")
    p.add_argument("node")
    p.add_argument("--delay", type=float, default=0, help="milliseconds")
    p.add_argument("--jitter", type=float, default=0, help="milliseconds")
    p.add_argument("--loss", type=float, default=0, help="percent")
    p.add_argument("--link", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Dispatch a ``seaway lab`` command; Seaway's errors become ``seaway lab: <message>``."""
    try:
        return int(args.func(args))
    except SeawayError as exc:
        if args.debug:
            raise
        print(f"seaway lab: {exc}", file=sys.stderr)
        return 1


def _lab(name: str | None) -> Lab:
    if name:
        return Lab.attach(name, run_dir=_run_dir())
    up_now = state.labs(_run_dir())
    if len(up_now) == 1:
        return Lab.attach(up_now[0], run_dir=_run_dir())
    if not up_now:
        raise NotFound("no lab is up (seaway lab up FILE)")
    raise InvalidParameter(f"several labs are up ({', '.join(up_now)}): choose one with --lab")


def up(args: argparse.Namespace) -> int:
    lab = Lab.from_file(args.file, run_dir=_run_dir())
    started = time.monotonic()
    lab.up(lambda line: print(f"  {line}", flush=True))
    print(f"lab {lab.name} is up in {time.monotonic() - started:.1f} s ({len(lab.hosts)} hosts)")
    print(
        f'next: seaway lab status; eval "$(seaway lab env {lab.hosts[0].name})"; docker ps; seaway lab down {lab.name}'
    )
    return 0


def down(args: argparse.Namespace) -> int:
    lab = _lab(args.name)
    lab.down()
    print(f"lab {lab.name} is down")
    return 0


def ls(args: argparse.Namespace) -> int:
    print(f"{'NAME':<14}{'HOSTS':>6}  DIRECTORY")
    for name in state.labs(_run_dir()):
        lab = Lab.attach(name, run_dir=_run_dir())
        print(f"{name:<14}{len(lab.hosts):>6}  {lab.plan.root}")
    return 0


def show_status(args: argparse.Namespace) -> int:
    print(status.tree(_lab(args.name)))
    return 0


def exec_(args: argparse.Namespace) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise InvalidParameter("seaway lab exec HOST -- PROGRAM [ARG...]: no program given")
    lab = _lab(args.lab)
    try:
        node = lab.plan.node(args.host)
    except KeyError:
        raise NotFound(f"lab {lab.name} has no node {args.host!r}") from None
    env = dict(os.environ)
    if node.kind == "host":
        env.update(lab.host(node.name).env)
    process.replace_with(node.netns, argv, env)
    return 0  # not reached


def env(args: argparse.Namespace) -> int:
    host = _lab(args.lab).host(args.host)
    print(f"export DOCKER_HOST={host.docker_host}")
    return 0


def draw(args: argparse.Namespace) -> int:
    lab = Lab.from_file(args.file) if args.file.exists() else Lab.attach(str(args.file), run_dir=_run_dir())
    print(graph.render(lab.plan, args.output))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    return demo.run(run_dir=_run_dir())


def fault(args: argparse.Namespace) -> int:
    lab = _lab(args.lab)
    kind = args.fault
    if kind in ("link-down", "link-up"):
        faults.set_link(lab.plan, args.node, kind == "link-up", args.link)
    elif kind == "partition":
        faults.partition(lab.plan, args.a.split(","), args.b.split(","))
    elif kind == "heal":
        faults.heal(lab.plan)
    elif kind == "kill":
        lab.kill(args.node)
    elif kind == "start":
        lab.start(args.node)
    elif kind == "rate":
        faults.limit_rate(lab.plan, args.node, faults.parse_rate(args.rate), args.link)
    elif kind == "delay":
        faults.impair(lab.plan, args.node, args.delay, args.jitter, args.loss, args.link)
    elif kind == "clear":
        faults.clear(lab.plan, args.node, args.link)
    print(f"lab {lab.name}: {kind} done")
    return 0
