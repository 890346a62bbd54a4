"""Bringing a planned lab up and taking it down again.

``up(plan)`` refuses to start if the lab or any of its namespaces exists, writes the
state file first, then builds the fabric, routers (one with an ``asn`` runs FRR,
``seaway.bgp.speaker``) and world, and the hosts concurrently
(at most one per core at a time). A host is a namespace with its uplinks, its own
``seawayd`` (own data root, exec root and API socket; forked by the lab's launcher,
``seaway.lab.launcher``, which imports the daemon's code once for all hosts), the
offline ``busybox`` image, and the networks and containers the topology gives it. If anything fails, everything made so far is taken down before the error is
raised.

``down(root)`` works from the state file alone, so it also cleans up after a crash of
the tool: it stops the lab's processes (by the PIDs recorded, and any process whose
command line names the lab's directory — the launcher's forks and the containers'
monitors carry it — each checked again just before it is signalled),
removes their containers (by runc, under each host's own runc root), unmounts what is
mounted under the lab's directory, deletes the lab's namespaces by name and removes the
directory. It touches nothing else.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
import docker.types

from seaway.bgp.frrconf import Peer, SpeakerConfig
from seaway.bgp.speaker import Speaker
from seaway.errors import CleanupIncomplete, Conflict, InternalError, InvalidParameter
from seaway.kernel import mounts, process, wiring
from seaway.lab import probes, swarm
from seaway.lab import state as lab_state
from seaway.lab.images import busybox_rootfs_tar
from seaway.lab.plan import DNS_ADDRESS, WEB_ADDRESS, HostFiles, LabPlan, Node
from seaway.lab.topology import Host, to_data

log = logging.getLogger(__name__)

DAEMON_TIMEOUT = 60.0
ROUTER_HOLD_TIME = 3  # seconds: a lab router's BGP sessions
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def workers() -> int:
    return max(1, os.cpu_count() or 1)


def up(plan: LabPlan, progress: Progress = _quiet) -> lab_state.LabState:
    """Build the lab; its state. Conflict if it (or a namespace of it) exists already."""
    if plan.state_file.exists():
        raise Conflict(f"lab {plan.name} is already up (seaway lab down {plan.name})")
    taken = [name for name in plan.netns_names if (process.NETNS_DIR / name).exists()]
    if taken:
        raise Conflict(f"lab {plan.name}: network namespace {taken[0]} already exists")
    plan.root.mkdir(parents=True, exist_ok=True)
    st = lab_state.LabState(plan.name, plan.root, list(plan.netns_names), to_data(plan.topology))
    st.save()
    try:
        _build(plan, st, progress)
    except BaseException:
        down(plan.root)
        raise
    return st


def _build(plan: LabPlan, st: lab_state.LabState, progress: Progress) -> None:
    wiring.create_netns(plan.fabric_netns)
    wiring.add_bridges(plan.fabric_netns, [s.bridge for s in plan.segments])
    progress(f"fabric {plan.fabric_netns}: segments {', '.join(s.name for s in plan.segments)}")
    image = busybox_rootfs_tar(plan.root / "busybox.tar")
    others = [n for n in plan.nodes if n.kind != "host"]
    launcher = process.ForkServer(
        [_python(), "-m", "seaway.lab.launcher", "--lab", st.marker], plan.root / "launcher.log"
    )
    st.record_pid("launcher", launcher.pid)
    try:
        with ThreadPoolExecutor(max_workers=workers()) as pool:
            for future in [pool.submit(_node, plan, n, st) for n in others]:
                future.result()
            futures = [pool.submit(_host, plan, n, st, launcher, image, progress) for n in plan.host_nodes()]
            errors = [f.exception() for f in futures]
    finally:
        launcher.close()
    for error in errors:
        if error is not None:
            raise error
    if plan.topology.swarm is not None:
        swarm.form(plan, plan.topology.swarm, progress)


def _node(plan: LabPlan, node: Node, st: lab_state.LabState) -> None:
    """A router or the world: a namespace with its uplinks and routes (and the world's servers)."""
    wiring.create_netns(node.netns)
    _wire(plan, node)
    if node.kind == "router" and node.asn is not None:
        speaker = Speaker(plan.frr_root(node.name), speaker_config(node), netns=node.netns)
        speaker.start()
        for daemon in ("zebra", "bgpd"):
            pid = speaker.pid(daemon)
            if pid is not None:
                st.record_pid(f"{node.name}/{daemon}", pid)
    if node.kind == "world":
        wiring.add_local_addresses(node.netns, [f"{WEB_ADDRESS}/32", f"{DNS_ADDRESS}/32"])
        world = plan.topology.world
        assert world is not None
        argv = [
            _python(), "-m", "seaway.lab.world", "--lab", st.marker,
            "--web", f"{WEB_ADDRESS}:80", "--dns", f"{DNS_ADDRESS}:53",
            *(f"--record={name}={address}" for name, address in world.records),
        ]  # fmt: skip
        pid = process.spawn(node.netns, argv, plan.root / "world.log")
        st.record_pid(node.name, pid)
        _wait(
            lambda: probes.tcp_open(node.netns, str(WEB_ADDRESS), 80),
            pid,
            plan.root / "world.log",
            "the world's web server",
        )


def speaker_config(node: Node) -> SpeakerConfig:
    """A lab router's BGP speaker: its AS, its first address as router ID, a session
    with every speaker on its segments, passing routes on; a 3 s hold time, so a link
    that fails on one side only (the other end keeps its carrier) is noticed in 3 s."""
    assert node.asn is not None
    peers = tuple(Peer(p.address, p.asn) for p in node.bgp_peers)
    return SpeakerConfig(node.asn, node.router_id, peers, transit=True, hold_time=ROUTER_HOLD_TIME)


def _wire(plan: LabPlan, node: Node) -> None:
    uplinks = [wiring.Uplink(i.name, i.peer, i.segment, str(i.address)) for i in node.interfaces]
    routes = [(str(r.destination) if r.destination else "default", str(r.via)) for r in node.routes]
    wiring.attach(node.netns, plan.fabric_netns, uplinks, routes, node.forwarding)


def _host(
    plan: LabPlan, node: Node, st: lab_state.LabState, launcher: process.ForkServer, image: Path, progress: Progress
) -> None:
    files = plan.files(node.name)
    wiring.create_netns(node.netns)
    _wire(plan, node)
    start_daemon(launcher, node, files, st)
    client = docker.DockerClient(base_url=files.docker_host, version="1.41", timeout=60)
    try:
        with image.open("rb") as f:
            client.api.import_image_from_data(f.read(), repository="busybox", tag="latest")
        _populate(client, plan.host_spec(node.name))
    finally:
        client.close()
    progress(f"host {node.name}: {', '.join(str(i.address.ip) for i in node.interfaces)}, seawayd up")


def start_daemon(launcher: process.ForkServer, node: Node, files: HostFiles, st: lab_state.LabState) -> int:
    """Start a host's seawayd in its namespace (forked by the lab's launcher) and wait
    until its API answers; its PID."""
    for d in (files.data_root, files.exec_root):
        d.mkdir(parents=True, exist_ok=True)
    files.resolv_conf.write_text(f"nameserver {DNS_ADDRESS}\n" if "world" in st.topology else "")
    request = {
        "netns": node.netns,
        "log": str(files.log),
        "argv": daemon_argv(files, node),
        "env": daemon_env(node.name),
    }
    pid = launcher.start(request)
    st.record_pid(node.name, pid)
    wait_for_api(files, pid, f"seawayd of {node.name}")
    return pid


def daemon_argv(files: HostFiles, node: Node) -> list[str]:
    """A host's seawayd flags (with ``--bgp-*`` when the host has an AS)."""
    argv = [
        "--data-root", str(files.data_root), "--exec-root", str(files.exec_root), "-H", files.docker_host,
        "--host-resolv-conf", str(files.resolv_conf), "--log-level", "info",
        # a lab host's plugins are its own, never the machine's /run/docker/plugins
        "--plugin-socket-dir", str(files.exec_root / "plugins"), "--plugin-spec-dir", str(files.exec_root / "plugin-specs"),
    ]  # fmt: skip
    if node.asn is not None:
        argv += ["--bgp-asn", str(node.asn), "--bgp-router-id", str(node.router_id)]
        argv += [f"--bgp-peer={p.address},asn={p.asn}" for p in node.bgp_peers]
    return argv


def daemon_env(node: str) -> dict[str, str]:
    """A host's seawayd environment: its hostname as swarm shows it (the lab's hosts
    share the machine's UTS namespace, so the kernel's hostname is the same for all)."""
    return {"SEAWAY_HOSTNAME": node}


def wait_for_api(files: HostFiles, pid: int, what: str) -> None:
    _wait(lambda: api_answers(files.socket), pid, files.log, what)


def _populate(client: docker.DockerClient, host: Host) -> None:
    """Create the host's networks, then its containers (first network at create, the others
    connected afterwards, as ``docker run`` + ``docker network connect`` do). What the
    daemon refuses is reported with the host and object it was for."""
    what = ""
    try:
        for net in host.networks:
            what = f"network {net.name}"
            ipam = None
            if net.subnet:
                pool = docker.types.IPAMPool(subnet=net.subnet, gateway=net.gateway, iprange=net.ip_range)
                ipam = docker.types.IPAMConfig(pool_configs=[pool])
            client.networks.create(
                net.name, driver=net.driver, internal=net.internal, ipam=ipam, options=dict(net.options) or None
            )
        for c in host.containers:
            what = f"container {c.name}"
            ports = {f"{p.container_port}/{p.protocol}": p.host_port for p in c.ports}
            network = c.networks[0] if c.networks else None
            container = client.containers.create(
                c.image, list(c.command) or None, name=c.name, network=network, ports=ports or None
            )
            for extra in c.networks[1:]:
                client.networks.get(extra).connect(container)
            container.start()
    except docker.errors.APIError as exc:
        error = InvalidParameter if exc.status_code and exc.status_code < 500 else InternalError
        raise error(f"host {host.name}: {what}: {exc.explanation or exc}") from None


def api_answers(sock_path: Path) -> bool:
    """A daemon answers ``GET /_ping`` with 200 on the unix socket ``sock_path``."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(str(sock_path))
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: seaway\r\nConnection: close\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        s.close()


def _wait(ready: Callable[[], bool], pid: int, log_file: Path, what: str) -> None:
    deadline = time.monotonic() + DAEMON_TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        if process.exited(pid) is not None or process.gone(pid):  # (exited reaps our own children)
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise InternalError(f"{what} exited:\n{tail}")
        time.sleep(0.05)
    raise InternalError(f"{what} did not answer within {DAEMON_TIMEOUT:.0f} s (log: {log_file})")


def _python() -> str:
    return sys.executable


def down(root: Path) -> None:
    """Remove everything the lab at ``root`` made (see the module docstring); a lab that
    is not up is NotFound. CleanupIncomplete lists any step that failed."""
    st = lab_state.read(root)
    failures: list[BaseException] = []

    def attempt(step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:
            failures.append(exc)

    launcher = st.pids.get("launcher")
    if launcher:  # first, so that it forks nothing more
        attempt(lambda: process.stop(launcher, st.marker))
    # the recorded PIDs, and any the record missed (a tool killed between a fork and
    # saving the PID): every process whose command line names the lab's directory
    pids = set(st.pids.values()) | set(process.marked(st.marker))
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(process.stop, pid, st.marker) for pid in pids]:
            attempt(future.result)
    for host_dir in sorted(p for p in root.iterdir() if (p / "exec").is_dir()):
        attempt(lambda d=host_dir: _remove_containers(d, st.marker))
    for point in mounts.mounted_under(root):
        attempt(lambda p=point: mounts.unmount(p))
    for name in reversed(st.netns):
        attempt(lambda n=name: wiring.delete_netns(n))
    if not failures:
        shutil.rmtree(root, ignore_errors=True)
    if failures:
        raise CleanupIncomplete(f"lab {st.name} down", failures)


def _remove_containers(host_dir: Path, marker: str) -> None:
    """Every container under the host's runc root, by runc, and their monitors by PID."""
    runc_root = host_dir / "exec" / "runc"
    if runc_root.is_dir():
        for entry in runc_root.iterdir():
            process.run(None, ["runc", "--root", str(runc_root), "delete", "--force", entry.name], check=False)
    for pidfile in (host_dir / "data" / "containers").glob("*/conmon.pid"):
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            continue
        process.stop(pid, marker, timeout=2)
