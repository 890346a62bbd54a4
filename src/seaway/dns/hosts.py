"""A container's ``/etc/hosts``, ``/etc/hostname``, as Docker writes them. Pure."""

from __future__ import annotations

from seaway.errors import InvalidParameter

DEFAULT_ENTRIES = (
    ("127.0.0.1", "localhost"),
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::0", "ip6-localnet"),
    ("ff00::0", "ip6-mcastprefix"),
    ("ff02::1", "ip6-allnodes"),
    ("ff02::2", "ip6-allrouters"),
)


def parse_extra_host(entry: str) -> tuple[str, str]:
    """``name:ip`` (or ``name=ip``, as current Docker accepts) -> (ip, name)."""
    for sep in ("=", ":"):
        name, found, address = entry.partition(sep)
        if found and name and address:
            return address.strip("[]"), name
    raise InvalidParameter(f"invalid IP address in add-host: {entry!r}")


def hosts_file(hostname: str, addresses: list[str], extra_hosts: tuple[str, ...], ipv6: bool = True) -> str:
    lines = [f"{ip}\t{names}" for ip, names in DEFAULT_ENTRIES if ipv6 or ":" not in ip]
    for entry in extra_hosts:
        ip, name = parse_extra_host(entry)
        lines.append(f"{ip}\t{name}")
    for address in addresses:
        lines.append(f"{address}\t{hostname}")
    return "\n".join(lines) + "\n"


def hostname_file(hostname: str) -> str:
    return hostname + "\n"
