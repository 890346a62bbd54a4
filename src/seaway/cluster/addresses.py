"""Which address a node advertises and listens on (``--advertise-addr``, ``--listen-addr``).

Docker's forms are accepted: ``ADDR``, ``ADDR:PORT``, ``[ADDR6]:PORT`` or an interface
name (its one global address). Without an advertise address, init picks the node's only
global address outside Seaway's own interfaces, and join the address the kernel would
send from toward the manager, as Docker does.
"""

from __future__ import annotations

import ipaddress
import socket

from seaway.errors import InvalidParameter
from seaway.kernel import links as kernel_links
from seaway.kernel import netns, observe

SWARM_PORT = 2377


def split(text: str, default_port: int = SWARM_PORT) -> tuple[str, int]:
    """``host[:port]`` (host an address or interface name) as (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if port:
        try:
            number = int(port)
        except ValueError:
            raise InvalidParameter(f"invalid port {port!r} in {text!r}") from None
        if not 0 < number < 65536:
            raise InvalidParameter(f"invalid port {port!r} in {text!r}")
        return host, number
    return host, default_port


def resolve(host: str) -> str:
    """An address as text, or the one global address of interface ``host``."""
    if not host:
        return ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    found = _global_addresses().get(host)
    if found is None:
        raise InvalidParameter(f"failed to parse address or interface name {host!r}")
    if len(found) != 1:
        raise InvalidParameter(f"interface {host} has more than one IPv4 address ({' and '.join(sorted(found))})")
    return found[0]


def pick_for_init() -> str:
    """The address to advertise when none is given (Docker's rules and texts)."""
    candidates = [(name, addr) for name, addrs in sorted(_global_addresses().items()) for addr in addrs]
    if not candidates:
        raise InvalidParameter("could not find the system's IP address - specify one with --advertise-addr")
    if len(candidates) > 1:
        (n1, a1), (n2, a2) = candidates[:2]
        raise InvalidParameter(
            "could not choose an IP address to advertise since this system has multiple addresses "
            f"on different interfaces ({a1} on {n1} and {a2} on {n2})"
        )
    return candidates[0][1]


def source_toward(remote: str) -> str:
    """The local address the kernel would use to reach ``remote`` (no packet is sent)."""
    family = socket.AF_INET6 if ":" in remote else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.connect((remote, SWARM_PORT))
        return str(s.getsockname()[0])
    except OSError as exc:
        raise InvalidParameter(f"could not find a local address to reach {remote}: {exc.strerror}") from None
    finally:
        s.close()


def _global_addresses() -> dict[str, list[str]]:
    """IPv4 addresses by interface, leaving out loopback and Seaway's own bridges and veths."""
    with netns.route_socket(None) as ipr:
        state = observe.links(ipr)
    out: dict[str, list[str]] = {}
    for name, link in state.items():
        if name == "lo" or kernel_links.owned(link.alias) or link.master:
            continue
        v4 = [a.split("/")[0] for a in link.addresses if ":" not in a]
        if v4:
            out[name] = sorted(v4)
    return out


def check_local(address: str) -> None:
    """Refuse an advertise address that is not this node's: its etcd member and join API
    listen on it (Docker can advertise a NAT address; Seaway cannot, yet)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((address, 0))
    except OSError as exc:
        raise InvalidParameter(
            f"advertise address {address} is not an address of this node ({exc.strerror}): "
            "its etcd member and join API listen on it"
        ) from None
    finally:
        s.close()
