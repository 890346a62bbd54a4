"""Checks of a container's endpoint settings against the network, before anything is made.

Current Docker validates ``EndpointSettings`` when a container is created (and at
connect), so a bad ``--ip`` fails ``docker run`` before any container exists, and lists
every problem under ``invalid endpoint settings:``. Pure: no I/O, no state.
"""

from __future__ import annotations

import ipaddress

from seaway.errors import InvalidParameter
from seaway.model.endpoint import EndpointSpec
from seaway.model.network import Network


def check_endpoint_settings(net: Network, spec: EndpointSpec) -> None:
    """Raise Docker's ``invalid endpoint settings:`` error naming every problem."""
    problems: list[str] = []
    for version, text in ((4, spec.ipv4_address), (6, spec.ipv6_address)):
        if not text:
            continue
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            problems.append(f"invalid IPv{version} address: {text}")
            continue
        if address.version != version:
            problems.append(f"invalid IPv{version} address: {text}")
            continue
        subnets = [s for s in net.subnets_of(version) if s.user_given]
        if subnets and not any(address in s.subnet for s in subnets):
            problems.append(f"no configured subnet or ip-range contain the IP address {text}")
    for text in spec.link_local_ips:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            problems.append(f"invalid link-local IP address: {text}")
    if problems:
        raise InvalidParameter("invalid endpoint settings:\n" + "\n".join(problems))
