"""Links: bridges and veth pairs, looked up with kernel-side filtered requests.

Names (documented once, here):

* bridge of a user-defined network: ``br-<network id[:12]>`` (or the
  ``com.docker.network.bridge.name`` option); the default bridge: ``docker0`` unless
  configured (``-b``/``--bridge``), as in Docker;
* host side of an endpoint's veth: ``veth<endpoint id[:7]>`` (deterministic, so an
  interrupted attach can be found and undone after a crash);
* container side: ``eth<N>``, the lowest free index in the sandbox, created directly in
  the sandbox's namespace (never moved there afterwards).

Every link Seaway creates carries an alias (``IFLA_IFALIAS``) with its owner's mark,
``seaway:<owner>:<kind>:<id>`` (``seaway.model.ownership``); each reconciler removes only
links with its own owner's mark.
"""

from __future__ import annotations

import socket

from pyroute2 import IPRoute

from seaway.errors import InvalidParameter, KernelError
from seaway.kernel import rtnl, sysctl
from seaway.kernel.errors import is_exists, is_missing, translating
from seaway.model import ownership

IFNAMSIZ = 15


def check_ifname(name: str) -> str:
    """The kernel's rules for an interface name (at most 15 bytes, no '/', ':' or space)."""
    if (
        not name
        or len(name.encode()) > IFNAMSIZ
        or any(c in name for c in "/: \t\n")
        or name
        in (
            ".",
            "..",
        )
    ):
        raise InvalidParameter(
            f"invalid interface name {name!r}: at most {IFNAMSIZ} characters, without '/', ':' or whitespace"
        )
    return name


def alias_for(kind: str, object_id: str, owner: str = ownership.LOCAL) -> str:
    return ownership.mark(kind, object_id, owner)


def _get(ipr: IPRoute, name: str):  # type: ignore[no-untyped-def]
    """The kernel's RTM_NEWLINK answer for link ``name`` (asked by name, no dump), or None."""
    try:
        with translating("look up link", name):
            return ipr.link("get", ifname=name)[0]
    except KernelError as exc:
        if is_missing(exc):
            return None
        raise


def link_index(ipr: IPRoute, name: str) -> int | None:
    """The index of link ``name``."""
    msg = _get(ipr, name)
    return None if msg is None else int(msg["index"])


def index_here(name: str) -> int | None:
    """The index of link ``name`` in the *calling thread's* namespace, or None.

    One SIOCGIFINDEX ioctl: the kernel looks the name up, nothing is dumped or parsed,
    which makes it the lookup for hot paths (a netlink get costs a parse of every
    attribute of the link)."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def link_alias(ipr: IPRoute, name: str) -> str | None:
    """The alias of link ``name``; None if it has none or does not exist."""
    msg = _get(ipr, name)
    return None if msg is None else msg.get_attr("IFLA_IFALIAS")


def link_master(ipr: IPRoute, name: str) -> int | None:
    """The index of the bridge ``name`` is enslaved to; None if none or no such link."""
    msg = _get(ipr, name)
    return None if msg is None else msg.get_attr("IFLA_MASTER")


def owned(alias: str | None, owner: str = ownership.LOCAL) -> bool:
    """The alias marks a link ``owner`` (by default the local engine) created."""
    return ownership.owned_by(alias, owner)


def link_kind(ipr: IPRoute, index: int) -> str | None:
    with translating("look up link", str(index)):
        msg = ipr.link("get", index=index)[0]
    info = msg.get_attr("IFLA_LINKINFO")
    return None if info is None else info.get_attr("IFLA_INFO_KIND")


def ensure_bridge(ipr: IPRoute, name: str, *, mtu: int, alias: str) -> tuple[int, bool]:
    """Bridge ``name`` present; return its index and whether it was created. A created
    bridge is up and marked; one found is left as it is. ``ipr`` names the namespace:
    the calling thread's (the create and the mark go on a raw socket of it,
    ``seaway.kernel.rtnl``).

    The create is tried first (a new network's bridge is the common case): the kernel
    refuses a taken name, and only then is the existing link looked at."""
    with rtnl.RouteLink() as link:
        try:
            link.send([rtnl.new_bridge(name, mtu)])
        except KernelError as exc:
            if not is_exists(exc):
                raise
            index = link_index(ipr, name)
            if index is None or link_kind(ipr, index) != "bridge":
                raise InvalidParameter(f"create bridge {name}: a link of that name exists and is not a bridge") from exc
            return index, False
        index = index_here(name)
        if index is None:
            raise KernelError("create bridge", name, None, "the new link vanished")
        # the kernel ignores IFLA_IFALIAS in RTM_NEWLINK: mark the link in a second step
        link.send([rtnl.mark(index, name, alias, "mark bridge")])
    return index, True


def set_up(ipr: IPRoute, index: int, name: str) -> None:
    with translating("set link up", name):
        ipr.link("set", index=index, state="up")


def delete_link(ipr: IPRoute, name: str) -> None:
    """Delete link ``name``; an absent link counts as deleted."""
    try:
        with translating("delete link", name):
            ipr.link("del", ifname=name)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def add_link(ipr: IPRoute, op: str, name: str, attrs: dict[str, object]) -> None:
    """RTM_NEWLINK with ``attrs``; a name already taken is said as such."""
    try:
        with translating(op, name):
            ipr.link("add", **attrs)
    except KernelError as exc:
        if is_exists(exc):
            raise KernelError(op, name, exc.errno, "a link of that name exists") from exc
        raise


def create_veth(
    ipr: IPRoute,  # names the namespace: the calling thread's (the requests go on a raw socket of it)
    host_name: str,
    *,
    peer_name: str,
    peer_netns_fd: int,
    master: int,
    mtu: int,
    peer_mac: str,
    alias: str,
) -> None:
    """One veth pair: the host side enslaved to ``master``, marked, in hairpin mode and
    up, the peer created directly inside the namespace given by ``peer_netns_fd``.
    Two rtnetlink requests, framed by ``seaway.kernel.rtnl`` (through pyroute2 the
    same four steps cost three times as much, most of it Python)."""
    with rtnl.RouteLink() as link:
        try:
            link.send(
                [
                    rtnl.new_veth(
                        host_name, peer_name, peer_netns_fd=peer_netns_fd, master=master, mtu=mtu, peer_mac=peer_mac
                    )
                ]
            )
        except KernelError as exc:
            if is_exists(exc):
                raise KernelError("create veth", host_name, exc.errno, "a link of that name exists") from exc
            raise
        index = index_here(host_name)
        if index is None:
            raise KernelError("create veth", host_name, None, "the new link vanished")
        # a bridge port needs no IPv6 of its own: without this, every new port sends its
        # link-local DAD and MLD packets, which the bridge floods to every other port
        sysctl.write(f"net/ipv6/conf/{host_name}/disable_ipv6", "1")
        # hairpin: a container reaching its own published port through the host has its
        # packet translated back to itself, and br_netfilter sends it out of the very port
        # it came in on (looped-back IPv6 DAD probes are recognised by their nonce);
        # the kernel ignores IFLA_IFALIAS in RTM_NEWLINK: mark, hairpin and raise in one step
        link.send([rtnl.set_port(index, host_name, alias=alias, hairpin=True)])


def owned_links(ipr: IPRoute, owner: str = ownership.LOCAL) -> dict[str, str]:
    """Every link carrying ``owner``'s alias mark, as ``{name: alias}``.

    This dumps the namespace's links, so it is for start-up reconciliation only.
    """
    with translating("list links of", "host namespace"):
        links = ipr.get_links()
    out: dict[str, str] = {}
    for msg in links:
        alias = msg.get_attr("IFLA_IFALIAS")
        if owned(alias, owner):
            out[msg.get_attr("IFLA_IFNAME")] = alias
    return out


def link_names(ipr: IPRoute) -> set[str]:
    """The names of every link in a (small) namespace: a sandbox's."""
    with translating("list links of", "sandbox"):
        return {msg.get_attr("IFLA_IFNAME") for msg in ipr.get_links()}


# ------------------------------------------------------------------ parents and their children

#: IFLA_IPVLAN_MODE values and IFLA_IPVLAN_FLAGS bits (linux/if_link.h)
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}
IPVLAN_FLAGS = {"bridge": 0, "private": 1, "vepa": 2}


def _mark(ipr: IPRoute, name: str, alias: str, op: str) -> int:
    index = link_index(ipr, name)
    if index is None:
        raise KernelError(op, name, None, "the new link vanished")
    # the kernel ignores IFLA_IFALIAS in RTM_NEWLINK: mark and raise the link in one step
    with translating(op, name):
        ipr.link("set", index=index, state="up", ifalias=alias)
    return index


def create_veth_pair(ipr: IPRoute, name: str, peer: str, *, alias: str) -> None:
    """A veth pair with both ends here, up and marked (an internal parent)."""
    with translating("create veth", name):
        ipr.link("add", ifname=name, kind="veth", peer=peer)
    for end in (peer, name):
        sysctl.write(f"net/ipv6/conf/{end}/disable_ipv6", "1")
        _mark(ipr, end, alias, "create veth")


def create_vlan(ipr: IPRoute, name: str, *, link: int, vlan_id: int, alias: str) -> int:
    """An 802.1Q sub-interface ``name`` of link index ``link``, up and marked; its index."""
    with translating("create vlan link", name):
        ipr.link("add", ifname=name, kind="vlan", link=link, vlan_id=vlan_id)
    return _mark(ipr, name, alias, "create vlan link")


def vlan_of(ipr: IPRoute, name: str) -> tuple[int, int] | None:
    """``(lower link index, VLAN id)`` of a VLAN link; None for another kind or no link."""
    msg = _get(ipr, name)
    info = None if msg is None else msg.get_attr("IFLA_LINKINFO")
    if info is None or info.get_attr("IFLA_INFO_KIND") != "vlan":
        return None
    return int(msg.get_attr("IFLA_LINK")), int(info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_VLAN_ID"))


def create_child(
    ipr: IPRoute,  # must be a socket of the parent's namespace
    name: str,
    *,
    kind: str,
    parent: int,
    mode: str,
    flag: str = "",
    netns_fd: int | None = None,
    mac: str = "",
    alias: str = "",
) -> None:
    """A macvlan or ipvlan link on link index ``parent``, created directly in the namespace
    of ``netns_fd`` (None: the parent's), with ``mac`` (macvlan only), down."""
    attrs: dict[str, object] = {"ifname": name, "kind": kind, "link": parent}
    if kind == "macvlan":
        attrs["macvlan_mode"] = mode
        if mac:
            attrs["address"] = mac
    else:
        attrs["ipvlan_mode"] = IPVLAN_MODES[mode]
        if flag and IPVLAN_FLAGS[flag]:
            attrs["ipvlan_flags"] = IPVLAN_FLAGS[flag]
    if netns_fd is not None:
        attrs["net_ns_fd"] = netns_fd
    add_link(ipr, f"create {kind} link", name, attrs)
    if alias:
        _mark(ipr, name, alias, f"mark {kind} link")


def _teach_ipvlan_flags() -> None:
    """pyroute2 0.7 knows IFLA_IPVLAN_MODE but not IFLA_IPVLAN_FLAGS (attribute 2)."""
    from pyroute2.netlink.rtnl.ifinfmsg.plugins.ipvlan import ipvlan

    if not any(entry[0] == "IFLA_IPVLAN_FLAGS" for entry in ipvlan.nla_map):
        ipvlan.nla_map = (*ipvlan.nla_map, ("IFLA_IPVLAN_FLAGS", "uint16"))


_teach_ipvlan_flags()
