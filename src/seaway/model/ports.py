"""Published ports: the ``-p`` syntax, the API's ``PortBindings``, and what is shown
back (``NetworkSettings.Ports``, ``docker ps``). Pure.

Three shapes, from the user to the kernel:

* ``-p`` text (``[ip:][hostPort:]containerPort[/proto]``), parsed by the client into
  Docker's API form: ``ExposedPorts`` keys (``"80/tcp"``) and ``PortBindings``
  (``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``);
* ``PortRequest``: one binding as the daemon validated it (host port 0 = ephemeral,
  a host range = the first free port of that range);
* ``PortMapping``: one host address and port actually forwarded to one container
  address and port, per address family.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from seaway.errors import InvalidParameter
from seaway.model.network import IPAddress

PROTOCOLS = ("tcp", "udp", "sctp")
WILDCARD = {4: ipaddress.IPv4Address("0.0.0.0"), 6: ipaddress.IPv6Address("::")}


@dataclass(frozen=True, slots=True, order=True)
class PortRequest:
    """One binding of one container port, as the daemon validated it."""

    proto: str
    container_port: int
    host_ip: str = ""  # "" = the network's default binding address(es)
    host_port_low: int = 0  # 0 = ephemeral
    host_port_high: int = 0

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


@dataclass(frozen=True, slots=True)
class PortMapping:
    """One forwarded host address and port, in one address family."""

    proto: str
    container_port: int
    host_ip: IPAddress
    host_port: int
    container_ip: IPAddress

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    @property
    def family(self) -> int:
        return self.host_ip.version

    @property
    def wildcard(self) -> bool:
        return self.host_ip == WILDCARD[self.host_ip.version]


# ------------------------------------------------------------------- -p text (client side)


def _port_range(text: str) -> tuple[int, int]:
    """``"80"`` or ``"8000-8010"``; raises ValueError for anything else."""
    low_text, sep, high_text = text.partition("-")
    low = _port_number(low_text)
    high = _port_number(high_text) if sep else low
    if high < low:
        raise ValueError(text)
    return low, high


def _port_number(text: str) -> int:
    if not text.isdigit():
        raise ValueError(text)
    value = int(text)
    if value > 65535:
        raise ValueError(text)
    return value


def _split_spec(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def parse_publish(raw: str) -> list[tuple[str, dict[str, str]]]:
    """One ``-p`` value as ``(port key, binding)`` pairs, with Docker's errors."""
    ip, host, container = _split_spec(raw)
    container, _, proto = container.partition("/")
    proto = proto or "tcp"
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise InvalidParameter(f"Invalid ip address {ip}: missing ']' in address")
        ip = ip[1:-1]
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidParameter(f"Invalid ip address: {ip}") from None
    if not container:
        raise InvalidParameter(f"No port specified: {raw}<empty>")
    try:
        c_low, c_high = _port_range(container)
    except ValueError:
        raise InvalidParameter(f"Invalid containerPort: {container}") from None
    h_low = h_high = 0
    if host:
        try:
            h_low, h_high = _port_range(host)
        except ValueError:
            raise InvalidParameter(f"Invalid hostPort: {host}") from None
        if c_high - c_low != h_high - h_low and c_high != c_low:
            raise InvalidParameter(f"Invalid ranges specified for container and host Ports: {container} and {host}")
    if proto.lower() not in PROTOCOLS:
        raise InvalidParameter(f"Invalid proto: {proto}")
    out = []
    for offset in range(c_high - c_low + 1):
        if not host:
            host_port = ""
        elif c_low == c_high and h_low != h_high:
            host_port = f"{h_low}-{h_high}"
        else:
            host_port = str(h_low + offset)
        out.append((f"{c_low + offset}/{proto.lower()}", {"HostIp": ip, "HostPort": host_port}))
    return out


def parse_expose(raw: str) -> list[str]:
    """One ``--expose`` value (``80``, ``8000-8010/udp``) as port keys."""
    port, _, proto = raw.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidParameter(f"Invalid proto: {proto}")
    try:
        low, high = _port_range(port)
    except ValueError:
        raise InvalidParameter(f"Invalid range format for --expose: {raw}, error: invalid port {port}") from None
    return [f"{p}/{proto}" for p in range(low, high + 1)]


# ------------------------------------------------------------------- API (daemon side)


def parse_key(key: str) -> tuple[int, str]:
    """``"80/tcp"`` (or ``"80"``) as (port, proto); Docker's error otherwise."""
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    try:
        number = _port_number(port)
    except ValueError:
        raise InvalidParameter(f'invalid port specification: "{port}"') from None
    if proto not in PROTOCOLS:
        raise InvalidParameter(f'invalid port specification: "{key}"')
    return number, proto


def parse_bindings(bindings: dict[str, object], exposed: list[str], publish_all: bool) -> tuple[PortRequest, ...]:
    """``HostConfig.PortBindings`` (+ ``PublishAllPorts`` over ``ExposedPorts``) as requests."""
    requests: list[PortRequest] = []
    for key, items in bindings.items():
        port, proto = parse_key(key)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise InvalidParameter(f"invalid port bindings for {key}: expected a list of bindings")
        if not items and publish_all:
            items = [{}]
        for item in items:
            if not isinstance(item, dict):
                raise InvalidParameter(f"invalid port bindings for {key}: expected a list of bindings")
            requests.append(_request(port, proto, item))
    if publish_all:
        for key in exposed:
            port, proto = parse_key(key)
            if key not in bindings and f"{port}/{proto}" not in bindings:
                requests.append(PortRequest(proto, port))
    return tuple(sorted(set(requests)))


def _request(port: int, proto: str, item: dict[str, object]) -> PortRequest:
    host_ip = str(item.get("HostIp") or "").strip()
    if host_ip.startswith("[") and host_ip.endswith("]"):
        host_ip = host_ip[1:-1]
    if host_ip:
        try:
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            raise InvalidParameter(f"invalid IP address: {host_ip}") from None
    host_port = str(item.get("HostPort") or "").strip()
    low = high = 0
    if host_port:
        text = host_port.partition("/")[0]
        try:
            low, high = _port_range(text)
        except ValueError:
            raise InvalidParameter(f'invalid port specification: "{host_port}"') from None
    return PortRequest(proto, port, host_ip, low, high)


# ------------------------------------------------------------------- shown back


def settings_ports(exposed: list[str], mappings: list[PortMapping]) -> dict[str, list[dict[str, str]] | None]:
    """``NetworkSettings.Ports`` of a running container: exposed-only ports are ``null``."""
    out: dict[str, list[dict[str, str]] | None] = {key: None for key in exposed}
    for m in sorted(mappings, key=lambda m: (m.container_port, m.proto, m.family, m.host_port)):
        entries = out.get(m.key) or []
        entries.append({"HostIp": str(m.host_ip), "HostPort": str(m.host_port)})
        out[m.key] = entries
    return out


def summary_ports(exposed: list[str], mappings: list[PortMapping]) -> list[dict[str, object]]:
    """The ``Ports`` list of ``GET /containers/json`` (what ``docker ps`` renders)."""
    out: list[dict[str, object]] = []
    published = {m.key for m in mappings}
    for m in sorted(mappings, key=lambda m: (m.container_port, m.proto, m.family, str(m.host_ip))):
        out.append({"IP": str(m.host_ip), "PrivatePort": m.container_port, "PublicPort": m.host_port, "Type": m.proto})
    for key in exposed:
        if key not in published:
            port, proto = parse_key(key)
            out.append({"PrivatePort": port, "Type": proto})
    return out


def display(summary: list[dict[str, object]]) -> str:
    """The ``PORTS`` column of ``docker ps``: ``0.0.0.0:8080->80/tcp, :::8080->80/tcp``,
    consecutive ports folded into ranges (``0.0.0.0:20000-20009->20000-20009/tcp``)."""
    groups: list[list[dict[str, object]]] = []
    for p in sorted(
        summary,
        key=lambda p: (str(p.get("IP", "")), str(p["Type"]), int(p.get("PublicPort") or 0), int(p["PrivatePort"])),  # type: ignore[call-overload]
    ):
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.get("IP") == p.get("IP")
            and last["Type"] == p["Type"]
            and int(last["PrivatePort"]) + 1 == int(p["PrivatePort"])  # type: ignore[call-overload]
            and ("PublicPort" in p) == ("PublicPort" in last)
            and ("PublicPort" not in p or int(last["PublicPort"]) + 1 == int(p["PublicPort"]))  # type: ignore[call-overload]
        ):
            groups[-1].append(p)
        else:
            groups.append([p])

    def span(first: object, last: object) -> str:
        return str(first) if first == last else f"{first}-{last}"

    out = []
    for g in groups:
        private = span(g[0]["PrivatePort"], g[-1]["PrivatePort"]) + f"/{g[0]['Type']}"
        if "PublicPort" in g[0]:
            ip = str(g[0].get("IP", ""))
            host = f"[{ip}]:" if ":" in ip else f"{ip}:"
            out.append(f"{host}{span(g[0]['PublicPort'], g[-1]['PublicPort'])}->{private}")
        else:
            out.append(private)
    return ", ".join(out)


def format_mapping(m: PortMapping) -> str:
    """``0.0.0.0:8080`` / ``[::]:8080``, as ``docker port`` prints the host side."""
    host = f"[{m.host_ip}]" if m.family == 6 else str(m.host_ip)
    return f"{host}:{m.host_port}"
