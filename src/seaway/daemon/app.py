"""``seawayd``: the composition root. Parses flags and ``--config-file``, takes the data
root's lock, starts the engine (which reconciles), recovers containers, serves the
Docker Engine API on a unix socket, and owns every long-lived task.

Exit status: 0 after SIGTERM/SIGINT (containers keep running); 1 when it cannot start,
with one line on stderr saying why (socket in use, another daemon on the data root, a
missing kernel feature or program, a bad flag or config key).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import fcntl
import gc
import grp
import json
import logging
import os
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from seaway import __version__
from seaway.bgp import announce, frrconf
from seaway.bgp.frrconf import SpeakerConfig
from seaway.bgp.speaker import Speaker
from seaway.cluster.agent import Agent
from seaway.daemon import doctor, listen
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.server import build_app
from seaway.daemon.containers import Containers
from seaway.daemon.guard import FirewallGuard
from seaway.daemon.listen import Listener, TLSFiles
from seaway.daemon.tasks import DaemonTasks
from seaway.dns.cache import AnswerCache
from seaway.dns.records import Records
from seaway.engine import Engine
from seaway.engine.config import DEFAULT_BRIDGE, DEFAULT_DATA_ROOT, DEFAULT_EXEC_ROOT, EngineConfig
from seaway.errors import InvalidParameter, SeawayError
from seaway.ipam.pools import DEFAULT_LOCAL_POOLS, parse_pool
from seaway.kernel import fdlimit
from seaway.plugins.client import DEFAULT_TIMEOUT
from seaway.plugins.discovery import DOCKER_SPEC_DIRS
from seaway.resolver.server import Resolver, ResolverThread
from seaway.resolver.stats import Stats
from seaway.resolver.upstreams import HostResolvConf

log = logging.getLogger("seawayd")

DEFAULT_HOST = "unix:///run/seaway.sock"
EXIT_WATCH_INTERVAL = 0.05
BGP_INTERVAL = 0.5  # seconds between looks at what to announce and whether FRR still runs


@dataclass(frozen=True)
class DaemonConfig:
    engine: EngineConfig
    host: str = DEFAULT_HOST
    pidfile: Path | None = None
    group: str = ""
    log_level: str = "info"
    dns: tuple[str, ...] = field(default=())
    dns_search: tuple[str, ...] = field(default=())
    dns_options: tuple[str, ...] = field(default=())
    host_resolv_conf: Path = Path("/etc/resolv.conf")
    repair_interval: float = 5.0  # seconds between looks for hand-made damage; 0: never
    dns_cache: bool = True  # keep forwarded answers for their TTL (Docker keeps none)
    dns_realtime: bool = True  # the resolver's thread real-time while it is cheap (Docker's is fair)

    tls: TLSFiles | None = None  # --tlsverify: TCP listeners demand client certificates
    bgp: SpeakerConfig | None = None  # --bgp-asn: run FRR and announce routed networks

    @property
    def listener(self) -> Listener:
        return listen.parse(self.host, self.tls)


CONFIG_KEYS = {
    "data-root", "exec-root", "hosts", "pidfile", "bip", "default-address-pools", "mtu", "dns",
    "log-level", "bridge", "icc", "ip-masq", "group", "dns-search", "dns-opts", "host-resolv-conf",
    "host-firewall", "dns-cache", "dns-realtime",
    "repair-interval", "tlsverify", "tlscacert", "tlscert", "tlskey",
    "plugin-socket-dirs", "plugin-spec-dirs", "plugin-timeout", "bgp-asn", "bgp-router-id", "bgp-peers",
}  # fmt: skip


def parse_args(argv: list[str]) -> DaemonConfig:
    p = argparse.ArgumentParser(prog="seawayd", description="Seaway's daemon: the Docker Engine API for networks")
    p.add_argument("--data-root", type=Path)
    p.add_argument("--exec-root", type=Path)
    p.add_argument("-H", "--host", action="append", default=[])
    p.add_argument("--pidfile", type=Path)
    p.add_argument("--config-file", type=Path)
    p.add_argument("--bip")
    p.add_argument("-b", "--bridge")
    p.add_argument("--default-address-pool", action="append", default=[])
    p.add_argument("--mtu", type=int)
    p.add_argument("--dns", action="append", default=[])
    p.add_argument("--dns-search", action="append", default=[])
    p.add_argument("--dns-opt", action="append", default=[])
    p.add_argument(
        "--host-resolv-conf", type=Path, help="Seaway: the host resolv.conf to follow (default /etc/resolv.conf)"
    )
    p.add_argument(
        "--repair-interval", type=float, help="Seaway: seconds between looks for damaged networks (0: never; default 5)"
    )
    p.add_argument(
        "--plugin-socket-dir",
        action="append",
        default=[],
        type=Path,
        help="Seaway: where plugin sockets are looked for (repeatable; default /run/docker/plugins, <exec-root>/plugins)",
    )
    p.add_argument(
        "--plugin-spec-dir",
        action="append",
        default=[],
        type=Path,
        help="Seaway: where plugin .spec/.json files are looked for (default /etc/docker/plugins, /usr/lib/docker/plugins)",
    )
    p.add_argument("--plugin-timeout", type=float, help="Seaway: seconds a plugin call may take (default 30, Docker's)")
    p.add_argument("--tlsverify", action="store_true", default=None, help="TCP: require client certificates")
    p.add_argument("--tlscacert")
    p.add_argument("--tlscert")
    p.add_argument("--tlskey")
    p.add_argument(
        "--dns-cache", choices=("true", "false"), help="Seaway: keep forwarded DNS answers for their TTL (default true)"
    )
    p.add_argument(
        "--dns-realtime",
        choices=("true", "false"),
        help="Seaway: schedule the embedded DNS's thread real-time while it uses under 0.8 of a CPU (default true)",
    )
    p.add_argument("--icc", choices=("true", "false"))
    p.add_argument("--ip-masq", choices=("true", "false"))
    p.add_argument("--host-firewall", choices=("true", "false"), nargs="?", const="true")
    p.add_argument("-G", "--group")
    p.add_argument("--bgp-asn", help="Seaway: run a BGP speaker (FRR) with this AS number; announces routed networks")
    p.add_argument("--bgp-router-id", help="Seaway: the speaker's router ID (an IPv4 address; default: FRR's choice)")
    p.add_argument(
        "--bgp-peer", action="append", default=[], help="Seaway: a BGP neighbour, ADDRESS[,asn=N] (repeatable)"
    )
    p.add_argument("-l", "--log-level", choices=("debug", "info", "warn", "error", "fatal"))
    p.add_argument("--version", action="version", version=f"seawayd {__version__}")
    args = p.parse_args(argv)
    file_conf: dict[str, Any] = {}
    if args.config_file:
        try:
            file_conf = json.loads(args.config_file.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidParameter(f"unable to configure the daemon with file {args.config_file}: {exc}") from None
        unknown = sorted(set(file_conf) - CONFIG_KEYS)
        if unknown:
            raise InvalidParameter(
                f"the following directives don't match any configuration option: {', '.join(unknown)}"
            )

    def pick(flag: Any, key: str, default: Any) -> Any:
        if flag not in (None, []):
            if key in file_conf:
                raise InvalidParameter(
                    f"the following directives are specified both as a flag and in the configuration file: {key}"
                )
            return flag
        return file_conf.get(key, default)

    pools_raw = pick(args.default_address_pool, "default-address-pools", [])
    pools = tuple(
        parse_pool(p if isinstance(p, str) else f"base={p.get('base')},size={p.get('size')}") for p in pools_raw
    )
    hosts = pick(args.host, "hosts", [DEFAULT_HOST])
    if len(hosts) != 1:
        raise InvalidParameter("seawayd listens on exactly one -H unix:///path or tcp://address:port")
    engine = EngineConfig(
        data_root=Path(pick(args.data_root, "data-root", DEFAULT_DATA_ROOT)),
        exec_root=Path(pick(args.exec_root, "exec-root", DEFAULT_EXEC_ROOT)),
        bridge=pick(args.bridge, "bridge", DEFAULT_BRIDGE),
        bip=pick(args.bip, "bip", ""),
        mtu=int(pick(args.mtu, "mtu", 0)),
        icc=str(pick(args.icc, "icc", "true")).lower() == "true",
        ip_masq=str(pick(args.ip_masq, "ip-masq", "true")).lower() == "true",
        host_firewall=str(pick(args.host_firewall, "host-firewall", "false")).lower() == "true",
        default_address_pools=pools or DEFAULT_LOCAL_POOLS,
        plugin_socket_dirs=_paths(pick(args.plugin_socket_dir, "plugin-socket-dirs", None)),
        plugin_spec_dirs=_paths(pick(args.plugin_spec_dir, "plugin-spec-dirs", None)) or DOCKER_SPEC_DIRS,
        plugin_timeout=float(pick(args.plugin_timeout, "plugin-timeout", DEFAULT_TIMEOUT)),
    )
    pidfile = pick(args.pidfile, "pidfile", None)
    tls = listen.tls_files(
        bool(pick(args.tlsverify, "tlsverify", False)),
        pick(args.tlscacert, "tlscacert", None),
        pick(args.tlscert, "tlscert", None),
        pick(args.tlskey, "tlskey", None),
    )
    listen.parse(hosts[0], tls)  # a bad or unsafe -H is refused before anything starts
    return DaemonConfig(
        engine=engine,
        tls=tls,
        host=hosts[0],
        pidfile=Path(pidfile) if pidfile else None,
        group=pick(args.group, "group", ""),
        log_level=pick(args.log_level, "log-level", "info"),
        dns=tuple(pick(args.dns, "dns", [])),
        dns_search=tuple(pick(args.dns_search, "dns-search", [])),
        dns_options=tuple(pick(args.dns_opt, "dns-opts", [])),
        host_resolv_conf=Path(pick(args.host_resolv_conf, "host-resolv-conf", "/etc/resolv.conf")),
        repair_interval=float(pick(args.repair_interval, "repair-interval", 5.0)),
        dns_cache=str(pick(args.dns_cache, "dns-cache", "true")).lower() == "true",
        dns_realtime=str(pick(args.dns_realtime, "dns-realtime", "true")).lower() == "true",
        bgp=frrconf.speaker_config(
            pick(args.bgp_asn, "bgp-asn", None),
            pick(args.bgp_router_id, "bgp-router-id", None),
            pick(args.bgp_peer, "bgp-peers", []),
        ),
    )


def _paths(value: Any) -> tuple[Path, ...] | None:
    if not value:
        return None
    return tuple(Path(v) for v in value)


class StartError(Exception):
    """seawayd cannot start; the message says why."""


def _lock_data_root(data_root: Path) -> int:
    data_root.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_root / "seawayd.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.read(fd, 32).decode().strip() or "?"
        os.close(fd)
        raise StartError(f"another seawayd (pid {other}) is using the data root {data_root}") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _check_socket(path: Path) -> None:
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # stale: nobody listens
        return
    finally:
        probe.close()
    raise StartError(f"the API socket {path} is in use by another process")


async def serve(config: DaemonConfig) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="seawayd"))
    listener = config.listener
    sock_path = listener.path
    lock_fd = _lock_data_root(config.engine.data_root)
    engine: Engine | None = None
    swarm: Agent | None = None
    speaker: Speaker | None = None
    runner: web.AppRunner | None = None
    serving = False  # only a socket and pidfile of our own are removed on the way out
    try:
        if sock_path is not None:
            _check_socket(sock_path)
        fdlimit.raise_limit()  # each published host port holds a socket
        engine = await asyncio.to_thread(Engine.start, config.engine)
        host_resolv = HostResolvConf(config.host_resolv_conf, override=config.dns)
        cache = AnswerCache() if config.dns_cache else None
        dns_thread = ResolverThread(config.dns_realtime)  # a loop of its own, never behind API handlers
        stats = Stats()
        stats.priority = dns_thread.priority
        resolver = Resolver(dns_thread.loop, Records(), host_resolv.servers, stats, cache=cache)
        manager = Containers(
            config.engine,
            engine,
            engine.store,
            config.host_resolv_conf,
            dns=config.dns,
            dns_search=config.dns_search,
            dns_options=config.dns_options,
            resolver=resolver,
        )
        await asyncio.to_thread(manager.load)
        await asyncio.to_thread(manager.recover)
        gc.collect()
        gc.freeze()  # start-up's objects are never scanned again: no long full collections under load
        guard = FirewallGuard(engine)
        guard.start()
        swarm = Agent(config.engine.data_root, __version__)
        swarm.attach(engine, resolver.records, DaemonTasks(manager))
        manager.add_member_listener(swarm)
        await swarm.start()  # resumes the swarm this node was in (a manager's etcd too)
        if config.bgp is not None:
            speaker = Speaker(config.engine.data_root / "bgp", config.bgp)
            await asyncio.to_thread(speaker.start, _announcements(engine))
        backend = Backend(
            config=config.engine,
            engine=engine,
            containers=manager,
            version=__version__,
            resolver=resolver,
            swarm=swarm,
        )
        runner = web.AppRunner(build_app(backend), access_log=logging.getLogger("seawayd.access"), handle_signals=False)
        await runner.setup()
        if sock_path is None:
            await web.TCPSite(runner, listener.address, listener.port, ssl_context=listener.ssl_context()).start()
            serving = True
        else:
            sock_path.parent.mkdir(parents=True, exist_ok=True)
            await web.UnixSite(runner, str(sock_path)).start()
            serving = True
            os.chmod(sock_path, 0o660)
            if config.group:
                os.chown(sock_path, -1, grp.getgrnam(config.group).gr_gid)
        if config.pidfile:
            config.pidfile.write_text(f"{os.getpid()}\n")
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR2, _dump_tasks)  # `kill -USR2`: every task's stack
        log.info("seawayd %s ready on %s (data root %s)", __version__, listener.describe(), config.engine.data_root)
        async with asyncio.TaskGroup() as tasks:
            watcher = tasks.create_task(_watch_exits(manager, stop))
            repairer = tasks.create_task(_watch_damage(engine, manager, stop, config.repair_interval))
            bgp = tasks.create_task(_watch_bgp(engine, speaker, stop)) if speaker else None
            await stop.wait()
            watcher.cancel()
            repairer.cancel()
            if bgp is not None:
                bgp.cancel()
        log.info("shutting down; containers keep running")
        guard.stop()
        backend.stopping.set()
        await asyncio.wrap_future(dns_thread.call(resolver.close_all()))
        dns_thread.stop()
        await runner.cleanup()  # no new requests
        runner = None
        await swarm.close()  # its loops, join API and etcd member (it needs the executor); the swarm state stays
        swarm = None
        if speaker is not None:  # FRR goes with the daemon (zebra takes its routes out of the kernel)
            await asyncio.to_thread(speaker.stop)
            speaker = None
        # let operations already running in worker threads finish before the store closes
        await loop.shutdown_default_executor()
    finally:
        if speaker is not None:  # start-up failed after FRR started
            await asyncio.to_thread(speaker.stop)
        if swarm is not None:  # start-up failed after the swarm resumed
            await swarm.close()
        if runner is not None:
            log.debug("closing the API")
            await runner.cleanup()
            log.debug("API closed")
        if serving and sock_path is not None:
            with contextlib.suppress(FileNotFoundError):
                sock_path.unlink()
        if engine is not None:
            engine.close()
            log.debug("engine closed")
        if config.pidfile and serving:
            with contextlib.suppress(FileNotFoundError):
                config.pidfile.unlink()
        os.close(lock_fd)


def _dump_tasks() -> None:
    for task in asyncio.all_tasks():
        task.print_stack(file=sys.stderr)


async def _watch_exits(manager: Containers, stop: asyncio.Event) -> None:
    """Notice container exits (conmon's exit files) and due restarts; log and go on."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(manager.watch_exits)
        except Exception as exc:  # a long-running loop logs and goes on
            log.error("handling container exits: %s", exc)
        await asyncio.sleep(EXIT_WATCH_INTERVAL)


async def _watch_damage(engine: Engine, manager: Containers, stop: asyncio.Event, interval: float) -> None:
    """The reconciler at run time: when a bridge or veth has vanished (deleted by hand),
    reconcile as at start-up. The look is one ioctl per bridge and per veth."""
    if interval <= 0:
        return
    unrepairable: list[str] = []  # what the last repair could not fix: not retried until it changes
    while not stop.is_set():
        await asyncio.sleep(interval)
        try:
            damage = await asyncio.to_thread(engine.damaged)
            if damage and damage != unrepairable:
                log.warning("kernel state damaged (%s); repairing", "; ".join(damage))
                remaining = await asyncio.to_thread(doctor.repair, engine, manager)
                for finding in remaining:
                    log.error("after repair: %s: %s", finding.subject, finding.problem)
                unrepairable = await asyncio.to_thread(engine.damaged)
        except Exception as exc:  # a long-running loop logs and goes on
            log.error("repairing: %s", exc)


def _announcements(engine: Engine) -> frozenset[frrconf.IPNetwork]:
    return announce.prefixes(engine.networks(), engine.endpoints_of_network)


async def _watch_bgp(engine: Engine, speaker: Speaker, stop: asyncio.Event) -> None:
    """Keep FRR running (a daemon that died is started again) and its announcements
    equal to the routed networks (and host routes) the engine has; log and go on."""
    while not stop.is_set():
        await asyncio.sleep(BGP_INTERVAL)
        try:
            await asyncio.to_thread(speaker.supervise)
            await asyncio.to_thread(speaker.announce, _announcements(engine))
        except Exception as exc:  # a long-running loop logs and goes on
            log.error("BGP: %s", exc)


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_args(sys.argv[1:] if argv is None else argv)
    except SeawayError as exc:
        print(f"seawayd: {exc}", file=sys.stderr)
        return 1
    level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(config.log_level, config.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1` prints every thread's stack to stderr
    if os.geteuid() != 0:
        print("seawayd: must run as root (it programs the kernel)", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(config))
    except StartError as exc:
        print(f"seawayd: {exc}", file=sys.stderr)
        return 1
    except SeawayError as exc:
        print(f"seawayd: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
