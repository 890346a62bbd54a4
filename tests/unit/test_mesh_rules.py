"""The routing mesh's nftables table (``seaway.firewall.mesh``): fixed rules, each
service's ports × tasks as elements; golden at 1 service, the same rules at 100."""

from __future__ import annotations

import ipaddress
from typing import Any

from seaway.cluster.mesh import mesh_ports
from seaway.firewall import mesh
from seaway.firewall.mesh import MeshPort
from seaway.testing.golden import assert_golden

A = ipaddress.IPv4Address
SBOX = A("10.0.0.4")


def services(n: int) -> dict[str, tuple[list[MeshPort], list[A]]]:
    return {
        f"s{i}": (
            [MeshPort("tcp", 30000 + i, 80), MeshPort("udp", 31000 + i, 53)],
            [A("10.0.0.10") + 2 * i, A("10.0.0.11") + 2 * i],
        )
        for i in range(n)
    }


def rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if "element" not in line]


def test_the_table_golden_and_its_rules_do_not_grow_with_services() -> None:
    one = mesh.table(SBOX, services(1))
    assert_golden("nft/mesh,services=1.nft", one)
    assert rules(mesh.table(SBOX, services(100))) == rules(one)


def test_a_change_touches_only_that_services_elements() -> None:
    ports = [MeshPort("tcp", 8080, 80)]
    assert mesh.change(ports, [A("10.0.0.7")], ports, [A("10.0.0.7")]) == ""
    assert mesh.change(ports, [A("10.0.0.7")], ports, [A("10.0.0.7"), A("10.0.0.8")]).splitlines() == [
        "delete element ip seaway-mesh ports { tcp . 8080 . 0-720719 : 10.0.0.7 . 80 }",
        "add element ip seaway-mesh ports { tcp . 8080 . 0-360359 : 10.0.0.7 . 80, tcp . 8080 . 360360-720719 : 10.0.0.8 . 80 }",
    ]
    # the last task goes: the port stays published (refused at once), its elements go
    assert mesh.change(ports, [A("10.0.0.7")], ports, []).splitlines() == [
        "delete element ip seaway-mesh ports { tcp . 8080 . 0-720719 : 10.0.0.7 . 80 }",
    ]
    assert mesh.change([], [], ports, []).splitlines() == ["add element ip seaway-mesh published { tcp . 8080 }"]
    assert mesh.change(ports, [], [], []).splitlines() == ["delete element ip seaway-mesh published { tcp . 8080 }"]


def test_mesh_ports_are_the_ingress_mode_ones() -> None:
    service: dict[str, Any] = {
        "Endpoint": {
            "Ports": [
                {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
                {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 30001},
                {"Protocol": "tcp", "TargetPort": 22, "PublishedPort": 2222, "PublishMode": "host"},
                {"Protocol": "sctp", "TargetPort": 9, "PublishedPort": 9, "PublishMode": "ingress"},
            ]
        }
    }
    assert mesh_ports(service) == [MeshPort("tcp", 8080, 80), MeshPort("udp", 30001, 53)]
