"""Is the kernel still as the records say? The cheap checks behind ``network inspect``'s
status, the daemon's watchdog (``damaged``) and the doctor's expectations.

Each check reads the driver's own description of the object (``expect_network``,
``expect_endpoint``) and asks the kernel for the named links only (one lookup each, no
dump). The full comparison, with addresses, routes and sandboxes, is the doctor's
(``seaway.invariants``), fed with the same descriptions by ``expected``.
"""

from __future__ import annotations

from collections.abc import Mapping

from seaway.drivers.base import NetworkDriver
from seaway.engine.realizer import Realizer
from seaway.engine.snapshot import Snapshot
from seaway.model.endpoint import Endpoint
from seaway.model.expected import NOTHING, Expected, HostLink
from seaway.model.network import Network


def expected(view: Snapshot, drivers: Mapping[str, NetworkDriver]) -> dict[str, Expected]:
    """Per network and endpoint ID, the kernel state its driver describes."""
    out: dict[str, Expected] = {}
    for net in view.networks.values():
        driver = drivers.get(net.driver)
        if driver is not None and not net.config_only and not (driver.lazy and not view.member_count(net.id)):
            out[net.id] = driver.expect_network(net)
    for ep in view.endpoints.values():
        net = view.networks.get(ep.network_id)
        driver = drivers.get(net.driver) if net is not None else None
        if net is not None and driver is not None:
            out[ep.id] = driver.expect_endpoint(net, ep)
    return out


def link_noun(link: HostLink, *, endpoint: bool) -> str:
    """How a person names the link: ``bridge br-1``, ``host-side veth veth1234567``."""
    if link.kind == "veth" and endpoint:
        return f"host-side veth {link.name}"
    return f"{link.kind or 'link'} {link.name}"


def _missing(description: Expected, realizer: Realizer, *, endpoint: bool) -> str:
    link = realizer.first_missing_link(description)
    return "" if link is None else f"{link_noun(link, endpoint=endpoint)} is missing"


def network_status(
    net: Network, damage: Mapping[str, str], drivers: Mapping[str, NetworkDriver], realizer: Realizer
) -> tuple[str, str]:
    """``("ok", "")`` or ``("damaged", reason)``: a failed programming, or a link gone."""
    reason = damage.get(net.id)
    if reason:
        return "damaged", reason
    driver = drivers.get(net.driver)
    if driver is None or net.config_only:
        return "ok", ""
    missing = _missing(driver.expect_network(net), realizer, endpoint=False)
    return ("damaged", f"{missing} (deleted by hand?)") if missing else ("ok", "")


def endpoint_status(
    ep: Endpoint,
    view: Snapshot,
    damage: Mapping[str, str],
    drivers: Mapping[str, NetworkDriver],
    realizer: Realizer,
) -> tuple[str, str]:
    """Like ``network_status``, for one endpoint: its network, then its own links."""
    net = view.networks.get(ep.network_id)
    if net is None:
        return "damaged", "its network is gone"
    state, reason = network_status(net, damage, drivers, realizer)
    if state != "ok":
        return state, f"network {net.name}: {reason}"
    driver = drivers.get(net.driver)
    missing = _missing(driver.expect_endpoint(net, ep), realizer, endpoint=True) if driver else ""
    return ("damaged", missing) if missing else ("ok", "")


def damaged(
    view: Snapshot, damage: Mapping[str, str], drivers: Mapping[str, NetworkDriver], realizer: Realizer
) -> list[str]:
    """Reasons for every network or endpoint whose links are gone (cheap: one lookup per
    described link, no dump); empty when all is well."""
    out = [f"network {view.networks[i].name}: {r}" for i, r in list(damage.items()) if i in view.networks]
    for object_id, description in expected(view, drivers).items():
        if description is NOTHING:
            continue
        if object_id in view.networks:
            missing = _missing(description, realizer, endpoint=False)
            if missing:
                out.append(f"network {view.networks[object_id].name}: {missing}")
        else:
            missing = _missing(description, realizer, endpoint=False)
            if missing:
                out.append(f"endpoint {view.endpoints[object_id].name}: {missing}")
    return out
