"""Which optional link kinds this kernel has: probed, never assumed.

``probe()`` creates each kind once inside a throwaway network namespace (a thread that
``unshare``\\ s and ends; nothing is pinned, so nothing outlives the probe) on a veth
link of its own (veth, not dummy: some kernels, this project's CI machine's among them,
have no dummy driver). Asking the kernel to create the link also loads the module when it is
built as one, so a feature that is merely unloaded counts as present.
"""

from __future__ import annotations

import errno

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from seaway.kernel import links, netns

#: feature -> the kernel configuration symbol that provides it
CONFIG = {
    "macvlan": "CONFIG_MACVLAN",
    "ipvlan": "CONFIG_IPVLAN",
    "8021q": "CONFIG_VLAN_8021Q",
}
#: feature -> the words used in error messages
DESCRIPTION = {
    "macvlan": "macvlan",
    "ipvlan": "ipvlan",
    "8021q": "802.1Q VLAN",
}
#: feature -> the module that provides it when built as one
MODULE = {"macvlan": "macvlan", "ipvlan": "ipvlan", "8021q": "8021q"}
_UNSUPPORTED = (errno.EOPNOTSUPP, errno.EAFNOSUPPORT, errno.EINVAL)


def _attempt(ipr: IPRoute, **attrs: object) -> bool:
    try:
        ipr.link("add", **attrs)
    except NetlinkError as exc:
        if exc.code in _UNSUPPORTED:
            return False
        raise
    return True


def _probe_here() -> dict[str, bool]:
    netns.unshare_net()
    found = dict.fromkeys(CONFIG, False)
    with IPRoute() as ipr:
        ipr.link("add", ifname="probe0", kind="veth", peer="probe1")
        one, other = links.link_index(ipr, "probe0"), links.link_index(ipr, "probe1")
        # (a link carries macvlan or ipvlan children, not both: one parent each)
        found["macvlan"] = _attempt(ipr, ifname="probe-mv", kind="macvlan", link=one, macvlan_mode="bridge")
        found["ipvlan"] = _attempt(ipr, ifname="probe-iv", kind="ipvlan", link=other, ipvlan_mode=0)
        found["8021q"] = _attempt(ipr, ifname="probe0.7", kind="vlan", link=one, vlan_id=7)
    return found


def probe() -> dict[str, bool]:
    """``{feature: present}`` for every feature in ``CONFIG``."""
    return netns.run(None, _probe_here)


def memory_bytes() -> int:
    """The host's total memory (``MemTotal``), 0 when unreadable (shown in /info and for nodes)."""
    try:
        with open("/proc/meminfo") as fh:
            return int(fh.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0


def missing_message(feature: str) -> str:
    return f"{DESCRIPTION[feature]} is not supported by this kernel ({CONFIG[feature]})"
