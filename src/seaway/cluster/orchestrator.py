"""The orchestrator (a first cut: replaced by the full module)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Plan:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    service_updates: list[dict[str, Any]] = field(default_factory=list)
    wake_at: float | None = None


def _ts() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def plan(
    services: list[dict[str, Any]], tasks: list[dict[str, Any]], nodes: list[dict[str, Any]], now: float,
    new_id: Callable[[], str], history_limit: int = 5,
) -> Plan:  # fmt: skip
    out = Plan()
    ready = sorted(n["ID"] for n in nodes if n["Status"]["State"] == "ready" and n["Spec"]["Availability"] == "active")
    by_service: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        by_service.setdefault(t["ServiceID"], []).append(t)
    known = {s["ID"] for s in services}
    for t in tasks:
        if t["ServiceID"] not in known:
            if t["DesiredState"] == "running":
                out.update.append({**t, "DesiredState": "shutdown"})
            elif t["Status"]["State"] in ("shutdown", "complete", "failed", "rejected", "pending"):
                out.delete.append(t["ID"])
    load = {n: 0 for n in ready}
    for t in tasks:
        if t["DesiredState"] == "running" and t.get("NodeID") in load:
            load[t["NodeID"]] += 1
    for svc in services:
        replicas = int(svc["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas", 1))
        live = [t for t in by_service.get(svc["ID"], []) if t["DesiredState"] == "running"]
        slots = {t["Slot"]: t for t in live}
        for slot, t in slots.items():
            if slot > replicas or t["Status"]["State"] in ("complete", "failed", "rejected"):
                out.update.append({**t, "DesiredState": "shutdown"})
        for slot in range(1, replicas + 1):
            t = slots.get(slot)
            if t is not None and t["Status"]["State"] not in ("complete", "failed", "rejected"):
                continue
            if not ready:
                continue
            node = min(ready, key=lambda n: (load[n], n))
            load[node] += 1
            ts = _ts()
            out.create.append({
                "ID": new_id(), "ServiceID": svc["ID"], "Slot": slot, "NodeID": node, "DesiredState": "running",
                "Spec": svc["Spec"]["TaskTemplate"], "SpecVersion": svc["Version"],
                "Status": {"Timestamp": ts, "State": "assigned", "Message": "scheduler assigned task to node"},
                "CreatedAt": ts, "UpdatedAt": ts, "Labels": {},
                "ServiceAnnotations": {"Name": svc["Spec"]["Name"]},
            })  # fmt: skip
    return out
