"""The peer table behind static VXLAN entries: what each change adds and removes."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from seaway.drivers.peers import PeerTable
from seaway.model.endpoint import RemoteEndpoint

V1, V2 = ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("192.0.2.2")


def ep(name: str, vtep: object, ip: str, mac: str) -> RemoteEndpoint:
    return RemoteEndpoint(name, mac, vtep, ipaddress.ip_address(ip))  # type: ignore[arg-type]


def test_first_and_last_endpoint_behind_a_vtep_add_and_remove_its_flood_entry() -> None:
    table = PeerTable()
    d = table.change([ep("a", V1, "10.0.1.2", "02:00:00:00:00:02")], [])
    assert d.vteps_added == [V1] and d.vteps_removed == [] and [p.endpoint_id for p in d.added] == ["a"]
    d = table.change([ep("b", V1, "10.0.1.3", "02:00:00:00:00:03")], [])
    assert d.vteps_added == []
    d = table.change([], ["a"])
    assert d.vteps_removed == [] and [p.endpoint_id for p in d.removed] == ["a"]
    assert d.stale_addresses == [ipaddress.ip_address("10.0.1.2")]
    d = table.change([], ["b"])
    assert d.vteps_removed == [V1] and len(table) == 0


def test_an_address_moving_to_another_host_keeps_the_new_neighbour_whatever_the_order() -> None:
    table = PeerTable()
    table.change([ep("old", V1, "10.0.1.50", "02:00:00:00:00:50")], [])
    d = table.change([ep("new", V2, "10.0.1.50", "02:00:00:00:00:99")], [])  # told before the old one goes
    assert [p.endpoint_id for p in d.added] == ["new"] and d.vteps_added == [V2]
    d = table.change([], ["old"])
    assert d.stale_addresses == []  # the address is the new endpoint's: its neighbour entry stays
    assert [p.endpoint_id for p in d.removed] == ["old"] and d.vteps_removed == [V1]
    assert [p.endpoint_id for p in table.endpoints()] == ["new"]


def test_removing_an_unknown_endpoint_changes_nothing() -> None:
    d = PeerTable().change([], ["nobody"])
    assert (d.added, d.removed, d.stale_addresses, d.vteps_added, d.vteps_removed) == ([], [], [], [], [])


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 1), st.integers(2, 4)), max_size=40))
def test_incremental_changes_end_where_the_final_set_says(ops: list[tuple[bool, int, int, int]]) -> None:
    """Applying the deltas to a model of the kernel's entries gives exactly the entries
    the table's final endpoints need."""
    table = PeerTable()
    fdb: set[tuple[str, object]] = set()
    flood: set[object] = set()
    neigh: dict[object, str] = {}
    for add, n, vtep, host in ops:
        name = f"e{n}"
        if add:
            d = table.change([ep(name, (V1, V2)[vtep], f"10.0.1.{host}", f"02:00:00:00:0{vtep}:0{n}")], [])
        else:
            d = table.change([], [name])
        for p in d.removed:
            fdb.discard((p.mac_address, p.vtep))
        flood -= set(d.vteps_removed)
        for a in d.stale_addresses:
            neigh.pop(a, None)
        flood |= set(d.vteps_added)
        for p in d.added:
            fdb.add((p.mac_address, p.vtep))
            neigh[p.ipv4] = p.mac_address
    final = table.endpoints()
    assert fdb == {(p.mac_address, p.vtep) for p in final}
    assert flood == {p.vtep for p in final}
    holders: dict[object, str] = {}
    for p in final:
        holders[p.ipv4] = p.mac_address
    assert {a: m for a, m in neigh.items() if a in holders} == holders
