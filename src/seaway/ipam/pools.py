"""Default address pools, subnet choice and the validation of user-given IPAM config.

Pure. The engine passes in what is taken (other networks' subnets) and what the host
reserves (its on-link routes); this module only decides.

Docker's local default pools, in order: 172.17.0.0/16 … 172.31.0.0/16 (15 × /16), then
192.168.0.0/16 cut into /20s. A subnet is chosen first-fit (current Docker): the
lowest-addressed candidate that overlaps neither another network nor a host route.
"""

from __future__ import annotations

import bisect
import hashlib
import ipaddress
from dataclasses import dataclass

from seaway.errors import Forbidden, InvalidParameter
from seaway.model.network import IPAddress, IPAMConfigSpec, IPNetwork, Subnet


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A default address pool: ``base`` cut into subnets of prefix length ``size``."""

    base: IPNetwork
    size: int

    def __post_init__(self) -> None:
        if self.size < self.base.prefixlen or self.size > self.base.max_prefixlen:
            raise InvalidParameter(
                f"invalid default address pool base={self.base},size={self.size}: "
                f"size must be between {self.base.prefixlen} and {self.base.max_prefixlen}"
            )


DEFAULT_LOCAL_POOLS: tuple[PoolSpec, ...] = tuple(
    PoolSpec(ipaddress.ip_network(base), size)
    for base, size in (
        ("172.17.0.0/16", 16),
        ("172.18.0.0/16", 16),
        ("172.19.0.0/16", 16),
        ("172.20.0.0/14", 16),
        ("172.24.0.0/14", 16),
        ("172.28.0.0/14", 16),
        ("192.168.0.0/16", 20),
    )
)

POOLS_EXHAUSTED = "all predefined address pools have been fully subnetted"
#: Seaway's addition to Docker's text: what to change
POOLS_EXHAUSTED_HINT = (
    " (every subnet of the default address pools is taken: remove unused networks (network prune), "
    "give this network an explicit --subnet, or add pools with seawayd --default-address-pool)"
)
POOL_OVERLAP = "invalid pool request: Pool overlaps with other one on this address space"


def parse_pool(text: str) -> PoolSpec:
    """Parse ``base=10.10.0.0/16,size=24`` (dockerd's ``--default-address-pool``)."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("base", "size"):
            raise InvalidParameter(f"invalid default address pool {text!r}: expected base=CIDR,size=N")
        if key.strip() in fields:
            raise InvalidParameter(f"invalid default address pool {text!r}: {key.strip()} given twice")
        fields[key.strip()] = value.strip()
    if set(fields) != {"base", "size"}:
        raise InvalidParameter(f"invalid default address pool {text!r}: expected base=CIDR,size=N")
    try:
        base = ipaddress.ip_network(fields["base"])
        size = int(fields["size"])
    except ValueError as exc:
        raise InvalidParameter(f"invalid default address pool {text!r}: {exc}") from None
    return PoolSpec(base, size)


def ula_pool(host_id: str) -> PoolSpec:
    """Current Docker's IPv6 default: a ULA /48 derived from the host ID, cut into /64s."""
    digest = hashlib.sha256(host_id.encode()).digest()
    global_id = int.from_bytes(digest[:8], "big") & ((1 << 40) - 1)
    base = (0xFD << 120) | (global_id << 80)
    return PoolSpec(ipaddress.IPv6Network((base, 48)), 64)


class Occupancy:
    """Taken prefixes merged into disjoint runs of addresses, answering "what blocks this
    range, and where does the blockage end?" with one bisect."""

    def __init__(self, prefixes: list[IPNetwork]) -> None:
        self._merge(sorted(span(p) for p in prefixes))

    @classmethod
    def of_spans(cls, spans: list[tuple[int, int]]) -> Occupancy:
        """From ``(first, last)`` address pairs (``span``), in any order."""
        occupied = cls.__new__(cls)
        occupied._merge(sorted(spans))
        return occupied

    def _merge(self, spans: list[tuple[int, int]]) -> None:
        runs: list[list[int]] = []
        for start, end in spans:
            if runs and start <= runs[-1][1] + 1:  # overlapping or adjacent: one run
                runs[-1][1] = max(runs[-1][1], end)
            else:
                runs.append([start, end])
        self._starts = [r[0] for r in runs]
        self._ends = [r[1] for r in runs]

    def blocked_until(self, first: int, last: int) -> int | None:
        """The last address of the run of taken addresses overlapping [first, last], or
        None when the range is free. A first-fit search jumps past a whole run at once,
        so its cost does not grow with the number of contiguous networks."""
        i = bisect.bisect_right(self._starts, last) - 1
        if i < 0 or self._ends[i] < first:
            return None
        return self._ends[i]


def span(prefix: IPNetwork) -> tuple[int, int]:
    """A prefix's first and last address, as integers."""
    return int(prefix.network_address), int(prefix.broadcast_address)


def choose_subnet(
    pools: tuple[PoolSpec, ...], version: int, taken: list[IPNetwork], reserved: list[IPNetwork]
) -> IPNetwork:
    """The lowest free subnet of the pools of this IP version (first fit)."""
    return choose_free(pools, version, Occupancy([p for p in [*taken, *reserved] if p.version == version]))


def choose_free(pools: tuple[PoolSpec, ...], version: int, occupied: Occupancy) -> IPNetwork:
    """The lowest subnet of the pools of this IP version that ``occupied`` leaves free."""
    for pool in sorted((p for p in pools if p.base.version == version), key=_pool_key):
        step = 1 << (pool.base.max_prefixlen - pool.size)
        cursor = int(pool.base.network_address)
        end = int(pool.base.broadcast_address)
        while cursor + step - 1 <= end:
            blocked = occupied.blocked_until(cursor, cursor + step - 1)
            if blocked is None:
                return ipaddress.ip_network((cursor, pool.size))
            cursor = max(cursor + step, (blocked + 1 + step - 1) // step * step)
    raise InvalidParameter(POOLS_EXHAUSTED + POOLS_EXHAUSTED_HINT)


def _pool_key(pool: PoolSpec) -> tuple[int, int]:
    return (int(pool.base.network_address), pool.size)


def overlaps_any(subnet: IPNetwork, others: list[IPNetwork]) -> bool:
    return any(subnet.version == o.version and subnet.overlaps(o) for o in others)


def parse_config(spec: IPAMConfigSpec) -> Subnet:
    """Validate one user-given IPAM config entry; every problem is reported at once."""
    problems: list[str] = []
    subnet = _parse_prefix("subnet", spec.subnet, problems)
    ip_range = _parse_prefix("ip-range", spec.ip_range, problems) if spec.ip_range else None
    gateway = _parse_address("gateway", spec.gateway, problems) if spec.gateway else None
    aux: dict[str, IPAddress] = {}
    for name, text in spec.aux_addresses.items():
        addr = _parse_address(f"auxiliary address {name}", text, problems)
        if addr is not None:
            aux[name] = addr
    if subnet is not None:
        if ip_range is not None:
            _check_range(subnet, ip_range, problems)
        if gateway is not None and gateway not in subnet:
            problems.append(f"invalid gateway {gateway}: parent subnet {subnet} doesn't contain this address")
        elif gateway is not None and gateway == subnet.network_address and subnet.num_addresses > 2:
            problems.append(f"invalid gateway {gateway}: it is the network address of subnet {subnet}")
        for name, addr in aux.items():
            if addr not in subnet:
                problems.append(
                    f"invalid auxiliary address {name}: parent subnet {subnet} doesn't contain this address"
                )
    if problems:
        raise InvalidParameter("invalid network config:\n" + "\n".join(problems))
    assert subnet is not None
    return Subnet(subnet, ip_range, gateway, aux, user_given=True)


def _parse_prefix(what: str, text: str, problems: list[str]) -> IPNetwork | None:
    try:
        prefix = ipaddress.ip_network(text, strict=False)
    except ValueError:
        problems.append(f"invalid {what} {text}: invalid CIDR address")  # current Docker's text
        return None
    if "/" not in text:
        problems.append(f"invalid {what} {text}: invalid CIDR address")
        return None
    if ipaddress.ip_interface(text).ip != prefix.network_address:
        problems.append(f"invalid {what} {text}: it should be {prefix}")
        return None
    return prefix


def _parse_address(what: str, text: str, problems: list[str]) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        problems.append(f"invalid {what} {text!r}: not an IP address")
        return None


def _check_range(subnet: IPNetwork, ip_range: IPNetwork, problems: list[str]) -> None:
    if ip_range.version != subnet.version:
        problems.append(f"invalid ip-range {ip_range}: parent subnet is an IPv{subnet.version} block")
    elif ip_range.prefixlen < subnet.prefixlen:
        problems.append(f"invalid ip-range {ip_range}: CIDR block is bigger than its parent subnet {subnet}")
    elif not ip_range.subnet_of(subnet):  # type: ignore[arg-type]
        problems.append(f"invalid ip-range {ip_range}: parent subnet {subnet} doesn't contain ip-range")


def check_no_overlap(subnet: IPNetwork, taken: list[IPNetwork]) -> None:
    if overlaps_any(subnet, taken):
        raise Forbidden(POOL_OVERLAP)
