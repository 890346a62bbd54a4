"""Seaway's whole nftables state, rebuilt from the records: the start-up ruleset, the
flush guard's restore, and the host-firewall copy.

The per-network and per-endpoint parts come from the drivers that have firewall state
(``Firewalled``), the published ports from the endpoint records; ``seaway.firewall``
builds the commands (pure) and ``seaway.kernel.nft`` applies them in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from seaway.drivers.base import Firewalled, NetworkDriver
from seaway.engine.snapshot import Snapshot
from seaway.firewall import hostfw, naming, ruleset
from seaway.kernel import nft, nftnl

log = logging.getLogger(__name__)


def full_ruleset(
    view: Snapshot, drivers: Mapping[str, NetworkDriver], vxlan: ruleset.VxlanMembers | None = None
) -> list[ruleset.Command]:
    """Seaway's whole nftables state for the networks and endpoints of ``view`` (and, in
    a swarm, the VXLAN members the cluster last told the engine)."""
    networks = network_rules(view, drivers)
    icc_off: list[str] = []
    guards: list[ruleset.PortGuard] = []
    published = []
    for ep in view.endpoints.values():
        net = view.networks[ep.network_id]
        driver = drivers.get(net.driver)
        published += ep.ports
        if not isinstance(driver, Firewalled):
            continue
        wall = driver.firewall_endpoint(net, ep)
        if wall.guard is not None:
            guards.append(wall.guard)
        if wall.icc_off_port:
            icc_off.append(wall.icc_off_port)
    return ruleset.full(networks, icc_off, published, guards, vxlan)


def intact() -> bool:
    """Seaway's tables exist with all their rules (a flush or a firewall reload removes
    them). Cheap at any scale: one kernel rule dump per table, no set element read."""
    for family, count in ruleset.rule_counts().items():
        chains = nftnl.rule_chains(family, naming.TABLE)
        if sum(1 for c in chains if not c.startswith(naming.HOSTFW_PREFIX)) != count:
            return False
    return True


def refresh_host_firewall(enabled: bool) -> hostfw.Mirror:
    """Copy the host's input rules for networks in host-firewall mode (see
    ``seaway.firewall.hostfw``); remove the copy when no network uses the mode. Reads
    the chains, the tables with an input base chain and, when a copy exists, Seaway's
    set names: never an element of Seaway's own tables (one per published port)."""
    chains = nft.list_chains()
    own = [c["name"] for c in chains if (c["family"], c["table"]) == (naming.INET, naming.TABLE)]
    copied = any(c.startswith(naming.HOSTFW_PREFIX) for c in own)
    if not enabled and not copied:
        return hostfw.Mirror()
    sets = {}
    if copied:
        for kind in ("set", "map"):
            sets.update({o["name"]: kind for o in nft.list_sets(naming.INET, kind) if o["table"] == naming.TABLE})
    mirror = hostfw.build(nft.list_tables_content(foreign_input_tables(chains))) if enabled else hostfw.Mirror()
    nft.apply(hostfw.remove_previous(own, sets) + mirror.commands, "host firewall copy")
    for note in mirror.skipped:
        log.warning("host-firewall mode: a host input rule was not copied: %s", note)
    return mirror


def foreign_input_tables(chains: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The other tables with an input base chain (the only ones the copy reads: a rule
    uses sets of its own table only)."""
    return sorted(
        {
            (c["family"], c["table"])
            for c in chains
            if c.get("hook") == "input"
            and c["family"] in ("ip", "ip6", "inet")
            and (c["family"], c["table"]) not in naming.OWN_TABLES
        }
    )


def network_rules(view: Snapshot, drivers: Mapping[str, NetworkDriver]) -> list[ruleset.NetworkRules]:
    """The firewall part of every network that has one."""
    out = []
    for net in view.networks.values():
        driver = drivers.get(net.driver)
        if isinstance(driver, Firewalled) and not net.config_only:
            rules = driver.firewall_network(net)
            if rules is not None:
                out.append(rules)
    return out
