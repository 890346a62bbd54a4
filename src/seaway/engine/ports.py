"""Published ports, all in one place: choosing host ports, holding them against other
programs, and the DNAT elements that forward them (Docker's
``ProgramExternalConnectivity``).

``PortPublisher`` owns Seaway's table of host ports in use (``HostPorts``), the bound
sockets that hold them (``PortHolds``) and sends the map elements through the engine's
nfnetlink element socket. Only endpoints of drivers that can publish
(``PublishesPorts``) get ports; the engine picks the sandbox's gateway endpoint.
"""

from __future__ import annotations

import ipaddress
import logging
from contextlib import ExitStack

from seaway.drivers.base import PublishesPorts
from seaway.errors import Conflict, InvalidParameter, SeawayError, Unavailable, Unsupported
from seaway.firewall import elements
from seaway.ipam.hostports import DEFAULT_EPHEMERAL, HostPorts
from seaway.kernel import portholds
from seaway.kernel.nftnl import ElementSocket
from seaway.model.endpoint import Endpoint
from seaway.model.network import IPAddress, Network
from seaway.model.ports import PortMapping, PortRequest

log = logging.getLogger(__name__)

Taken = tuple[str, IPAddress, list[int]]  # protocol, host address, the ports taken on it


class PortPublisher:
    def __init__(self, element_socket: ElementSocket) -> None:
        self._elements = element_socket
        self._host_ports = HostPorts(portholds.ephemeral_range() or DEFAULT_EPHEMERAL)
        self._holds = portholds.PortHolds()

    def close(self) -> None:
        self._holds.close()

    def reset(self) -> None:
        """Forget every port (start-up: the store's are taken back with ``rehold``)."""
        self._holds.close()
        self._host_ports = HostPorts(self._host_ports.ephemeral)

    def publish(
        self, driver: PublishesPorts, net: Network, ep: Endpoint, requests: tuple[PortRequest, ...], undo: ExitStack
    ) -> list[PortMapping]:
        """Take and hold the host ports and forward them; undone by ``undo``."""
        try:
            mappings = self._hold(driver, net, ep, requests, undo)
            self._elements.apply(elements.publish(mappings), f"ports of {ep.name}")
            # the removal's elements are worked out only if it comes to that
            undo.callback(lambda: self._elements.apply(elements.unpublish(mappings), f"ports of {ep.name}"))
        except (Conflict, Unavailable, Unsupported, InvalidParameter) as exc:
            raise type(exc)(
                f"driver failed programming external connectivity on endpoint {ep.name} ({ep.id}): {exc}"
            ) from None
        return mappings

    def unpublish(self, ep: Endpoint) -> None:
        if ep.ports:
            self._elements.apply(elements.unpublish(list(ep.ports)), f"ports of {ep.name}")
            for m in ep.ports:
                self._holds.release(m.proto, m.host_ip, m.host_port)
                self._host_ports.release(m.proto, m.host_ip, m.host_port)

    def rehold(self, ep: Endpoint) -> None:
        """At start-up: take the persisted ports back (the old process's sockets died with it)."""
        for m in ep.ports:
            try:
                self._host_ports.take(m.proto, m.host_ip, m.host_port)
            except Conflict as exc:
                log.error("published port of %s: %s", ep.name, exc)
                continue
            try:
                self._holds.hold(m.proto, m.host_ip, m.host_port)
            except SeawayError as exc:
                log.warning("published port of %s is forwarded, but %s", ep.name, exc)

    # ------------------------------------------------------------ choosing and holding

    def _hold(
        self, driver: PublishesPorts, net: Network, ep: Endpoint, requests: tuple[PortRequest, ...], undo: ExitStack
    ) -> list[PortMapping]:
        mappings: list[PortMapping] = []
        taken: list[Taken] = []  # one undo for them all: a 10,000-port range is one request
        undo.callback(self._release_taken, taken)

        def mapped(req: PortRequest, host_ips: list[IPAddress], port: int) -> None:
            for host_ip in host_ips:
                container_ip = ep.ipv4 if host_ip.version == 4 else ep.ipv6
                assert container_ip is not None
                mappings.append(PortMapping(req.proto, req.container_port, host_ip, port, container_ip))

        # fixed host ports (what a range becomes) are checked and held in bulk, per address
        fixed: dict[tuple[str, str], list[PortRequest]] = {}
        for req in requests:
            if req.host_port_low and req.host_port_low == req.host_port_high:
                fixed.setdefault((req.proto, req.host_ip), []).append(req)
        for (proto, _), group in fixed.items():
            host_ips = _binding_addresses(driver, net, ep, group[0])
            self._take_ports(proto, host_ips, [r.host_port_low for r in group], taken)
            for host_ip in host_ips:  # a range's 10,000 mappings in one comprehension per address
                container_ip = ep.ipv4 if host_ip.version == 4 else ep.ipv6
                assert container_ip is not None
                mappings += [
                    PortMapping(proto, r.container_port, host_ip, r.host_port_low, container_ip) for r in group
                ]
        for req in requests:
            if not (req.host_port_low and req.host_port_low == req.host_port_high):
                host_ips = _binding_addresses(driver, net, ep, req)
                mapped(req, host_ips, self._choose_port(req, host_ips, taken))
        return mappings

    def _choose_port(self, req: PortRequest, host_ips: list[IPAddress], taken: list[Taken]) -> int:
        """An ephemeral port, or the first free one of a host range: free in Seaway's table
        and bindable on every address; held from here. (Fixed ports are taken in bulk.)"""
        if not host_ips:
            return 0
        attempts = 0
        failure: SeawayError | None = None
        for port in self._host_ports.candidates(req.proto, host_ips, req.host_port_low, req.host_port_high):
            try:
                self._take_ports(req.proto, host_ips, [port], taken)
            except Conflict as exc:  # another program holds it: try the next, as Docker does
                failure = exc
                attempts += 1
                if req.host_port_low == 0 and attempts >= 10:
                    break
                continue
            if req.host_port_low == 0:
                self._host_ports.handed_out(req.proto, port)
            return port
        if req.host_port_low:
            shown = f"[{host_ips[0]}]" if host_ips[0].version == 6 else str(host_ips[0])
            raise Conflict(
                f"Bind for {shown}:{req.host_port_low}-{req.host_port_high} failed: port is already allocated"
            )
        raise failure or Unavailable("all ports are allocated")

    def _take_ports(self, proto: str, host_ips: list[IPAddress], ports: list[int], taken: list[Taken]) -> None:
        """Take the ports in Seaway's table and hold them on every address, or none."""
        start = len(taken)
        try:
            for host_ip in host_ips:
                self._host_ports.take_many(proto, host_ip, ports)
                try:
                    self._holds.hold_many(proto, host_ip, ports)
                except BaseException:
                    for port in ports:
                        self._host_ports.release(proto, host_ip, port)
                    raise
                taken.append((proto, host_ip, ports))  # the list, not a key per port
        except BaseException:
            self._release_taken(taken[start:])
            del taken[start:]
            raise

    def _release_taken(self, taken: list[Taken]) -> None:
        for proto, host_ip, ports in taken:
            for port in ports:
                self._holds.release(proto, host_ip, port)
                self._host_ports.release(proto, host_ip, port)


def _binding_addresses(driver: PublishesPorts, net: Network, ep: Endpoint, req: PortRequest) -> list[IPAddress]:
    if req.host_ip:
        host_ip = ipaddress.ip_address(req.host_ip)
        if (host_ip.version == 4 and ep.ipv4 is None) or (host_ip.version == 6 and ep.ipv6 is None):
            raise InvalidParameter(
                f"cannot publish {req.key} on {req.host_ip}: the container has no IPv{host_ip.version} "
                f"address on network {net.name} (Seaway forwards, it does not proxy between families)"
            )
        return [host_ip]
    return driver.binding_addresses(net, ep, req)
