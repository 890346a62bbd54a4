"""Which tasks back each VIP, as a node follows the store (``seaway.cluster.backends``)."""

from __future__ import annotations

import ipaddress
from typing import Any

from seaway.cluster.backends import Backends, vips_of

A = ipaddress.IPv4Address
NET, OTHER = "n" * 25, "o" * 25


def service(sid: str, vips: dict[str, str], mode: str = "vip") -> dict[str, Any]:
    return {
        "ID": sid,
        "Spec": {"Name": sid, "EndpointSpec": {"Mode": mode}},
        "Endpoint": {"VirtualIPs": [{"NetworkID": n, "Addr": f"{a}/24"} for n, a in vips.items()]},
    }


def task(sid: str, ip: str, serving: bool = True) -> dict[str, Any]:
    return {
        "Name": "t",
        "IPv4": ip,
        "MAC": "02:42:00:00:00:01",
        "VTEP": "192.0.2.1",
        "Service": sid,
        "Serving": serving,
    }


def fresh() -> Backends:
    b = Backends()
    for node in ("h1", "h2"):
        b.node(node, True)
    return b


def test_a_service_and_its_tasks_become_its_vips_backends_once() -> None:
    b = fresh()
    b.service("web", service("web", {NET: "10.0.0.2"}))
    assert b.take()[NET].vips == {A("10.0.0.2"): []}  # the VIP exists before any task: refused at once
    b.endpoint("h1", NET, "e1", task("web", "10.0.0.5"))
    b.endpoint("h2", NET, "e2", task("web", "10.0.0.4"))
    change = b.take()[NET]
    assert change.vips == {A("10.0.0.2"): [A("10.0.0.4"), A("10.0.0.5")]} and change.gone == []
    assert b.take() == {}  # nothing new
    assert b.vips(NET) == {A("10.0.0.2"): [A("10.0.0.4"), A("10.0.0.5")]}


def test_drained_down_and_removed_tasks_stop_backing_and_only_removal_forgets_flows() -> None:
    b = fresh()
    b.service("web", service("web", {NET: "10.0.0.2"}))
    b.endpoint("h1", NET, "e1", task("web", "10.0.0.5"))
    b.endpoint("h2", NET, "e2", task("web", "10.0.0.6"))
    b.take()
    b.endpoint("h1", NET, "e1", task("web", "10.0.0.5", serving=False))  # drained before its stop
    change = b.take()[NET]
    assert change.vips == {A("10.0.0.2"): [A("10.0.0.6")]} and change.gone == []
    b.endpoint("h1", NET, "e1", None)  # stopped: its flows are reset
    assert b.take()[NET].gone == [A("10.0.0.5")]
    b.node("h2", False)  # Down
    assert b.take()[NET].vips == {A("10.0.0.2"): []}
    b.node("h2", True)
    assert b.take()[NET].vips == {A("10.0.0.2"): [A("10.0.0.6")]}


def test_a_vip_that_goes_or_moves_is_reported_and_other_services_are_untouched() -> None:
    b = fresh()
    b.service("web", service("web", {NET: "10.0.0.2", OTHER: "10.1.0.2"}))
    b.service("api", service("api", {NET: "10.0.0.3"}))
    b.endpoint("h1", NET, "e1", task("api", "10.0.0.9"))
    b.take()
    b.service("web", service("web", {NET: "10.0.0.2"}))  # off OTHER
    assert {n: c.vips for n, c in b.take().items()} == {OTHER: {A("10.1.0.2"): None}}
    b.service("web", None)
    assert b.take()[NET].vips == {A("10.0.0.2"): None}
    assert b.vips(NET) == {A("10.0.0.3"): [A("10.0.0.9")]}


def test_dnsrr_services_lb_records_and_ipv6_vips_have_no_backends() -> None:
    assert vips_of(service("s", {NET: "10.0.0.2"}, mode="dnsrr")) == {}
    assert vips_of(service("s", {NET: "fd00::2"})) == {}
    b = fresh()
    b.service("web", service("web", {NET: "10.0.0.2"}))
    b.endpoint("h1", NET, "lb-h1", {"IPv4": "10.0.0.7", "LB": True})
    b.endpoint("h1", NET, "c1", {"IPv4": "10.0.0.8", "Name": "plain container"})
    assert b.take()[NET].vips == {A("10.0.0.2"): []}


def test_the_cost_of_a_change_is_one_service() -> None:
    b = fresh()
    for i in range(200):
        b.service(f"s{i}", service(f"s{i}", {NET: str(A("10.0.0.0") + 1000 + i)}))
    b.take()
    b.endpoint("h1", NET, "e1", task("s7", "10.0.0.5"))
    assert list(b.take()[NET].vips) == [A("10.0.0.0") + 1007]
