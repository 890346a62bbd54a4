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


def hosts_file(
    hostname: str,
    addresses: list[str],
    extra_hosts: tuple[str, ...],
    ipv6: bool = True,
    domainname: str = "",
    links: tuple[tuple[str, str], ...] = (),
) -> str:
    """Docker's defaults, ``--add-host`` entries, legacy links (``(ip, names)``), then the
    container's own address with its names."""
    lines = [f"{ip}\t{names}" for ip, names in DEFAULT_ENTRIES if ipv6 or ":" not in ip]
    for entry in extra_hosts:
        ip, name = parse_extra_host(entry)
        lines.append(f"{ip}\t{name}")
    lines += [f"{ip}\t{names}" for ip, names in links]
    names = own_names(hostname, domainname)
    for address in addresses:
        lines.append(f"{address}\t{names}")
    return "\n".join(lines) + "\n"


def own_names(hostname: str, domainname: str) -> str:
    """The container's own line, as Docker: the FQDN (``hostname.domainname``, or a hostname
    given with dots) followed by the bare host name."""
    fqdn = f"{hostname}.{domainname}" if domainname else hostname
    bare = fqdn.split(".", 1)[0]
    return f"{fqdn} {bare}" if bare != fqdn else fqdn


def hostname_file(hostname: str) -> str:
    return hostname + "\n"
