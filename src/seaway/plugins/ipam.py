"""The remote IPAM driver: an IPAM plugin speaking Docker's ``IpamDriver`` protocol
(libnetwork's ``ipams/remote``), used by ``docker network create --ipam-driver NAME``
with any network driver.

On activation ``GetCapabilities`` (optional: a 404 means none). A network's pools are
allocated as libnetwork does (``Network.ipamAllocate``): ``GetDefaultAddressSpaces``,
then per IPv4 config (one empty config when none was given) and, with IPv6, per IPv6
config: ``RequestPool``; the gateway from the pool's ``com.docker.network.gateway`` data
unless the user gave one, else ``RequestAddress`` of type gateway; each aux address
``RequestAddress``. A failure releases everything the create was given. Removal
releases the gateway and aux addresses, then the pool. Endpoints' addresses are
``RequestAddress``/``ReleaseAddress`` on the pool (``RemotePool``, the engine's
``AddressPool``), with the MAC when the plugin ``RequiresMACAddress``. The plugin keeps
its leases: after a restart Seaway asks it nothing again.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from dataclasses import dataclass, replace
from typing import Any

from seaway.errors import InternalError, InvalidParameter
from seaway.model.network import IPAddress, IPAMConfigSpec, Subnet
from seaway.plugins.client import MethodNotFound, PluginClient, PluginError
from seaway.plugins.registry import IPAM_DRIVER, Plugins

log = logging.getLogger(__name__)

GATEWAY = "com.docker.network.gateway"  # libnetwork's netlabel.Gateway
REQUEST_ADDRESS_TYPE = "RequestAddressType"
MAC_ADDRESS = "com.docker.network.endpoint.macaddress"


@dataclass(frozen=True, slots=True)
class Capabilities:
    requires_mac_address: bool = False
    requires_request_replay: bool = False


class RemoteIpam:
    def __init__(self, name: str, plugins: Plugins) -> None:
        self.name = name
        self._plugins = plugins
        self._lock = threading.Lock()
        self._client: PluginClient | None = None
        self.capabilities = Capabilities()

    def activate(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            client = self._plugins.get(self.name, IPAM_DRIVER)
            try:
                caps = _call(client, "GetCapabilities", None)
                self.capabilities = Capabilities(
                    bool(caps.get("RequiresMACAddress")), bool(caps.get("RequiresRequestReplay"))
                )
            except MethodNotFound:
                log.info("remote ipam driver %s does not support capabilities", self.name)
            self._client = client

    def call(self, method: str, body: Any) -> dict[str, Any]:
        self.activate()
        assert self._client is not None
        return _call(self._client, method, body)

    # ------------------------------------------------------------ a network's pools

    def allocate_subnets(
        self, configs: tuple[IPAMConfigSpec, ...], enable_ipv6: bool, options: dict[str, str]
    ) -> tuple[Subnet, ...]:
        """The network's pools, gateways and aux addresses, from the plugin; on a failure
        whatever it was given back is released."""
        spaces = self.call("GetDefaultAddressSpaces", None)
        space = str(spaces.get("LocalDefaultAddressSpace", ""))
        by_version: dict[int, list[IPAMConfigSpec]] = {4: [], 6: []}
        for config in configs:
            by_version[_version(config)].append(config)
        made: list[Subnet] = []
        try:
            for version in (4, 6) if enable_ipv6 else (4,):
                for config in by_version[version] or [IPAMConfigSpec()]:
                    made.append(self._allocate(space, config, options, version == 6, made))
        except BaseException:
            self.release_subnets(tuple(made))
            raise
        if by_version[6] and not enable_ipv6:
            self.release_subnets(tuple(made))
            raise InvalidParameter(
                f"invalid network config:\nIPv6 subnet {by_version[6][0].subnet} given but IPv6 is not "
                f"enabled on this network (use --ipv6)"
            )
        return tuple(made)

    def _allocate(
        self, space: str, config: IPAMConfigSpec, options: dict[str, str], v6: bool, made: list[Subnet]
    ) -> Subnet:
        answer = self.call(
            "RequestPool",
            {"AddressSpace": space, "Pool": config.subnet, "SubPool": config.ip_range, "Options": options, "V6": v6},
        )
        pool_id = str(answer.get("PoolID", ""))
        pool = _cidr(str(answer.get("Pool", ""))).network
        data = answer.get("Data") or {}
        ip_range = ipaddress.ip_network(config.ip_range, strict=False) if config.ip_range else None
        made.append(Subnet(pool, ip_range, None, {}, bool(config.subnet), pool_id=pool_id, address_space=space))
        # from here on ``made[-1]`` holds what the plugin gave, to be released on a failure
        if data.get(GATEWAY) and not config.gateway:
            made[-1] = replace(made[-1], gateway=_cidr(str(data[GATEWAY])).ip)
        else:
            try:
                gateway = self.request_address(pool_id, config.gateway, {REQUEST_ADDRESS_TYPE: GATEWAY})
            except PluginError as exc:
                raise PluginError(f"failed to allocate gateway ({config.gateway}): {exc}") from exc
            made[-1] = replace(made[-1], gateway=gateway)
        for key, text in config.aux_addresses.items():
            address = _ip(text)
            if address not in pool:
                raise InvalidParameter(f"auxiliary address: ({key}:{text}) must belong to the master pool: {pool}")
            aux = {**made[-1].aux_addresses, key: self.request_address(pool_id, text, None)}
            made[-1] = replace(made[-1], aux_addresses=aux)
        return made.pop()

    def request_address(self, pool_id: str, address: str, options: dict[str, str] | None) -> IPAddress:
        answer = self.call("RequestAddress", {"PoolID": pool_id, "Address": address, "Options": options})
        text = str(answer.get("Address", ""))
        if not text:
            raise PluginError("No address returned")  # libnetwork's ipamapi.ErrNoIPReturned
        return _cidr(text).ip

    def release_subnets(self, subnets: tuple[Subnet, ...]) -> None:
        """Gateways, aux addresses, then pools back to the plugin; failures are logged."""
        for s in subnets:
            for address in ([s.gateway] if s.gateway is not None else []) + list(s.aux_addresses.values()):
                self.release_quietly("ReleaseAddress", {"PoolID": s.pool_id, "Address": str(address)})
            self.release_quietly("ReleasePool", {"PoolID": s.pool_id})

    def release_quietly(self, method: str, body: Any) -> None:
        """A release: its failure is logged (libnetwork's warning), never raised."""
        try:
            self.call(method, body)
        except PluginError as exc:
            log.warning("remote ipam %s: %s: %s", self.name, method, exc)

    def pool(self, subnet: Subnet) -> RemotePool:
        return RemotePool(self, subnet)


class RemotePool:
    """One pool of a remote IPAM: the engine's ``AddressPool``."""

    def __init__(self, ipam: RemoteIpam, subnet: Subnet) -> None:
        self._ipam = ipam
        self.subnet = subnet
        self._held: set[IPAddress] = set()

    def allocate(self, mac: str = "") -> IPAddress:
        return self._request("", mac)

    def request(self, address: IPAddress, mac: str = "") -> IPAddress:
        return self._request(str(address), mac)

    def _request(self, address: str, mac: str) -> IPAddress:
        self._ipam.activate()
        options = {MAC_ADDRESS: mac} if mac and self._ipam.capabilities.requires_mac_address else None
        got = self._ipam.request_address(self.subnet.pool_id, address, options)
        if got not in self.subnet.subnet:
            self._ipam.release_quietly("ReleaseAddress", {"PoolID": self.subnet.pool_id, "Address": str(got)})
            raise InternalError(f"remote ipam {self._ipam.name} gave {got}, outside its pool {self.subnet.subnet}")
        self._held.add(got)
        return got

    def release(self, address: IPAddress) -> None:
        self._held.discard(address)
        self._ipam.release_quietly("ReleaseAddress", {"PoolID": self.subnet.pool_id, "Address": str(address)})

    def restore(self, address: IPAddress) -> None:
        self._held.add(address)

    def leases(self) -> list[IPAddress]:
        return sorted(self._held, key=int)


def _call(client: PluginClient, method: str, body: Any) -> dict[str, Any]:
    """``IpamDriver.<method>``; an answer with ``Error`` is ``remote: <Error>``."""
    answer = client.call(f"{IPAM_DRIVER}.{method}", body)
    err = answer.get("Error") or answer.get("Err")
    if err:
        raise PluginError(f"remote: {err}")
    return answer


def _version(config: IPAMConfigSpec) -> int:
    for text in (config.subnet, config.ip_range, config.gateway):
        if text:
            try:
                return ipaddress.ip_network(text, strict=False).version
            except ValueError:
                raise InvalidParameter(f"invalid network config: invalid address {text!r}") from None
    return 4


def _cidr(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise PluginError(f"invalid CIDR address: {text}") from None


def _ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"invalid address {text!r}") from None
