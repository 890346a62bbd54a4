"""Start-up reconciliation (and ``repair``): make the kernel match the store.

Records that are not ``ready`` are interrupted operations: they are undone. Ready ones
are realized through the same ``Realizer`` every operation uses (idempotent: what is
there is kept, what is missing is made). Then kernel objects that carry the *local*
engine's ownership mark but belong to no record are removed; objects of other owners
(``seaway.model.ownership``: the cluster agent's namespaces and links) are never touched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path

from seaway.drivers.base import NetworkDriver
from seaway.engine.endpoints import EndpointPlanner
from seaway.engine.ports import PortPublisher
from seaway.engine.realizer import Realizer
from seaway.engine.snapshot import Snapshot
from seaway.errors import SeawayError
from seaway.kernel import links, netns
from seaway.kernel.netns import RouteSocket
from seaway.model import ownership
from seaway.model.endpoint import SandboxMode
from seaway.model.network import Network
from seaway.state.store import READY, Store

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        store: Store,
        drivers: Mapping[str, NetworkDriver],
        realizer: Realizer,
        addresses: EndpointPlanner,
        ports: PortPublisher,
        host: RouteSocket,
        netns_dir: Path,
        kept_marks: Callable[[], set[str]],
    ) -> None:
        self._store = store
        self._drivers = drivers
        self._realizer = realizer
        self._addresses = addresses
        self._ports = ports
        self._host = host
        self._netns_dir = netns_dir
        self._kept_marks = kept_marks

    def run(self, damage: dict[str, str]) -> Snapshot:
        """Realize every ready record; returns the snapshot of what is ready."""
        self._addresses.clear()
        self._ports.reset()
        view = self._networks(Snapshot(), damage)
        view = self._sandboxes(view)
        view = self._endpoints(view, damage)
        self._remove_stale(view)
        return view

    def _networks(self, view: Snapshot, damage: dict[str, str]) -> Snapshot:
        for net, state in self._store.networks():
            driver = self._drivers[net.driver]
            if state != READY:
                log.warning("finishing interrupted %s of network %s", state, net.name)
                _quietly(self._realizer.remove_network, net)
                with self._store.transaction():
                    self._store.delete_network(net.id)
                continue
            if not net.config_only and not driver.lazy:  # a lazy network comes with its first endpoint
                self._ensure_network(net, damage)
            self._addresses.add_network(net)
            view = view.with_network(net)
        return view

    def _ensure_network(self, net: Network, damage: dict[str, str]) -> None:
        try:
            with ExitStack() as undo:
                self._realizer.ensure_network(net, undo, firewall=False)  # the whole ruleset follows
                undo.pop_all()
            damage.pop(net.id, None)
        except SeawayError as exc:  # kept, and shown as damaged: one network must not stop the daemon
            log.error("could not repair network %s: %s", net.name, exc)
            damage[net.id] = f"could not be programmed: {exc}"

    def _sandboxes(self, view: Snapshot) -> Snapshot:
        for sb, state in self._store.sandboxes():
            alive = sb.mode == SandboxMode.HOST or netns.is_pinned(Path(sb.key))
            if state != READY or not alive:
                log.warning("removing sandbox %s (state %s, namespace present: %s)", sb.name, state, alive)
                _quietly(self._realizer.remove_sandbox, sb)
                with self._store.transaction():
                    self._store.delete_sandbox(sb.id)
                continue
            view = view.with_sandbox(sb)
        return view

    def _endpoints(self, view: Snapshot, damage: dict[str, str]) -> Snapshot:
        remade: set[str] = set()
        for ep, state in self._store.endpoints():
            net = view.networks.get(ep.network_id)
            sb = view.sandboxes.get(ep.sandbox_id)
            if state != READY or net is None or sb is None:
                log.warning("removing endpoint %s (state %s)", ep.name, state)
                if net is not None:
                    _quietly(self._realizer.remove_endpoint, sb, net, ep)
                elif ep.host_ifname:
                    _quietly(links.delete_link, self._host, ep.host_ifname)
                self._drop_endpoint(ep.id)
                continue
            if self._drivers[net.driver].lazy and not view.member_count(net.id):
                self._ensure_network(net, damage)
            try:
                with ExitStack() as undo:
                    if self._realizer.ensure_endpoint(sb, net, ep, None, undo, firewall=False):
                        log.warning("recreated endpoint %s on network %s", ep.name, net.name)
                        remade.add(sb.id)
                    undo.pop_all()
            except SeawayError as exc:
                log.error("could not recreate endpoint %s: %s; removing it", ep.name, exc)
                self._drop_endpoint(ep.id)
                continue
            view = view.with_endpoint(ep)
            self._ports.rehold(ep)
            self._addresses.lease(ep)
        for sandbox_id in remade:
            self._realizer.set_routes(view.sandboxes[sandbox_id], view.members(sandbox_id))
        return view

    def _remove_stale(self, view: Snapshot) -> None:
        """Links and namespace files marked as the local engine's that no record knows."""
        known = (
            {links.alias_for("net", i) for i in view.networks}
            | {links.alias_for("ep", i) for i in view.endpoints}
            | self._kept_marks()
        )
        for name, alias in links.owned_links(self._host, ownership.LOCAL).items():
            canonical = _canonical(alias)
            if canonical not in known:
                log.warning("removing stale link %s (%s)", name, alias)
                _quietly(links.delete_link, self._host, name)
        keys = {Path(sb.key).name for sb in view.sandboxes.values()} | {"default"}
        if self._netns_dir.is_dir():
            for entry in os.scandir(self._netns_dir):
                if ownership.netns_owner(entry.name) != ownership.LOCAL:
                    continue  # another owner's (the cluster agent's): not ours to judge
                if entry.name not in keys:
                    log.warning("removing stale network namespace %s", entry.path)
                    _quietly(netns.remove, Path(entry.path))

    def _drop_endpoint(self, endpoint_id: str) -> None:
        with self._store.transaction():
            self._store.delete_endpoint(endpoint_id)


def _canonical(alias: str) -> str:
    """A local mark in today's form (older links carry the form without an owner)."""
    found = ownership.parse(alias)
    return alias if found is None else ownership.mark(found.kind, found.object_id, found.owner)


def _quietly(fn, *args) -> None:  # type: ignore[no-untyped-def]
    """Run a clean-up step whose failure must not stop reconciliation; log it."""
    try:
        fn(*args)
    except SeawayError as exc:
        log.error("clean-up step failed: %s", exc)
