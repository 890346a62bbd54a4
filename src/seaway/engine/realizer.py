"""The realizer: the one path that makes the kernel match records.

Every operation (create, connect, disconnect, remove), start-up reconciliation and
``repair`` program the kernel through these methods, and so will the cluster's agent.
Each ``ensure_*`` is idempotent (it makes what is missing and leaves what is there) and
pushes one undo per step it took; each ``remove_*`` succeeds when the objects are gone.
Whether something is there is judged against the driver's own description of it
(``expect_network``/``expect_endpoint``), the same one ``seaway system doctor`` checks.

Must run in the host's namespace (the engine's own).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from seaway.drivers.base import EndpointFirewall, Firewalled, NetworkDriver, Plugin
from seaway.errors import InvalidParameter
from seaway.firewall import elements
from seaway.kernel import links, netns, sandbox
from seaway.kernel.netns import RouteSocket
from seaway.kernel.nftnl import ElementSocket
from seaway.model.endpoint import Endpoint, Sandbox, SandboxMode
from seaway.model.expected import Expected, HostLink
from seaway.model.gateway import pick_default_routes
from seaway.model.network import Network


class Realizer:
    def __init__(self, drivers: Mapping[str, NetworkDriver], host: RouteSocket, element_socket: ElementSocket) -> None:
        self._drivers = drivers
        self._host = host
        self._elements = element_socket

    # ------------------------------------------------------------ networks

    def ensure_network(self, net: Network, undo: ExitStack, *, firewall: bool = True) -> None:
        """The network's kernel objects (and, unless the whole ruleset follows, its
        firewall elements) present."""
        driver = self._drivers[net.driver]
        driver.create_network(net, undo)
        rules = driver.firewall_network(net) if isinstance(driver, Firewalled) else None
        if firewall and rules is not None:  # elements only: the socket, no nft process (its cache grows)
            self._elements.apply(elements.add_network(rules), f"network {net.name}")
            undo.callback(self._elements.apply, elements.remove_network(rules), f"network {net.name}")

    def remove_network(self, net: Network) -> None:
        driver = self._drivers[net.driver]
        rules = driver.firewall_network(net) if isinstance(driver, Firewalled) else None
        if rules is not None:
            self._elements.apply(elements.remove_network(rules), f"network {net.name}")
        driver.delete_network(net)

    # ------------------------------------------------------------ sandboxes

    def ensure_sandbox(self, sb: Sandbox, undo: ExitStack) -> None:
        if sb.mode == SandboxMode.HOST or netns.is_pinned(Path(sb.key)):
            return
        undo.callback(netns.remove, Path(sb.key))  # a namespace made but not set up too
        sandbox.create(sb.key)

    def remove_sandbox(self, sb: Sandbox) -> None:
        if sb.mode != SandboxMode.HOST:
            netns.remove(Path(sb.key))

    # ------------------------------------------------------------ endpoints

    def ensure_endpoint(
        self,
        sb: Sandbox,
        net: Network,
        ep: Endpoint,
        members: list[tuple[Endpoint, Network]] | None,
        undo: ExitStack,
        *,
        fresh: bool = False,
        firewall: bool = True,
    ) -> bool:
        """The endpoint joined, addressed and up in its sandbox, with the sandbox's default
        routes chosen among ``members`` (its endpoints, this one included; None: leave the
        routes to ``set_routes``). ``fresh``: a new endpoint, nothing of it can exist yet.
        An endpoint found whole is left alone; a half-made one is taken apart and made
        again. Returns whether anything was made."""
        driver = self._drivers[net.driver]
        if not fresh:
            if self.endpoint_present(sb, net, ep):
                return False
            driver.leave(net, ep, sb.key)  # whatever half is left
            if ep.ifname and ep.ifname in sandbox.interface_names(sb.key):
                raise InvalidParameter(f"interface {ep.ifname} is taken in sandbox {sb.name}")
        if firewall:  # the port is guarded (and ICC-filtered) before it exists: its name is known
            self._apply_endpoint_firewall(net, ep, "add")
            undo.callback(self._apply_endpoint_firewall, net, ep, "remove")
        interface = driver.join(net, ep, sb.key, undo)
        joined = self.as_joined(net, ep)
        if members is not None and joined is not ep:  # the plugin named the interface and gateways
            members = [(joined, n) if e.id == ep.id else (e, n) for e, n in members]
        routes = _routes(sb, members) if members is not None else None
        if interface is not None or routes is not None:
            sandbox.configure(sb.key, interface, routes)
        return True

    def as_joined(self, net: Network, ep: Endpoint) -> Endpoint:
        """The endpoint as its driver joined it: a plugin's ``Join`` answer names the
        interface (``DstPrefix``) and the gateways; other drivers keep the plan."""
        driver = self._drivers[net.driver]
        return driver.joined(ep) if isinstance(driver, Plugin) else ep

    def remove_endpoint(self, sb: Sandbox | None, net: Network, ep: Endpoint) -> None:
        self._drivers[net.driver].leave(net, ep, sb.key if sb is not None else None)
        self._apply_endpoint_firewall(net, ep, "remove")

    def set_routes(self, sb: Sandbox, members: list[tuple[Endpoint, Network]]) -> None:
        """Re-choose the sandbox's default routes (after an endpoint left or was remade)."""
        routes = _routes(sb, members)
        if routes is not None and netns.is_pinned(Path(sb.key)):
            sandbox.configure(sb.key, None, routes)

    def endpoint_present(self, sb: Sandbox, net: Network, ep: Endpoint) -> bool:
        """The endpoint's kernel objects exist as its driver describes them. Host-side
        links are asked for by name (no dump); the sandbox is entered only when the
        description has nothing on the host side (a veth's peer lives and dies with it)."""
        return self.present(self._drivers[net.driver].expect_endpoint(net, ep), sb.key)

    def first_missing_link(self, expected: Expected) -> HostLink | None:
        """The first described host link that does not exist (one ioctl each, no netlink:
        cheap enough for every endpoint on every watchdog round)."""
        for link in expected.host_links:
            if links.index_here(link.name) is None:
                return link
        return None

    def present(self, expected: Expected, sandbox_key: str | None) -> bool:
        for link in expected.host_links:
            if link.master:
                master = links.link_master(self._host, link.name)
                if master is None or master != links.index_here(link.master):
                    return False
            elif links.index_here(link.name) is None:
                return False
        if expected.host_links or not expected.sandbox_links:
            return True
        if sandbox_key is None or not netns.is_pinned(Path(sandbox_key)):
            return False
        inside = sandbox.interface_names(sandbox_key)
        return all(link.name in inside for link in expected.sandbox_links)

    def endpoint_firewall(self, net: Network, ep: Endpoint) -> EndpointFirewall | None:
        driver = self._drivers[net.driver]
        return driver.firewall_endpoint(net, ep) if isinstance(driver, Firewalled) else None

    def _apply_endpoint_firewall(self, net: Network, ep: Endpoint, op: str) -> None:
        wall = self.endpoint_firewall(net, ep)
        if wall is None:
            return
        batches = []
        if wall.guard is not None:
            batches += elements.guard(wall.guard) if op == "add" else elements.unguard(wall.guard)
        if wall.icc_off_port:
            port = wall.icc_off_port
            batches += elements.add_icc_off_port(port) if op == "add" else elements.remove_icc_off_port(port)
        if batches:
            self._elements.apply(batches, f"endpoint {ep.name}")


def _routes(sb: Sandbox, members: list[tuple[Endpoint, Network]]) -> sandbox.Routes | None:
    if sb.mode != SandboxMode.PRIVATE:
        return None
    return pick_default_routes(m for m in members if m[0].ifname)
