"""Seaway's whole nftables state, rebuilt from the records: the start-up ruleset, the
flush guard's restore, and the host-firewall copy.

The per-network and per-endpoint parts come from the drivers that have firewall state
(``Firewalled``), the published ports from the endpoint records; ``seaway.firewall``
builds the commands (pure) and ``seaway.kernel.nft`` applies them in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from seaway.drivers.base import Firewalled, NetworkDriver
from seaway.engine.snapshot import Snapshot
from seaway.firewall import hostfw, naming, ruleset
from seaway.kernel import nft

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
    them). Cheap: rules are listed without set elements."""
    for family, count in ruleset.rule_counts().items():
        outline = nft.table_outline(family, naming.TABLE)
        if outline is None:
            return False
        rules = [o["rule"] for o in outline if "rule" in o]
        if sum(1 for r in rules if not r["chain"].startswith(naming.HOSTFW_PREFIX)) != count:
            return False
    return True


def refresh_host_firewall(enabled: bool) -> hostfw.Mirror:
    """Copy the host's input rules for networks in host-firewall mode (see
    ``seaway.firewall.hostfw``); remove the copy when no network uses the mode."""
    outline = nft.table_outline(naming.INET, naming.TABLE) or []
    chains = [o["chain"]["name"] for o in outline if "chain" in o]
    sets = {o[k]["name"]: k for o in outline for k in ("set", "map") if k in o}
    if not enabled and not any(c.startswith(naming.HOSTFW_PREFIX) for c in chains):
        return hostfw.Mirror()
    mirror = hostfw.build(nft.list_ruleset(skip=naming.OWN_TABLES)) if enabled else hostfw.Mirror()
    nft.apply(hostfw.remove_previous(chains, sets) + mirror.commands, "host firewall copy")
    for note in mirror.skipped:
        log.warning("host-firewall mode: a host input rule was not copied: %s", note)
    return mirror


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
