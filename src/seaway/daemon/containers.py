"""Containers: lifecycle, restart policies and exit handling, on top of the engine.

A container gets its network sandbox when it starts and loses it when it stops, as in
Docker (endpoints, and so addresses, are released at stop). Its process runs under
conmon, which outlives the daemon; the daemon learns of exits from conmon's exit files
(``watch_exits`` is called periodically by the daemon) and applies restart policies and
auto-removal there. Records are persisted at every state change, so after a daemon
restart ``recover()`` can tell which containers still run, which exited meanwhile (with
their real exit code), and which must be started again (``always``, ``unless-stopped``,
``on-failure``).

Methods block (they call runc and the kernel) and are called from worker threads; one
lock guards the records, and long waits (stop) happen outside it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal as signals
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seaway.daemon import links, netmode
from seaway.daemon.dnsfeed import DnsFeed, MemberListener
from seaway.daemon.endpoint_settings import check_endpoint_settings
from seaway.daemon.filesystems import Filesystems
from seaway.dns import hosts as hostsfile
from seaway.dns import resolvconf
from seaway.engine import Engine, rules
from seaway.engine.config import EngineConfig
from seaway.errors import (
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
    ProgramNotRunnable,
    SeawayError,
)
from seaway.model import hostconfig
from seaway.model.container import Container, ContainerSpec, ContainerState, RestartPolicy
from seaway.model.endpoint import EndpointSpec, SandboxMode
from seaway.model.hostconfig import ProcessOptions, Resources
from seaway.model.ids import new_id
from seaway.model.mounts import MountSpec
from seaway.model.network import Network
from seaway.model.ports import PortRequest
from seaway.resolver.server import Resolver, View
from seaway.runtime import oci, processes, rootfs, stats
from seaway.runtime import spec as ocispec
from seaway.runtime.images import Image, ImageStore
from seaway.state.store import Store

log = logging.getLogger(__name__)

#: the bridge a swarm node's containers on overlays leave through (made by the cluster)
GATEWAY_BRIDGE = "docker_gwbridge"

NAME_ADJECTIVES = ("brave", "calm", "eager", "fond", "keen", "lucid", "merry", "quiet", "sharp", "tidy")
NAME_NOUNS = ("albatross", "cormorant", "gannet", "heron", "kittiwake", "petrel", "puffin", "tern")
ZERO_TIME = "0001-01-01T00:00:00Z"
SPECIAL_MODES = ("default", "bridge", "host", "none")
#: seconds a SIGKILL'd container is waited for before the kill call returns (Docker: 10)
KILL_WAIT = 10.0
#: seconds between the stop signal and SIGKILL when Config.StopTimeout is not given
DEFAULT_STOP_TIMEOUT = 10


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Containers:
    def __init__(
        self,
        config: EngineConfig,
        engine: Engine,
        store: Store,
        host_resolv_conf: Path,
        dns: tuple[str, ...] = (),
        dns_search: tuple[str, ...] = (),
        dns_options: tuple[str, ...] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self.config = config
        self._dns = dns
        self._dns_search = dns_search
        self._dns_options = dns_options
        self.resolver = resolver
        self.engine = engine
        self._feed = DnsFeed(resolver.records if resolver is not None else None, engine)
        self._store = store
        self._lock = threading.RLock()
        self.images = ImageStore(config.data_root / "images")
        self.runtime = oci.Runtime(config.exec_root / "runc")
        self._containers: dict[str, Container] = {}
        self._host_resolv_conf = host_resolv_conf
        self._restart_due: dict[str, float] = {}
        self._backoff: dict[str, int] = {}  # restarts since the last run of 10 s or more
        self._removed: set[str] = set()
        #: sandbox ID -> container ID, so finding a sandbox's container never scans them all
        self._owners: dict[str, str] = {}
        self.fs = Filesystems(
            config.data_root, self.images, self.get, lambda: list(self._containers.values()), self._lock
        )

    # ------------------------------------------------------------- paths and records

    def dir(self, container_id: str) -> Path:
        return self.config.data_root / "containers" / container_id

    def _paths(self, container_id: str) -> oci.Paths:
        d = self.dir(container_id)
        return oci.Paths(
            bundle=d,
            log=d / "ctr.log",
            pidfile=d / "pid",
            conmon_pidfile=d / "conmon.pid",
            exit_dir=self.config.exec_root / "exits",
            socket_dir=self.config.exec_root / "conmon",
        )

    def log_path(self, container_id: str) -> Path:
        return self.dir(container_id) / "ctr.log"

    def _save(self, ctr: Container) -> None:
        with self._store.transaction():
            self._store.put_container(ctr.id, ctr.name, _to_doc(ctr))

    def _save_networks(self, ctr: Container, networks: dict[str, EndpointSpec]) -> None:
        """The record with ``networks`` (the memory follows once the change is done)."""
        with self._store.transaction():
            self._store.put_container(ctr.id, ctr.name, _to_doc(replace(ctr, networks=networks)))

    def add_member_listener(self, listener: MemberListener) -> None:
        """Told of every endpoint that starts or stops answering by name (the cluster)."""
        self._feed.listeners.append(listener)

    def load(self) -> None:
        with self._lock:
            for doc in self._store.containers():
                ctr = _from_doc(doc)
                self._containers[ctr.id] = ctr
                if ctr.sandbox_id:
                    self._owners[ctr.sandbox_id] = ctr.id

    # ------------------------------------------------------------- queries

    # Reads take no lock: they run on the daemon's event loop, which must never wait for
    # a worker thread in the middle of a start or a stop. A snapshot of the dict is enough.

    def list(self) -> list[Container]:
        return sorted(list(self._containers.values()), key=lambda c: c.created, reverse=True)

    def get(self, term: str) -> Container:
        """By full ID, name (with or without ``/``) or unique ID prefix."""
        containers = dict(self._containers)
        if term in containers:
            return containers[term]
        name = term.lstrip("/")
        for ctr in containers.values():
            if ctr.name == name:
                return ctr
        matches = [c for i, c in containers.items() if term and i.startswith(term)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {term}")
        raise NotFound(f"No such container: {term}")

    def removed(self, container_id: str) -> bool:
        return container_id in self._removed

    def container_of_sandbox(self, sandbox_id: str) -> Container | None:
        container_id = self._owners.get(sandbox_id)
        return None if container_id is None else self._containers.get(container_id)

    # ------------------------------------------------------------- create

    def create(self, name: str, spec: ContainerSpec) -> Container:
        with self._lock:
            if name:
                self._check_name(name)
            else:
                name = self._random_name()
            image = self.images.get(spec.image)
            if not (spec.cmd or spec.entrypoint or image.cmd):
                raise InvalidParameter("no command specified")
            target = netmode.target_of(spec.network_mode or "default")
            if target is not None:  # stored as Docker does: container:<full ID> (checked at start)
                netmode.check_spec(spec)
                if target in self._containers or any(c.name == target.lstrip("/") for c in self._containers.values()):
                    spec = replace(spec, network_mode=netmode.PREFIX + self.get(target).id)
            networks = self._plan_networks(name, spec) if target is None else {}
            for text in spec.links:
                link = links.parse(text)
                try:
                    self.get(link.target)
                except NotFound as exc:
                    raise InvalidParameter(f"could not get container for {link.target}: {exc}") from None
            if spec.links and networks and not self._is_default_bridge(next(iter(networks))):
                # on a user-defined network links are the endpoint's (aliases its DNS resolves)
                first = next(iter(networks))
                joined = tuple(dict.fromkeys(networks[first].links + spec.links))  # the CLI sends both
                networks[first] = replace(networks[first], links=joined)
                spec = replace(spec, links=())
            spec = replace(spec, mounts=self.fs.plan_mounts(spec))
            container_id = new_id()
            if not spec.hostname and spec.network_mode != "host" and target is None:
                spec = replace(spec, hostname=container_id[:12])
            ctr = Container(id=container_id, name=name, created=_now(), spec=spec, image_id=image.id, networks=networks)
            self.dir(ctr.id).mkdir(parents=True, exist_ok=True)
            self._save(ctr)
            self._containers[ctr.id] = ctr
            log.info("container created name=%s id=%s", name, ctr.id[:12])
            return ctr

    def _check_name(self, name: str) -> None:
        if not _valid_name(name):
            raise InvalidParameter(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        for other in self._containers.values():
            if other.name == name.lstrip("/"):
                raise Conflict(
                    f'Conflict. The container name "/{name.lstrip("/")}" is already in use by container '
                    f'"{other.id}". You have to remove (or rename) that container to be able to reuse that name.'
                )

    def rename(self, term: str, new_name: str) -> Container:
        """``docker rename``: the embedded DNS answers the new name at once, no longer the old."""
        with self._lock:
            ctr = self.get(term)
            if not new_name:
                raise InvalidParameter("Neither old nor new names may be empty")
            if new_name.lstrip("/") == ctr.name:
                raise InvalidParameter("Renaming a container with the same name as its current name")
            try:
                self._check_name(new_name if new_name.startswith("/") else f"/{new_name}")
            except SeawayError as exc:
                raise type(exc)(f"Error when allocating new name: {exc}") from None
            old, ctr.name = ctr.name, new_name.lstrip("/")
            self._save(ctr)
            if self._feed is not None and ctr.sandbox_id:  # its members answer by the new name
                self._feed.joined(ctr, list(ctr.networks))
            log.info("container renamed %s -> %s", old, ctr.name)
            return ctr

    def _random_name(self) -> str:
        taken = {c.name for c in self._containers.values()}
        while True:
            name = f"{secrets.choice(NAME_ADJECTIVES)}_{secrets.choice(NAME_NOUNS)}"
            if name not in taken:
                return name
            name = f"{name}{secrets.randbelow(100)}"
            if name not in taken:
                return name

    def _plan_networks(self, name: str, spec: ContainerSpec) -> dict[str, EndpointSpec]:
        """Check the network mode and endpoint config; the networks to join, by ID."""
        mode = spec.network_mode or "default"
        primary = "bridge" if mode == "default" else mode
        net = self.engine.network(primary)
        endpoints = {("bridge" if k == "default" else k): v for k, v in spec.endpoints.items()}
        first = endpoints.get(primary) or endpoints.get(net.id) or endpoints.get(net.name) or EndpointSpec()
        if spec.mac_address and not first.mac_address and net.driver not in ("host", "null"):
            # Config.MacAddress: the first network's (as Docker)
            first = replace(first, mac_address=spec.mac_address)
        out: dict[str, EndpointSpec | None] = {net.id: first}
        joined = [net]
        for term, endpoint in endpoints.items():
            other = self.engine.network(term)
            if other.id == net.id:
                continue
            rules.check_membership(joined, other, name)
            joined.append(other)
            out[other.id] = endpoint
        for network_id, endpoint in out.items():
            if endpoint is not None:
                check_endpoint_settings(self.engine.network(network_id), endpoint)
        return {k: v or EndpointSpec() for k, v in out.items()}

    # ------------------------------------------------------------- start

    def start(self, term: str) -> Container:
        with self._lock:
            ctr = self.get(term)
            if ctr.running:
                return ctr
            ctr.state.stopped_by_user = False
            ctr.state.restart_count = 0  # a start by hand gives on-failure:N its retries back
            self._backoff.pop(ctr.id, None)
            self._restart_due.pop(ctr.id, None)
            self._start(ctr)
            return ctr

    def _start(self, ctr: Container) -> None:
        """Sandbox, endpoints, files, root filesystem, process; undone if any step fails."""
        image = self.images.get(ctr.image_id)
        if netmode.target_of(ctr.spec.network_mode) is not None:
            self._start_in_other(ctr, image)
            return
        sandbox_id = ""
        try:
            linked = self._linked(ctr)  # before anything is made: the linked must be running
            nets = [self.engine.network(n) for n in ctr.networks]
            mode = self._sandbox_mode(nets)
            sb = self.engine.create_sandbox(ctr.name, mode=mode, hostname=ctr.spec.hostname)
            sandbox_id = sb.id
            ctr.sandbox_id = sb.id
            self._owners[sb.id] = ctr.id
            self._save(ctr)  # a crash from here on leaves a record recover() can undo
            for net in nets:
                self.engine.connect(sb.id, net.id, ctr.networks[net.id])
            self._gateway_bridge(sb.id, nets)
            if ctr.spec.ports and mode == SandboxMode.PRIVATE:
                self.engine.publish(sb.id, ctr.spec.ports)
            self._start_resolver(ctr, sb.key, nets)
            self._write_files(ctr, sb.id, nets, tuple(entry for entry, _ in linked))
            extra = rootfs.prepare(self.dir(ctr.id), image, self.images.rootfs(image), [self.config.data_root])
            netns = sb.key if mode != SandboxMode.HOST else None
            link_env = tuple(v for _, env in linked for v in env)
            self._write_bundle(ctr, image.cmd, image.env, netns, extra, extra_env=link_env)
            pid = self._create_process(ctr)
            self.runtime.start(ctr.id)
        except BaseException as exc:
            self._start_failed(ctr, sandbox_id, exc)
            raise
        ctr.state = replace(ctr.state, status="running", pid=pid, started_at=_now(), error="", exit_code=0)
        self._save(ctr)
        if self._feed is not None:
            self._feed.joined(ctr, list(ctr.networks))
        log.info("container started name=%s pid=%d", ctr.name, pid)

    def _start_in_other(self, ctr: Container, image: Image) -> None:
        """``container:<id>``: the process joins the other container's network namespace
        and sees its files and host name; no sandbox, endpoint or resolver of its own."""
        try:
            other = self.get(ctr.spec.network_mode.removeprefix(netmode.PREFIX))  # No such container: …
            if not other.running or not other.sandbox_id:
                raise netmode.not_running(other.id)
            key = self.engine.sandbox(other.sandbox_id).key
            extra = rootfs.prepare(self.dir(ctr.id), image, self.images.rootfs(image), [self.config.data_root])
            self._write_bundle(
                ctr, image.cmd, image.env, key, extra, files=self.dir(other.id), hostname=other.spec.hostname
            )
            pid = self._create_process(ctr)
            self.runtime.start(ctr.id)
        except BaseException as exc:
            self._start_failed(ctr, "", exc)
            raise
        ctr.state = replace(ctr.state, status="running", pid=pid, started_at=_now(), error="", exit_code=0)
        self._save(ctr)
        log.info("container started name=%s pid=%d in the network of %s", ctr.name, pid, other.name)

    def _create_process(self, ctr: Container) -> int:
        spec = ctr.spec
        keep_stdin = spec.open_stdin and not spec.stdin_once
        return self.runtime.create(ctr.id, ctr.name, self._paths(ctr.id), spec.tty, spec.open_stdin, keep_stdin)

    def _start_failed(self, ctr: Container, sandbox_id: str, exc: BaseException) -> None:
        """Undo a start that failed; the error stays in the container's state."""
        log.warning("start of %s failed: %s", ctr.name, exc)
        self._teardown(ctr, sandbox_id)
        ctr.state.error = str(exc)
        if ctr.state.status != "created":
            ctr.state.status = "exited"
        # Docker's codes: 127 no such program, 126 not executable, 128 any other failure
        ctr.state.exit_code = exc.exit_code if isinstance(exc, ProgramNotRunnable) else 128
        self._save(ctr)
        if ctr.spec.auto_remove:
            self._remove(ctr, volumes=True)  # --rm takes its anonymous volumes too

    def network_owner(self, ctr: Container) -> Container | None:
        """The container whose network stack ``ctr`` shares (``container:<id>`` mode)."""
        target = netmode.target_of(ctr.spec.network_mode)
        try:
            return None if target is None else self.get(target)
        except NotFound:
            return None

    @staticmethod
    def _sandbox_mode(nets: list[Network]) -> str:
        return rules.sandbox_mode(nets[0] if nets else None)

    def _linked(self, ctr: Container) -> list[tuple[tuple[str, str], list[str]]]:
        """Legacy links on the default bridge: each linked container's hosts entry and
        environment, or Docker's error when it is not running or not on that bridge."""
        out = []
        for text in ctr.spec.links:
            link = links.parse(text)
            target = self.get(link.target)
            if not target.running or not target.sandbox_id:
                raise Conflict(f"Cannot link to a non running container: /{target.name} AS /{ctr.name}/{link.alias}")
            bridge = next((self.engine.network(n) for n in target.networks if self._is_default_bridge(n)), None)
            ep = self.engine.view.endpoint_in(target.sandbox_id, bridge.id) if bridge else None
            if ep is None or ep.ipv4 is None:
                raise InvalidParameter(f"Cannot link to /{target.name}, as it does not belong to the default network")
            image_env = self._image_env(target)
            env = links.environment(
                link, ctr.name, str(ep.ipv4), target.spec.exposed_ports, image_env + target.spec.env
            )
            out.append((links.hosts_entry(link, str(ep.ipv4), target.id, target.name), env))
        return out

    def _is_default_bridge(self, network_id: str) -> bool:
        net = self.engine.network(network_id)
        return net.predefined and net.driver == "bridge"  # the one network named "bridge"

    def _image_env(self, ctr: Container) -> tuple[str, ...]:
        try:
            return tuple(self.images.get(ctr.image_id).env)
        except NotFound:
            return ()

    def _write_files(
        self, ctr: Container, sandbox_id: str, nets: list[Network], link_entries: tuple[tuple[str, str], ...] = ()
    ) -> None:
        d = self.dir(ctr.id)
        if self._sandbox_mode(nets) == SandboxMode.HOST:
            hostname = os.uname().nodename
            (d / "hostname").write_text(hostname + "\n")
            _copy_or_default(Path("/etc/hosts"), d / "hosts", hostsfile.hosts_file(hostname, [], ()))
        else:
            addresses = [str(e.ipv4) for e in self.engine.endpoints_of_sandbox(sandbox_id) if e.ipv4]
            addresses += [str(e.ipv6) for e in self.engine.endpoints_of_sandbox(sandbox_id) if e.ipv6]
            (d / "hostname").write_text(hostsfile.hostname_file(ctr.spec.hostname))
            hosts = hostsfile.hosts_file(
                ctr.spec.hostname,
                addresses[:1],
                ctr.spec.extra_hosts,
                domainname=ctr.spec.domainname,
                links=link_entries,
            )
            _write_unless_edited(d / "hosts", hosts)
        try:
            host_text = self._host_resolv_conf.read_text()
        except OSError:
            host_text = ""
        spec = ctr.spec
        if self._embedded_dns(nets):
            content = resolvconf.embedded_resolv_conf(
                host_text,
                str(self._host_resolv_conf),
                spec.dns or self._dns,
                spec.dns_search or self._dns_search,
                spec.dns_options or self._dns_options,
            )
        else:
            content = resolvconf.container_resolv_conf(
                host_text,
                spec.dns or self._dns,
                spec.dns_search or self._dns_search,
                spec.dns_options or self._dns_options,
            )
        _write_unless_edited(d / "resolv.conf", content)

    def _write_bundle(
        self,
        ctr: Container,
        image_cmd: list[str],
        image_env: list[str],
        netns: str | None,
        extra: list[Any],
        *,
        files: Path | None = None,
        hostname: str | None = None,
        extra_env: tuple[str, ...] = (),
    ) -> None:
        """``files``: the directory of the hostname, hosts and resolv.conf files (another
        container's when sharing its network stack, with its ``hostname``)."""
        d = self.dir(ctr.id)
        files = files or d
        spec = replace(ctr.spec, hostname=hostname) if hostname is not None else ctr.spec
        process = ocispec.process_spec(
            tuple(image_env),
            tuple(image_cmd),
            spec.entrypoint,
            spec.cmd,
            extra_env + spec.env,  # links' variables first: the container's own win
            spec.working_dir,
            spec.hostname or os.uname().nodename,
            spec.tty,
        )
        uid, gid, groups = rootfs.resolve_user(d / "rootfs", spec.user, spec.process.group_add)
        process = replace(process, uid=uid, gid=gid, additional_gids=groups)
        mounts = [
            *extra,
            ocispec.bind("/etc/hostname", str(files / "hostname")),
            ocispec.bind("/etc/hosts", str(files / "hosts")),
            ocispec.bind("/etc/resolv.conf", str(files / "resolv.conf")),
            *(self.fs.oci_mount(m) for m in spec.mounts),
        ]
        hostname = spec.hostname if netns is not None else os.uname().nodename
        config = ocispec.runtime_spec(
            process,
            rootfs=str(d / "rootfs"),
            hostname=hostname,
            netns_path=netns,
            extra_mounts=mounts,
            isolation=self._isolation(spec),
        )
        if spec.domainname and netns is not None:
            # as Docker: the sysctl has setdomainname(2)'s effect in the container's UTS namespace
            config["linux"].setdefault("sysctl", {})["kernel.domainname"] = spec.domainname
        (d / "config.json").write_text(json.dumps(config, indent=1))

    def _isolation(self, spec: ContainerSpec) -> ocispec.Isolation:
        join = {}
        for kind, mode in (("pid", spec.process.pid_mode), ("ipc", spec.process.ipc_mode)):
            target = netmode.target_of(mode)
            if target is not None:
                other = self.get(target)
                if not other.running or not other.state.pid:
                    raise Conflict(f"cannot join {kind.upper()} of a non running container: {other.id}")
                join[kind] = f"/proc/{other.state.pid}/ns/{kind}"
        init = rootfs.init_program() if spec.process.init else ""
        return ocispec.Isolation(options=spec.process, resources=spec.resources, join=join, init_program=init)

    def _running_pid(self, term: str) -> Container:
        ctr = self.get(term)
        if not ctr.running or not ctr.state.pid:
            raise Conflict(f"Container {ctr.id} is not running")
        return ctr

    def top(self, term: str, ps_args: str) -> tuple[list[str], list[list[str]]]:
        ctr = self._running_pid(term)
        return processes.top(self.runtime.pids(ctr.id), ps_args or "-ef")

    def stats_sample(self, term: str) -> stats.Sample | None:
        """The container's resource use now; None when it does not run."""
        ctr = self.get(term)
        if not ctr.running or not ctr.state.pid:
            return None
        return stats.sample(ctr.state.pid)

    # ------------------------------------------------------------- embedded DNS

    def _view(self, ctr: Container) -> View:
        nets = [self.engine.network(n) for n in ctr.networks]
        named = [n.id for n in nets if self.engine.names_members(n)]
        may_forward = any(not n.internal for n in nets if n.id in named)
        options = ctr.spec.dns_options or self._dns_options or tuple(resolvconf.parse(self._host_text())[2])
        keep = any(o.startswith("ndots:") for o in options)
        aliases = {}  # links on user-defined networks: names only this container resolves
        for network_id, endpoint in ctr.networks.items():
            if network_id in named:
                for text in endpoint.links:
                    link = links.parse(text)
                    aliases[link.alias.lower()] = link.target.lower()
        return View(named, may_forward, tuple(ctr.spec.dns or self._dns), keep_single_labels=keep, links=aliases)

    def _host_text(self) -> str:
        try:
            return self._host_resolv_conf.read_text()
        except OSError:
            return ""

    def _start_resolver(self, ctr: Container, key: str, nets: list[Network]) -> None:
        """Docker starts the resolver when the first endpoint that needs it joins."""
        if self.resolver is None or not self._embedded_dns(nets):
            return
        if self.resolver.attached(ctr.sandbox_id):
            self.resolver.set_view(ctr.sandbox_id, self._view(ctr))
        else:
            self.resolver.attach(ctr.sandbox_id, key, self._view(ctr))

    def _reattach_resolver(self, ctr: Container) -> None:
        """After a daemon restart the old sockets are gone: listen again, re-point the NAT."""
        if not ctr.sandbox_id:
            return
        try:
            nets = [self.engine.network(n) for n in ctr.networks]
            self._start_resolver(ctr, self.engine.sandbox(ctr.sandbox_id).key, nets)
            if self._feed is not None:
                self._feed.joined(ctr, list(ctr.networks))
        except SeawayError as exc:
            log.error("embedded DNS for %s: %s", ctr.name, exc)

    def _embedded_dns(self, nets: list[Network]) -> bool:
        """Docker: the embedded DNS serves containers on networks whose members have names."""
        return any(self.engine.names_members(n) for n in nets)

    # ------------------------------------------------------------- stop, kill, exits

    def kill(self, term: str, signal: str = "SIGKILL") -> Container:
        """Send a signal. SIGKILL (the default) returns once the container has exited, as
        Docker's does: a client that inspects or removes it next sees it stopped."""
        with self._lock:
            ctr = self.get(term)
            if not ctr.running:
                raise Conflict(f"Cannot kill container: {term}: Container {ctr.id} is not running")
            self._check_not_paused(ctr)
            sig = _signal_name(signal)
            if sig in ("SIGKILL", "SIGTERM", "SIGINT"):
                ctr.state.stopped_by_user = True
            if ctr.state.status == "restarting":  # nothing runs: it just stays down
                self._restart_due.pop(ctr.id, None)
                ctr.state.status = "exited"
                self._save(ctr)
                return ctr
            self.runtime.kill(ctr.id, sig)
        if sig == "SIGKILL":
            self._wait_exited(ctr, KILL_WAIT)
        return ctr

    def pause(self, term: str) -> None:
        with self._lock:
            ctr = self.get(term)
            if not ctr.running or ctr.state.status == "restarting":
                raise Conflict(f"Container {ctr.id} is not running")
            if ctr.state.paused:
                raise Conflict(f"Container {ctr.id} is already paused")
            self.runtime.pause(ctr.id)
            ctr.state.paused = True
            self._save(ctr)

    def unpause(self, term: str) -> None:
        with self._lock:
            ctr = self.get(term)
            if not ctr.state.paused or not ctr.running:
                raise Conflict(f"Container {ctr.id} is not paused")
            self.runtime.resume(ctr.id)
            ctr.state.paused = False
            self._save(ctr)

    def _check_not_paused(self, ctr: Container) -> None:
        if ctr.state.paused and ctr.running:
            raise Conflict(f"Container {ctr.id} is paused. Unpause the container before stopping or killing")

    def update(self, term: str, changes: dict[str, Any], policy: RestartPolicy | None) -> Container:
        """``docker update``: new cgroup limits (applied at once to a running container) and
        restart policy."""
        with self._lock:
            ctr = self.get(term)
            if policy is not None and ctr.spec.auto_remove and policy.name != "no":
                raise InvalidParameter(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container"
                )
            resources = hostconfig.updated(ctr.spec.resources, changes)
            if ctr.running and ctr.state.status == "running" and resources != ctr.spec.resources:
                wanted = {k: v for k, v in ocispec.resources_spec(resources).items() if k != "devices"}
                self.runtime.update(ctr.id, wanted)
            ctr.spec = replace(ctr.spec, resources=resources, restart_policy=policy or ctr.spec.restart_policy)
            self._save(ctr)
            return ctr

    def prune(self, keep: Callable[[Container], bool]) -> tuple[list[str], int]:
        """Remove every stopped container ``keep`` does not keep: their IDs and the bytes
        their writable layers held."""
        removed, reclaimed = [], 0
        with self._lock:
            for ctr in list(self._containers.values()):
                if ctr.running or keep(ctr):
                    continue
                reclaimed += rootfs.layer_size(self.dir(ctr.id))
                self._remove(ctr)
                removed.append(ctr.id)
        return removed, reclaimed

    def withdraw_names(self, term: str) -> None:
        """The container's endpoints stop answering by name, while it still runs (a swarm
        task being stopped leaves every answer first, as Docker)."""
        with self._lock:
            ctr = self.get(term)
            if ctr.sandbox_id and self._feed is not None:
                self._feed.withdrawing(ctr.sandbox_id)

    def publish_names(self, term: str) -> None:
        """The running container's endpoints answer by name again (``withdraw_names``' undo)."""
        with self._lock:
            ctr = self.get(term)
            if ctr.running and ctr.sandbox_id and self._feed is not None:
                self._feed.joined(ctr, list(ctr.networks))

    def stop(self, term: str, timeout: int | None = None, signal: str | None = None) -> bool:
        """SIGTERM (or the stop signal), then SIGKILL after the timeout. False if it was
        not running (Docker's 304)."""
        with self._lock:
            ctr = self.get(term)
            self._restart_due.pop(ctr.id, None)
            if not ctr.running:
                return False
            self._check_not_paused(ctr)
            ctr.state.stopped_by_user = True
            self._save(ctr)
            if ctr.state.status == "restarting":
                ctr.state.status = "exited"
                self._save(ctr)
                return True
            self.runtime.kill(ctr.id, _signal_name(signal or ctr.spec.stop_signal))
        given = ctr.spec.stop_timeout if ctr.spec.stop_timeout is not None else DEFAULT_STOP_TIMEOUT
        wait = given if timeout is None or timeout < 0 else timeout
        if not self._wait_exited(ctr, wait):
            self.runtime.kill(ctr.id, "SIGKILL")
            self._wait_exited(ctr, 30)
        return True

    def _wait_exited(self, ctr: Container, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.watch_exits()
            if not ctr.running:
                return True
            time.sleep(0.02)
        return not ctr.running

    def restart(self, term: str, timeout: int | None = None) -> Container:
        self.stop(term, timeout)
        return self.start(term)

    def watch_exits(self) -> list[Container]:
        """Handle every container whose process has exited; start those whose restart
        delay is over. Cheap when nothing happened: one directory listing."""
        exit_dir = self.config.exec_root / "exits"
        done: list[Container] = []
        with self._lock:
            try:
                names = os.listdir(exit_dir)
            except FileNotFoundError:
                names = []
            for container_id in names:
                ctr = self._containers.get(container_id)
                if ctr is None or ctr.state.status != "running":
                    continue
                code = oci.read_exit_code(exit_dir, container_id)
                if code is None:
                    continue
                self._on_exit(ctr, code)
                done.append(ctr)
            now = time.monotonic()
            for container_id, due in list(self._restart_due.items()):
                if due <= now:
                    del self._restart_due[container_id]
                    ctr2 = self._containers.get(container_id)
                    if ctr2 is not None and ctr2.state.status == "restarting" and not ctr2.state.stopped_by_user:
                        self._restart_now(ctr2)
        return done

    def _on_exit(self, ctr: Container, code: int) -> None:
        finished = _now()
        restart = self._should_restart(replace(ctr, state=replace(ctr.state, exit_code=code)))
        if restart and _seconds_between(ctr.state.started_at, finished) >= 10:
            self._backoff.pop(ctr.id, None)  # Docker: a run of 10 s resets the back-off
        status = "restarting" if restart else "exited"
        ctr.state = replace(ctr.state, status=status, exit_code=code, pid=0, finished_at=finished, paused=False)
        self._save(ctr)  # the exit file goes only once the code is safe in the store
        (self.config.exec_root / "exits" / ctr.id).unlink(missing_ok=True)
        self._teardown(ctr, ctr.sandbox_id)
        self._save(ctr)
        log.info("container exited name=%s code=%d", ctr.name, code)
        if restart:
            attempts = self._backoff.get(ctr.id, 0)
            self._backoff[ctr.id] = attempts + 1
            self._restart_due[ctr.id] = time.monotonic() + min(0.1 * (2**attempts), 60.0)
            return
        if ctr.spec.auto_remove:
            self._remove(ctr, volumes=True)  # --rm takes its anonymous volumes too

    def _should_restart(self, ctr: Container) -> bool:
        policy = ctr.spec.restart_policy
        if ctr.state.stopped_by_user or policy.name == "no":
            return False
        if policy.name == "on-failure":
            if ctr.state.exit_code == 0:
                return False
            return policy.maximum_retry_count == 0 or ctr.state.restart_count < policy.maximum_retry_count
        return policy.name in ("always", "unless-stopped")

    def _restart_now(self, ctr: Container) -> None:
        ctr.state.restart_count += 1
        try:
            self._start(ctr)
        except Exception as exc:  # one container's failure must not stop the watcher
            log.error("restart of %s failed: %s", ctr.name, exc)
            ctr.state.status = "exited"
            self._save(ctr)

    def _teardown(self, ctr: Container, sandbox_id: str) -> None:
        """Remove the process's traces, the root filesystem mount and the sandbox; tries all."""
        for step, args in (
            (self.runtime.delete, (ctr.id,)),
            (rootfs.release, (self.dir(ctr.id),)),
        ):
            try:
                step(*args)  # type: ignore[operator]
            except SeawayError as exc:
                log.error("teardown of %s: %s", ctr.name, exc)
        if sandbox_id and self.resolver is not None:
            self.resolver.detach(sandbox_id)
        if sandbox_id and self._feed is not None:
            self._feed.leaving(sandbox_id)
        if sandbox_id:
            try:
                self.engine.remove_sandbox(sandbox_id)
            except SeawayError as exc:
                log.error("teardown of %s: %s", ctr.name, exc)
        self._owners.pop(sandbox_id, None)
        ctr.sandbox_id = ""

    # ------------------------------------------------------------- remove

    def remove(self, term: str, force: bool = False, volumes: bool = False) -> None:
        """``volumes``: also its anonymous volumes (``docker rm -v``)."""
        with self._lock:
            ctr = self.get(term)
            if ctr.running and not force:
                raise Conflict(
                    f"You cannot remove a running container {ctr.id}. Stop the container before "
                    f"attempting removal or force remove"
                )
            if ctr.state.status == "restarting":
                self._restart_due.pop(ctr.id, None)
                ctr.state.status = "exited"
            if ctr.running:
                ctr.state.stopped_by_user = True
                self._restart_due.pop(ctr.id, None)
                self.runtime.kill(ctr.id, "SIGKILL")
                if ctr.state.paused:  # a frozen process takes its SIGKILL once thawed
                    self.runtime.resume(ctr.id)
        if ctr.running:
            self._wait_exited(ctr, 30)
        with self._lock:
            if ctr.running:  # the exit never arrived: take it down anyway
                self._teardown(ctr, ctr.sandbox_id)
            self._remove(ctr, volumes)

    def remove_link(self, term: str, alias: str) -> None:
        """``DELETE /containers/<parent>/<alias>?link=true``: the parent forgets the legacy
        link; a running parent's ``/etc/hosts`` loses its line (its environment keeps
        the variables until the next start), as with dockerd."""
        with self._lock:
            try:
                ctr = self.get(term)
            except NotFound:
                raise NotFound(f"No such container: {term}/{alias}") from None
            kept = tuple(text for text in ctr.spec.links if links.parse(text).alias != alias)
            if kept == ctr.spec.links:
                raise NotFound(f"No such container: {term}/{alias}")
            ctr.spec = replace(ctr.spec, links=kept)
            self._save(ctr)
            if ctr.running and ctr.sandbox_id and netmode.target_of(ctr.spec.network_mode) is None:
                nets = [self.engine.network(n) for n in ctr.networks]
                entries = []
                for text in kept:  # the links left, whose containers still run
                    try:
                        entries += [
                            entry for entry, _ in self._linked(replace(ctr, spec=replace(ctr.spec, links=(text,))))
                        ]
                    except SeawayError:
                        continue
                self._write_files(ctr, ctr.sandbox_id, nets, tuple(entries))
            log.info("link removed name=%s alias=%s", ctr.name, alias)

    def _remove(self, ctr: Container, volumes: bool = False) -> None:
        ctr.state.status = "removing"
        self._containers.pop(ctr.id, None)
        if volumes:
            self.fs.remove_anonymous(ctr)
        with self._store.transaction():
            self._store.delete_container(ctr.id)
        rootfs.release(self.dir(ctr.id))
        shutil.rmtree(self.dir(ctr.id), ignore_errors=True)
        self._removed.add(ctr.id)
        log.info("container removed name=%s", ctr.name)

    # ------------------------------------------------------------- networks of a container

    def connect(self, term: str, network_term: str, endpoint: EndpointSpec) -> None:
        with self._lock:
            ctr = self.get(term)
            net = self.engine.network(network_term)
            current = [self.engine.network(n) for n in ctr.networks]
            if netmode.target_of(ctr.spec.network_mode) is not None:
                raise Forbidden(netmode.SHARED_CANNOT_CONNECT)
            rules.check_membership(current, net, ctr.name)
            check_endpoint_settings(net, endpoint)
            joined = {**ctr.networks, net.id: endpoint}
            if ctr.running and ctr.sandbox_id:  # the container's record changes with the endpoint's, atomically
                self.engine.connect(ctr.sandbox_id, net.id, endpoint, record=lambda: self._save_networks(ctr, joined))
            else:
                self._save_networks(ctr, joined)
            ctr.networks = joined  # readers on the loop iterate it
            if ctr.running and ctr.sandbox_id:
                self._gateway_bridge(ctr.sandbox_id, [*current, net])
                self._start_resolver(ctr, self.engine.sandbox(ctr.sandbox_id).key, [*current, net])
                if self._feed is not None:
                    self._feed.joined(ctr, [net.id])

    def disconnect(self, term: str, network_term: str, force: bool = False) -> None:
        with self._lock:
            net = self.engine.network(network_term)
            try:
                ctr = self.get(term)
            except NotFound:
                if force:
                    return
                raise
            if net.id not in ctr.networks:
                raise Forbidden(f"container {ctr.id} is not connected to network {net.name}")
            rules.check_leave(net)
            left = {k: v for k, v in ctr.networks.items() if k != net.id}
            if ctr.running and ctr.sandbox_id:
                if self._feed is not None:
                    self._feed.leaving(ctr.sandbox_id, [net.id])
                self.engine.disconnect(ctr.sandbox_id, net.id, record=lambda: self._save_networks(ctr, left))
            else:
                self._save_networks(ctr, left)
            ctr.networks = left
            if ctr.running and ctr.sandbox_id:
                self._gateway_bridge(ctr.sandbox_id, [self.engine.network(n) for n in left])
            if ctr.running and ctr.sandbox_id and self.resolver is not None:
                self.resolver.set_view(ctr.sandbox_id, self._view(ctr))

    def _gateway_bridge(self, sandbox_id: str, nets: list[Network]) -> None:
        """Docker's ``docker_gwbridge``: a sandbox on a non-internal swarm-scoped network
        gets an endpoint there too, for its default route out (masqueraded; ICC off, so
        containers can't reach each other through it); it is not one of the container's
        networks (inspect does not show it). It goes with the last such network."""
        try:
            gateway = self.engine.network(GATEWAY_BRIDGE)
        except NotFound:
            return  # not in a swarm
        wanted = any(n.multi_host and not n.internal for n in nets)
        present = self.engine.view.endpoint_in(sandbox_id, gateway.id) is not None
        if wanted and not present:
            self.engine.connect(sandbox_id, gateway.id, EndpointSpec())
        elif present and not wanted:
            self.engine.disconnect(sandbox_id, gateway.id)

    def forget_network(self, network_id: str) -> None:
        """A network was removed: stopped containers no longer refer to it."""
        with self._lock:
            for ctr in self._containers.values():
                if network_id in ctr.networks and not ctr.running:
                    ctr.networks = {k: v for k, v in ctr.networks.items() if k != network_id}
                    self._save(ctr)

    # ------------------------------------------------------------- health (doctor, repair)

    def exclusive(self) -> threading.RLock:
        """The manager's lock (take it before the engine's, as operations do)."""
        return self._lock

    def refresh_all_records(self) -> None:
        """Rebuild the embedded DNS records of every network (after a repair)."""
        with self._lock:
            if self._feed is not None:
                self._feed.rebuild(c for c in self._containers.values() if c.running and c.sandbox_id)

    # ------------------------------------------------------------- after a daemon restart

    def recover(self) -> None:
        """Match records with what runc knows; exited meanwhile -> real exit code;
        restart-policy containers -> started again."""
        with self._lock:
            for ctr in list(self._containers.values()):
                status = self.runtime.status(ctr.id)
                if ctr.state.status not in ("running", "restarting"):
                    if ctr.sandbox_id or status is not None:  # a start the crash interrupted
                        self._teardown(ctr, ctr.sandbox_id)
                        self._save(ctr)
                    continue
                if status == "running":
                    if ctr.state.status == "restarting":  # restarted just before the crash
                        ctr.state.status = "running"
                        self._save(ctr)
                    self._reattach_resolver(ctr)
                    continue
                code = oci.read_exit_code(self.config.exec_root / "exits", ctr.id)
                if ctr.state.status == "running":
                    self._on_exit(ctr, code if code is not None else 255)
                if ctr.state.status == "restarting":
                    self._restart_due[ctr.id] = time.monotonic()
            for ctr in list(self._containers.values()):
                policy = ctr.spec.restart_policy.name
                if (
                    ctr.state.status == "exited"
                    and not ctr.running
                    and policy == "always"
                    and ctr.state.stopped_by_user
                ):
                    # Docker: "always" containers stopped by hand start again with the daemon
                    ctr.state.stopped_by_user = False
                    ctr.state.status = "restarting"
                    self._restart_due[ctr.id] = time.monotonic()
            referenced = {c.sandbox_id for c in self._containers.values() if c.sandbox_id}
            for sb in self.engine.sandboxes():
                if sb.id not in referenced:
                    log.warning("removing sandbox %s that no container owns", sb.name)
                    try:
                        self.engine.remove_sandbox(sb.id)
                    except SeawayError as exc:
                        log.error("removing sandbox %s: %s", sb.name, exc)
        self.watch_exits()


def _seconds_between(start: str, end: str) -> float:
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (b - a).total_seconds()


def _write_unless_edited(path: Path, content: str) -> None:
    """Write a file Seaway owns, unless the user changed what Seaway last wrote (a
    ``.hash`` file beside it remembers that), as Docker does for resolv.conf."""
    import hashlib

    stamp = path.with_name(path.name + ".hash")
    if path.exists() and stamp.exists() and hashlib.sha256(path.read_bytes()).hexdigest() != stamp.read_text().strip():
        return
    path.write_text(content)
    stamp.write_text(hashlib.sha256(content.encode()).hexdigest())


def _valid_name(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*", name))


def _signal_name(signal: str) -> str:
    """Docker accepts ``SIGTERM``, ``TERM`` or ``15``; runc wants a name."""
    text = str(signal).strip().upper()
    if text.isdigit():
        try:
            return signals.Signals(int(text)).name
        except ValueError:
            raise InvalidParameter(f"Invalid signal: {signal}") from None
    name = text if text.startswith("SIG") else f"SIG{text}"
    if name not in signals.Signals.__members__:
        raise InvalidParameter(f"Invalid signal: {signal}")
    return name


def _copy_or_default(source: Path, target: Path, default: str) -> None:
    try:
        target.write_text(source.read_text())
    except OSError:
        target.write_text(default)


def _to_doc(ctr: Container) -> dict[str, Any]:
    return asdict(ctr)


def _from_doc(doc: dict[str, Any]) -> Container:
    spec_doc = dict(doc["spec"])
    spec_doc["restart_policy"] = RestartPolicy(**spec_doc["restart_policy"])
    spec_doc["endpoints"] = {k: _endpoint(v) for k, v in spec_doc["endpoints"].items()}
    for key in ("cmd", "entrypoint", "env", "dns", "dns_search", "dns_options", "extra_hosts", "exposed_ports"):
        spec_doc[key] = tuple(spec_doc[key])
    spec_doc["links"] = tuple(spec_doc.get("links", ()))
    spec_doc["ports"] = tuple(PortRequest(**r) for r in spec_doc.get("ports", ()))
    spec_doc["resources"] = Resources(**_tuples(spec_doc.get("resources", {}), ("device_cgroup_rules",)))
    spec_doc["process"] = ProcessOptions(**_tuples(spec_doc.get("process", {}), ("cap_add", "cap_drop", "group_add")))
    spec_doc["mounts"] = tuple(
        MountSpec(**{**m, "labels": tuple(tuple(kv) for kv in m.get("labels", ()))}) for m in spec_doc.get("mounts", ())
    )
    for key in ("volumes", "volumes_from"):
        spec_doc[key] = tuple(spec_doc.get(key, ()))
    return Container(
        id=doc["id"],
        name=doc["name"],
        created=doc["created"],
        spec=ContainerSpec(**spec_doc),
        image_id=doc["image_id"],
        state=ContainerState(**doc["state"]),
        sandbox_id=doc["sandbox_id"],
        networks={k: _endpoint(v) for k, v in doc["networks"].items()},
    )


def _tuples(doc: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: tuple(v) if k in keys else v for k, v in doc.items()}


def _endpoint(doc: dict[str, Any]) -> EndpointSpec:
    fields = dict(doc)
    for key in ("aliases", "link_local_ips", "links"):
        fields[key] = tuple(fields.get(key, ()))
    return EndpointSpec(**fields)
