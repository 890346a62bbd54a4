"""Docker's JSON for services and tasks (a first cut: replaced by the full module)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seaway.errors import InvalidParameter


def normalise_spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = dict(body)
    template = dict(spec.get("TaskTemplate") or {})
    cs = dict(template.get("ContainerSpec") or {})
    if not cs.get("Image"):
        raise InvalidParameter(
            "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided"
        )
    template["ContainerSpec"] = cs
    template.setdefault("ForceUpdate", 0)
    spec["TaskTemplate"] = template
    spec.setdefault("Mode", {"Replicated": {"Replicas": 1}})
    if "Replicated" in spec["Mode"]:
        spec["Mode"]["Replicated"].setdefault("Replicas", 1)
    spec.setdefault("EndpointSpec", {"Mode": "vip"})
    spec["EndpointSpec"].setdefault("Mode", "vip")
    return spec


def service_view(
    record: dict[str, Any], version: int, running: int | None = None, desired: int | None = None,
    completed: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    view = {k: v for k, v in record.items()}
    view["Version"] = {"Index": version}
    if running is not None:
        view["ServiceStatus"] = {
            "RunningTasks": running,
            "DesiredTasks": desired or 0,
            "CompletedTasks": completed or 0,
        }
    return view


def task_view(task: dict[str, Any], status: dict[str, Any] | None, version: int) -> dict[str, Any]:
    view = dict(task)
    view["Version"] = {"Index": version}
    addresses = (status or {}).get("Addresses") or {}
    if addresses:
        view["NetworksAttachments"] = [{"Network": {"ID": k}, "Addresses": v} for k, v in addresses.items()]
    return view


def task_filter(
    filters: dict[str, list[str]], services: dict[str, dict[str, Any]], nodes: dict[str, dict[str, Any]]
) -> Callable[[dict[str, Any]], bool]:
    def match(task: dict[str, Any]) -> bool:
        for name in filters.get("service", []):
            svc = services.get(task["ServiceID"])
            if name not in (task["ServiceID"], (svc or {}).get("Spec", {}).get("Name")):
                return False
        states = filters.get("desired-state", [])
        return not states or task.get("DesiredState") in states

    return match


def service_filter(filters: dict[str, list[str]]) -> Callable[[dict[str, Any]], bool]:
    def match(svc: dict[str, Any]) -> bool:
        names = filters.get("name", [])
        return not names or any(svc["Spec"]["Name"].startswith(n) for n in names)

    return match
