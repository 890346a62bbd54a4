"""Parent links of macvlan and ipvlan networks, shared by both drivers.

A network's parent is one of:

* an existing link of the host (``-o parent=eth0``): used as it is, never changed or
  removed;
* an 802.1Q sub-interface ``<link>.<vid>`` (``-o parent=eth0.10``): used if it exists,
  otherwise created on ``<link>``, brought up and marked ``seaway:vlan:<name>``. Several
  networks may share it; it is removed with the last network using it, and only if it
  carries the mark (a sub-interface the user made is never removed);
* an internal parent of the network's own when none was given (or ``--internal``):
  Docker's ``dm-<id12>``/``di-<id12>`` name. It is a veth pair (peer ``dmp-<id11>`` /
  ``dip-<id11>``), not a dummy link as in Docker, because some kernels (this project's
  CI machine's) have no dummy driver; both are equally invisible outside the host.

The registry remembers which networks use which parent; the engine's realizer feeds it every
ready network at start-up (``create_network`` repairs), so the count survives restarts.
"""

from __future__ import annotations

from contextlib import ExitStack

from seaway.errors import InvalidParameter, NotFound, Unsupported
from seaway.kernel import features, links
from seaway.kernel.netns import RouteSocket
from seaway.model.network import Network, ParentOptions


def options_of(net: Network) -> ParentOptions:
    """A macvlan or ipvlan network's typed options."""
    assert isinstance(net.driver_options, ParentOptions), net.driver
    return net.driver_options


def vlan_mark(name: str) -> str:
    return links.alias_for("vlan", name)


def _peer_of(opts: ParentOptions, network_id: str) -> str:
    return f"{opts.parent[:2]}p-{network_id[:11]}"


class Parents:
    def __init__(self, host: RouteSocket, found: dict[str, bool]) -> None:
        self._host = host
        self.features = found
        self._users: dict[str, set[str]] = {}  # parent link name -> network ids

    def check(self, kind: str, opts: ParentOptions) -> None:
        """Refuse what this kernel or host cannot do; touches nothing."""
        if not self.features.get(kind, False):
            raise Unsupported(features.missing_message(kind))
        if opts.dummy:
            return
        if links.index_here(opts.parent) is not None:
            return
        # Docker's texts: a missing parent is taken for a VLAN subinterface to create
        if not opts.vlan_id:
            raise InvalidParameter(f"invalid subinterface vlan name {opts.parent}, example formatting is eth0.10")
        if links.index_here(opts.vlan_link) is None:
            raise NotFound(f"-o parent interface was not found on the host: {opts.vlan_link}")
        if not self.features.get("8021q", False):
            raise Unsupported(features.missing_message("8021q"))
        links.check_ifname(opts.parent)

    def acquire(self, net: Network, undo: ExitStack) -> int:
        """The parent present and up (created when it is ours to create); its index."""
        opts = options_of(net)
        index = links.index_here(opts.parent)
        if index is None and opts.dummy:
            alias = links.alias_for("net", net.id)
            peer = _peer_of(opts, net.id)
            links.create_veth_pair(self._host, opts.parent, peer, alias=alias)
            undo.callback(links.delete_link, self._host, opts.parent)
            index = links.index_here(opts.parent)
        elif index is None and opts.vlan_id:
            lower = links.index_here(opts.vlan_link)
            if lower is None:
                raise NotFound(f"the requested parent interface {opts.vlan_link} was not found on the Docker host")
            index = links.create_vlan(
                self._host, opts.parent, link=lower, vlan_id=opts.vlan_id, alias=vlan_mark(opts.parent)
            )
            undo.callback(links.delete_link, self._host, opts.parent)
        elif index is not None and (opts.dummy or opts.vlan_id) and self._ours(net, opts.parent):
            links.set_up(self._host, index, opts.parent)  # (a restart repairs what it made)
        if index is None:
            raise NotFound(f"the requested parent interface {opts.parent} was not found on the Docker host")
        if opts.vlan_id:
            found = links.vlan_of(self._host, opts.parent)
            if found is not None and found[1] != opts.vlan_id:
                raise InvalidParameter(
                    f"parent interface {opts.parent} is a VLAN link with id {found[1]}, not {opts.vlan_id}"
                )
        self._users.setdefault(opts.parent, set()).add(net.id)
        undo.callback(self._forget, opts.parent, net.id)
        return index

    def _ours(self, net: Network, name: str) -> bool:
        return links.link_alias(self._host, name) in (vlan_mark(name), links.alias_for("net", net.id))

    def _forget(self, parent: str, network_id: str) -> None:
        users = self._users.get(parent)
        if users is not None:
            users.discard(network_id)
            if not users:
                del self._users[parent]

    def release(self, net: Network) -> None:
        """The network no longer uses its parent: remove the parent if it was ours and
        nobody else uses it."""
        opts = options_of(net)
        self._forget(opts.parent, net.id)
        if opts.dummy:
            links.delete_link(self._host, opts.parent)  # its peer goes with it
            return
        if (
            opts.vlan_id
            and not self._users.get(opts.parent)
            and links.link_alias(self._host, opts.parent) == vlan_mark(opts.parent)
        ):
            links.delete_link(self._host, opts.parent)

    def marks(self) -> set[str]:
        """The marks of the shared links in use (reconciliation keeps those)."""
        return {vlan_mark(name) for name in self._users}
