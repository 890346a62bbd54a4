"""``seaway system doctor``, ``gc`` and ``repair``: assemble the desired and the observed
state, compare them with ``seaway.invariants.check``, remove Seaway-owned leftovers.

The look is consistent: the container manager's lock, then the engine's (the order every
operation takes them in) are held while the store is read and the kernel is snapshotted,
so no operation is half-way. The kernel is read through ``seaway.kernel.observe`` only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from seaway.daemon.containers import Containers
from seaway.engine import Engine
from seaway.errors import SeawayError
from seaway.invariants import ContainerRecord, Desired, Finding, Observed, check, elements_of_commands
from seaway.kernel import links, netns, observe
from seaway.model.endpoint import SandboxMode
from seaway.state.store import READY

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet(engine: Engine, manager: Containers | None) -> Iterator[None]:
    with manager.exclusive() if manager is not None else contextlib.nullcontext(), engine.exclusive():
        yield


def examine(engine: Engine, manager: Containers | None = None) -> list[Finding]:
    """Every difference between store, memory, kernel and runtime; empty when all agree."""
    with _quiet(engine, manager):
        return check(*_gather(engine, manager))


def _gather(engine: Engine, manager: Containers | None) -> tuple[Desired, Observed]:
    store = engine.store
    networks, sandboxes, endpoints = store.networks(), store.sandboxes(), store.endpoints()
    view = engine.view
    containers = None
    processes: dict[str, str] = {}
    dns = None
    if manager is not None:
        containers = [
            ContainerRecord(c.id, c.name, c.state.status, c.sandbox_id, tuple(c.networks)) for c in manager.list()
        ]
        processes = manager.runtime.statuses()
        if manager.resolver is not None:
            dns = manager.resolver.records.address_records()
    desired = Desired(
        networks=networks,
        sandboxes=sandboxes,
        endpoints=endpoints,
        nft_elements=elements_of_commands(engine.firewall_commands()),
        containers=containers,
        expected=engine.expected(view),
        named_networks=frozenset(n.id for n in view.networks.values() if engine.names_members(n)),
    )
    host = netns.route_socket(None)
    strict = netns.route_socket(None, strict=True)
    try:
        observed = Observed(
            host_links=observe.links(host),
            routes=observe.seaway_routes(strict),
            namespace_files=observe.namespace_files(engine.config.netns_dir),
            sandboxes={
                sb.key: observe.sandbox(sb.key)
                for sb, state in sandboxes
                if state == READY and sb.mode != SandboxMode.HOST and netns.is_pinned(Path(sb.key))
            },
            nft_elements=observe.nft_elements(),
            leases=engine.leases(),
            dns=dns,
            processes=processes,
        )
    finally:
        host.close()
        strict.close()
    return desired, observed


def collect_garbage(engine: Engine, manager: Containers | None = None) -> tuple[list[Finding], list[Finding]]:
    """Remove every leftover the checker finds (Seaway-marked links, namespace files in
    Seaway's directory, Seaway-protocol routes, elements of Seaway's sets, sandboxes no
    container owns). Returns (removed, what remains wrong afterwards)."""
    removed: list[Finding] = []
    with _quiet(engine, manager):
        host = netns.route_socket(None)
        try:
            for finding in check(*_gather(engine, manager)):
                if not finding.leftover:
                    continue
                try:
                    _remove(engine, host, finding)
                except SeawayError as exc:
                    log.error("gc: could not remove %s %s: %s", finding.kind, finding.subject, exc)
                    continue
                log.warning("gc: removed %s %s (%s)", finding.kind, finding.subject, finding.problem)
                removed.append(finding)
        finally:
            host.close()
        return removed, check(*_gather(engine, manager))


def _remove(engine: Engine, host: netns.RouteSocket, finding: Finding) -> None:
    if finding.kind == "link":
        # checked again at the last moment: only a link that still carries the mark
        if links.owned(links.link_alias(host, finding.target)):
            links.delete_link(host, finding.target)
    elif finding.kind == "netns":
        netns.remove(engine.config.netns_dir / finding.target)
    elif finding.kind == "route":
        observe.remove_route(host, finding.target)
    elif finding.kind == "nftables":
        observe.remove_element(finding.target)
    elif finding.kind == "sandbox":
        engine.remove_sandbox(finding.object_id)


def repair(engine: Engine, manager: Containers | None = None) -> list[Finding]:
    """Reconcile now (as at start-up), refresh DNS records; returns what is still wrong."""
    with _quiet(engine, manager):
        engine.repair()
        if manager is not None:
            manager.refresh_all_records()
        return check(*_gather(engine, manager))
