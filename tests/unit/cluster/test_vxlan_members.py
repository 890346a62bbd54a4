"""Which VTEPs a node accepts VXLAN from, as watch events come (``NetworkSync``): a VTEP
is a member from its first endpoint record to its last, only those changes reach the
engine, and this node's own address is never removed. Pure: the engine here records
what it is told (the kernel side is tested in tests/integration/test_overlay_swarm.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from seaway.cluster import schema
from seaway.cluster.netsync import NetworkSync
from seaway.cluster.store import Event

ME, A, B = "192.0.2.10", "192.0.2.1", "192.0.2.2"


@dataclass
class View:
    networks: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Only what ``NetworkSync._apply`` asks of an engine for endpoint events of a
    network this node has not adopted (so no peers are programmed)."""

    def __init__(self) -> None:
        self.view = View()
        self.changes: list[tuple[set[str], set[str]]] = []

    def change_vxlan_members(self, added: Any, removed: Any) -> None:
        self.changes.append(({str(a) for a in added}, {str(a) for a in removed}))


def event(node: str, ep: str, vtep: str | None) -> Event:
    value = None if vtep is None else {"VTEP": vtep, "MAC": "02:00:00:00:00:01", "IPv4": "10.0.1.2", "Name": ep}
    return Event(schema.node_endpoint(node, "net1", ep), value, 1, 1)


def run(events: list[list[Event]]) -> list[tuple[set[str], set[str]]]:
    engine = Recorder()
    sync = NetworkSync(engine, None, "me", ME, "me-host")  # type: ignore[arg-type]
    for batch in events:
        asyncio.run(sync._apply(batch))
    return engine.changes


def test_a_vtep_is_a_member_from_its_first_endpoint_to_its_last() -> None:
    changes = run(
        [
            [event("n1", "e1", A)],
            [event("n1", "e2", A)],  # a second endpoint of a member: nothing to tell
            [event("n1", "e1", None)],
            [event("n1", "e2", None)],  # the last one: no longer a member
        ]
    )
    assert changes == [({A}, set()), (set(), {A})]


def test_one_batch_costs_one_change_and_a_moved_record_moves_its_vtep() -> None:
    changes = run(
        [
            [event("n1", "e1", A), event("n2", "e2", B), event("n2", "e3", B)],
            [event("n1", "e1", B)],  # the record now names another VTEP
        ]
    )
    assert changes == [({A, B}, set()), (set(), {A})]


def test_own_address_and_own_records_never_leave_the_set() -> None:
    changes = run(
        [
            [event("me", "mine", ME)],  # this node's own records are not counted
            [event("n1", "e1", ME)],
            [event("n1", "e1", None)],
        ]
    )
    assert changes == [({ME}, set())]
