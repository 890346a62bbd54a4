"""A host's daemon as a fault: kill a node (its seawayd and, on a manager, its etcd
member, both with SIGKILL, as when the machine dies) and start it again.

A killed host keeps its namespace, its containers' processes and its files, so a
started daemon finds the swarm state it had (a manager's etcd data too) and rejoins.
Each PID is checked against the lab's marker before it is signalled.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from seaway.errors import InvalidParameter, NotFound
from seaway.kernel import process
from seaway.lab import realize
from seaway.lab import state as lab_state
from seaway.lab.plan import DNS_ADDRESS, LabPlan

KILL_WAIT = 5.0


def _host(plan: LabPlan, name: str) -> None:
    try:
        node = plan.node(name)
    except KeyError:
        raise NotFound(f"lab {plan.name} has no host {name!r}") from None
    if node.kind != "host":
        raise InvalidParameter(f"{name} is a {node.kind}: only hosts run daemons")


def etcd_pid(plan: LabPlan, name: str) -> int | None:
    """The PID of the host's etcd member, if it runs one."""
    root = plan.files(name).data_root / "swarm" / "etcd"
    try:
        pid = int((root / "etcd.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if process.runs(pid, str(root / "data")) else None


def kill(plan: LabPlan, name: str) -> None:
    """SIGKILL the host's seawayd and its etcd member; returns once both are gone."""
    _host(plan, name)
    st = lab_state.read(plan.root)
    pids = [p for p in (st.pids.get(name), etcd_pid(plan, name)) if p and process.runs(p, st.marker)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + KILL_WAIT
    while any(not process.gone(p) for p in pids) and time.monotonic() < deadline:
        for p in pids:
            process.exited(p)
        time.sleep(0.02)


def start(plan: LabPlan, name: str) -> int:
    """Start the host's seawayd again (after ``kill``); its PID, once its API answers."""
    _host(plan, name)
    st = lab_state.read(plan.root)
    old = st.pids.get(name)
    if old and process.runs(old, st.marker):
        raise InvalidParameter(f"the daemon of {name} is running (pid {old})")
    files = plan.files(name)
    files.resolv_conf.write_text(f"nameserver {DNS_ADDRESS}\n" if "world" in st.topology else "")
    argv = [sys.executable, "-m", "seaway.daemon.app", *realize.daemon_argv(files, plan.node(name))]
    pid = process.spawn(plan.node(name).netns, argv, files.log, env={**os.environ, **realize.daemon_env(name)})
    st.record_pid(name, pid)
    realize.wait_for_api(files, pid, f"seawayd of {name}")
    return pid
