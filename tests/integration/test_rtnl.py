"""The raw rtnetlink requests of the attach and network-create paths (kernel.rtnl) against iproute2's view
of what they made, and their failures named as pyroute2's were."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.kernel import addresses, links, netns, rtnl, sandbox
from seaway.lab.fakehost import FakeHost, in_ns

GW = ipaddress.ip_address("10.98.0.1")
ADDR = ipaddress.ip_address("10.98.0.7")
ADDR6 = ipaddress.ip_address("fd98::7")


def ip_json(ns: str, *args: str) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(in_ns(ns, "ip", "-j", "-d", *args, check=True).stdout)  # type: ignore[no-any-return]


def test_attach_requests_make_what_ip_shows_and_fail_by_name(fake_host: FakeHost) -> None:
    box = Path(fake_host.root) / "rtnl-box"
    with fake_host.entered(), IPRoute() as ipr:
        netns.create(box)
        try:
            with rtnl.RouteLink() as link:
                link.send([rtnl.set_up(links.index_here("lo") or 1, "lo")])
            master, created = links.ensure_bridge(ipr, "rt-br0", mtu=1400, alias="seaway:local:net:rtnl")
            assert created and (master, False) == links.ensure_bridge(ipr, "rt-br0", mtu=0, alias="other")
            (bridge,) = ip_json(fake_host.host_ns, "link", "show", "rt-br0")
            assert bridge["ifalias"] == "seaway:local:net:rtnl" and bridge["mtu"] == 1400 and "UP" in bridge["flags"]
            addresses.add_address(ipr, master, "rt-br0", GW, 24, prefix_route=False)
            addresses.add_address(ipr, master, "rt-br0", GW, 24, prefix_route=False)  # there: done
            addresses.ensure_subnet_route(ipr, ipaddress.ip_network("10.98.0.0/24"), master, "rt-br0", GW)
            routes = ip_json(fake_host.host_ns, "route", "show", "dev", "rt-br0")
            assert [(r["dst"], r["protocol"], r["scope"], r["prefsrc"]) for r in routes] == [
                ("10.98.0.0/24", str(addresses.RTPROT_SEAWAY), "link", str(GW))
            ]
            with sandbox.netns_fd(str(box)) as fd:

                def veth(peer: str, mtu: int, mac: str, alias: str) -> None:
                    links.create_veth(
                        ipr,
                        "rt-veth0",
                        peer_name=peer,
                        peer_netns_fd=fd,
                        master=master,
                        mtu=mtu,
                        peer_mac=mac,
                        alias=alias,
                    )

                veth("eth0", 1400, "02:42:0a:62:00:07", "seaway:local:ep:rtnl")
                # the same name again: said as such, nothing else made
                with pytest.raises(KernelError, match="create veth rt-veth0: a link of that name exists"):
                    veth("eth1", 0, "02:42:0a:62:00:08", "x")
                assert sandbox.interface_names(str(box)) == {"lo", "eth0"}
            (host_side,) = ip_json(fake_host.host_ns, "link", "show", "rt-veth0")
            assert host_side["master"] == "rt-br0" and host_side["mtu"] == 1400
            assert host_side["ifalias"] == "seaway:local:ep:rtnl"
            assert "UP" in host_side["flags"]
            assert host_side["linkinfo"]["info_slave_data"]["hairpin"] is True

            sandbox.configure(str(box), ("eth0", [(ADDR, 24), (ADDR6, 64)]), {4: (GW, "eth0"), 6: None})
            sandbox.configure(str(box), ("eth0", [(ADDR, 24), (ADDR6, 64)]), None)  # addresses there: done
            (inside,) = ip_json(str(box), "addr", "show", "eth0")
            assert inside["address"] == "02:42:0a:62:00:07" and inside["mtu"] == 1400 and "UP" in inside["flags"]
            assert {(a["local"], a["prefixlen"]) for a in inside["addr_info"] if a["scope"] == "global"} == {
                (str(ADDR), 24),
                (str(ADDR6), 64),
            }
            assert not any(a.get("tentative") for a in inside["addr_info"] if a["scope"] == "global")  # no DAD
            routes = ip_json(str(box), "route", "show", "default")
            assert [(r["gateway"], r["dev"]) for r in routes] == [(str(GW), "eth0")]
            # replaced by an on-link default, then removed (a second removal is done too)
            sandbox.configure(str(box), None, {4: (None, "eth0")})
            assert [
                (r.get("gateway"), r["dev"], r.get("scope")) for r in ip_json(str(box), "route", "show", "default")
            ] == [(None, "eth0", "link")]
            sandbox.configure(str(box), None, {4: None, 6: None})
            sandbox.configure(str(box), None, {4: None})
            assert ip_json(str(box), "route", "show", "default") == []

            # a failure names the step and the object, with the kernel's reason
            missing = pytest.raises(KernelError, match=r"add address 10.98.0.9/24 to gone: No such device")
            with missing, rtnl.RouteLink() as link:
                link.send([rtnl.add_address(99999, "gone", ipaddress.ip_address("10.98.0.9"), 24)])
        finally:
            links.delete_link(ipr, "rt-veth0")
            links.delete_link(ipr, "rt-br0")
            netns.remove(box)
