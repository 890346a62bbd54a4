"""Docker's JSON for swarm services and tasks (``GET /services``, ``/services/{id}``,
``/tasks``, ``/tasks/{id}``) built from the store's records, and the filters of those
lists, as dockerd 20.10 shows and applies them. Pure. Specs come from
``servicespec.normalise_spec``; service and task IDs from ``identity.new_id`` (25
base-36 characters, as swarmkit's).

Records (what the caller stores; this module only reads them)::

    services/<id>: {"ID", "CreatedAt", "UpdatedAt", "Spec", "PreviousSpec"?,
                    "Endpoint": {"Ports": [the spec's ports, PublishedPort assigned],
                                 "VirtualIPs": [{"NetworkID", "Addr": "ip/len"}]},
                    "UpdateStatus"?: {"State", "StartedAt"?, "CompletedAt"?, "Message"}}
    (the record's "Endpoint" also holds "Spec" once allocated: see endpoint_needs_allocation)
    tasks/<id>:    {"ID", "ServiceID", "Slot" (0 for global), "NodeID" ("" until placed),
                    "Spec" (the service's TaskTemplate when made), "EndpointSpec" (its
                    EndpointSpec then, or None), "ServiceAnnotations": {"Name", "Labels"},
                    "DesiredState", "CreatedAt", "UpdatedAt",
                    "Status": {"Timestamp", "State", "Message", "Err"?} (the leader's),
                    "Networks": [{"ID", "Addresses": ["ip/len"]}]}
    nodes/<n>/taskstatus/<id> (the agent's): {"Timestamp", "State", "Message", "Err"?,
                    "ContainerID"?, "PID"?, "ExitCode"?, "PortStatus"?: [port configs]}

What dockerd shows, and this module too: ``Endpoint.Spec`` is the copy of the spec's
``EndpointSpec`` the allocator made when it last allocated (``endpoint_needs_allocation``
says when); a service that publishes nothing and needs no VIP (dnsrr, or no network)
shows ``"Endpoint": {"Spec": {}}``, a vip service on a network but without an
``EndpointSpec`` too (with its ``VirtualIPs``); ``VirtualIPs`` (vip mode
only) list the ingress VIP first when a port is published in ingress mode, then one per
attached network in the spec's order; a task's ``Spec`` has no ``Runtime``, ``Slot`` is
absent for global tasks, ``Status.PortStatus`` is ``{}`` without host-mode ports,
``ContainerStatus`` appears once the agent reported a container (an empty one for a task
rejected before it had one, ``"Err": "No such image: …"``), ``Labels`` is ``{}``.
Deliberate difference: dockerd 20.10 lists each host-mode port of a task twice in
``PortStatus``; here once.

Progress display of ``docker service create``/``update`` without ``--detach`` (docker
CLI 28 against API 1.41; ``cli/command/service/progress``), observed against dockerd
20.10: every 200 ms it calls, in this order,

1. ``GET /services/<id>?insertDefaults=false`` — ``Spec.Mode`` picks the display
   (``Replicated.Replicas`` or ``Global``); ``Spec.UpdateConfig.Monitor`` (if not 0)
   replaces the 5 s stability wait; ``UpdateStatus.State`` ``completed`` ends the
   display at once when not yet converged, ``paused``/``rollback_paused`` end it with
   "service update paused: <Message>", ``rollback_started``/``rollback_completed``
   switch to "rolling back update" (no ``UpdateStatus`` at all, as after a create,
   is fine);
2. ``GET /tasks?filters={"_up-to-date":{"true":true},"service":{"<id>":true}}`` —
   tasks whose Spec (and EndpointSpec) equal the service's (``task_dirty``);
3. ``GET /nodes`` — tasks on a node whose ``Status.State`` is ``down`` are ignored.

Replicated: per slot it keeps the task with the lowest ``DesiredState`` (ties: lowest
``Status.State``), skips states it doesn't know; "running" counts tasks with
``Status.State == "running"`` and ``DesiredState`` not past running. Global: one task
per ``NodeID``; with no task yet it prints "waiting for new tasks"; the target is the
number of nodes seen among the up-to-date tasks. Converged = running equals the target;
it then waits ``Monitor`` (5 s) re-polling, prints "Service <id> converged" and exits 0
(any task falling out of running in that window restarts the wait: "Detected task
failure"). A task's ``Status.Err`` is shown in place of its state. So the agent must
report ``running`` in the task status, and the task's ``Spec`` must equal the service's
``TaskTemplate`` exactly, or the display never ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from seaway.cluster import orchestrator
from seaway.cluster.servicespec import insert_defaults
from seaway.drivers.overlay import VNI_OPTION
from seaway.errors import InvalidParameter, NotFound

Json = dict[str, Any]

TASK_STATES = (
    "new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running",
    "complete", "shutdown", "failed", "rejected", "remove", "orphaned",
)  # fmt: skip
TASK_FILTERS = ("name", "id", "label", "service", "node", "desired-state", "_up-to-date", "runtime")
GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # what Go prints for a timestamp never set
SERVICE_FILTERS = ("name", "id", "label", "mode", "runtime")


# -- services


def service_view(
    record: Json,
    version: int,
    running: int | None = None,
    desired: int | None = None,
    completed: int | None = None,
    *,
    with_defaults: bool = False,
) -> Json:
    """A ``Service`` as ``GET /services/{id}`` shows it; ``ServiceStatus`` only when the
    counts are given (``GET /services?status=true``); ``with_defaults`` for
    ``?insertDefaults=true``."""
    spec = record["Spec"]
    out: Json = {
        "ID": record["ID"],
        "Version": {"Index": version},
        "CreatedAt": record["CreatedAt"],
        "UpdatedAt": record.get("UpdatedAt", record["CreatedAt"]),
        "Spec": insert_defaults(spec) if with_defaults else spec,
    }
    if record.get("PreviousSpec"):
        out["PreviousSpec"] = record["PreviousSpec"]
    out["Endpoint"] = endpoint_view(record)
    if record.get("UpdateStatus"):
        out["UpdateStatus"] = record["UpdateStatus"]
    if running is not None:
        out["ServiceStatus"] = {"RunningTasks": running, "DesiredTasks": desired or 0, "CompletedTasks": completed or 0}
    return out


def endpoint_view(record: Json) -> Json:
    """The ``Endpoint`` of a service: what the allocator last made of its spec."""
    allocated = record.get("Endpoint") or {}
    out: Json = {"Spec": allocated.get("Spec") or {}}
    if allocated.get("Ports"):
        out["Ports"] = allocated["Ports"]
    mode = (record["Spec"].get("EndpointSpec") or {}).get("Mode", "vip")
    if mode == "vip" and allocated.get("VirtualIPs"):
        out["VirtualIPs"] = allocated["VirtualIPs"]
    return out


def endpoint_needs_allocation(spec: Json, endpoint: Json, ingress_id: str) -> bool:
    """Whether swarmkit's allocator (re)allocates a service's endpoint for this spec, given
    the ``Endpoint`` the record holds (``{}`` at create). Only then does ``Endpoint.Spec``
    become a copy of the spec's ``EndpointSpec`` (``{}`` when there is none): so a service
    that needs no VIP and publishes nothing shows ``"Spec": {}`` until an update changes its
    endpoint, and an update that removes the ports or switches to dnsrr shows the new
    ``EndpointSpec`` (``{"Mode": "vip"}``, ``{"Mode": "dnsrr"}``). Allocation also drops
    the VIPs of a dnsrr service and of networks no longer attached."""
    template = spec["TaskTemplate"]
    networks = {n["Target"] for n in template.get("Networks") or spec.get("Networks") or []}
    endpoint_spec = spec.get("EndpointSpec") or {}
    mode = endpoint_spec.get("Mode", "vip")
    ports = endpoint_spec.get("Ports") or []
    ingress_needed = any(p.get("PublishMode", "ingress") == "ingress" for p in ports)
    vips = {v["NetworkID"] for v in endpoint.get("VirtualIPs") or []}
    if networks and mode == "vip" and not networks <= vips:
        return True
    if any(not (v == ingress_id and ingress_needed) and v not in networks for v in vips):
        return True
    if mode == "dnsrr" and vips:
        return True
    allocated = endpoint.get("Ports") or []
    if ports or allocated:
        return not _ports_allocated(ports, allocated)
    return False


def _ports_allocated(wanted: list[Json], allocated: list[Json]) -> bool:
    if len(wanted) != len(allocated):
        return False
    keys = ("Protocol", "TargetPort", "PublishMode")
    for port in wanted:
        if not any(
            all(a.get(k) == port.get(k) for k in keys)
            and (not port.get("PublishedPort") or a.get("PublishedPort") == port["PublishedPort"])
            for a in allocated
        ):
            return False
    return True


def status_counts(service: Json, tasks: Iterable[Json], statuses: Mapping[str, Json]) -> tuple[int, int, int]:
    """(running, desired, completed) of ``ServiceStatus``, as swarmkit counts them: running
    tasks; the replica count, or for a global service the tasks desired running."""
    replicated = service["Spec"]["Mode"].get("Replicated")
    running = desired = 0
    for task in tasks:
        if _status(task, statuses.get(task["ID"])).get("State") == "running":
            running += 1
        if replicated is None and task.get("DesiredState") == "running":
            desired += 1
    if replicated is not None:
        desired = int(replicated.get("Replicas", 1))
    return running, desired, 0


def service_filter(filters: Mapping[str, list[str]]) -> Callable[[Json], bool]:
    """``GET /services?filters=``: id and name by prefix, label, mode, runtime."""
    _check_filters(filters, SERVICE_FILTERS)
    ids, names = filters.get("id") or [], filters.get("name") or []
    labels = _labels(filters.get("label") or [])
    modes = filters.get("mode") or []
    runtimes = filters.get("runtime") or ["container"]

    def wanted(record: Json) -> bool:
        spec = record["Spec"]
        return (
            _prefixed(record["ID"], ids)
            and _prefixed(spec["Name"], names)
            and _labels_match(spec.get("Labels") or {}, labels)
            and (not modes or _mode_name(spec) in modes)
            and "container" in runtimes
        )

    return wanted


def find_service(ref: str, services: Mapping[str, Json]) -> Json:
    """A service by full ID, name, then unique ID prefix, with dockerd's errors."""
    return _find(ref, services, "service", lambda r: r["Spec"]["Name"])


# -- tasks


def new_task(service: Json, task_id: str, slot: int, node_id: str, now: str) -> Json:
    """A task record for a slot (replicated; ``node_id`` "") or a node (global; ``slot`` 0),
    as swarmkit's ``NewTask`` makes one: state ``new``, "created", desired ``running``,
    the service's TaskTemplate and EndpointSpec copied (so it is up to date)."""
    spec = json.loads(json.dumps(service["Spec"]))
    return {
        "ID": task_id, "ServiceID": service["ID"], "Slot": slot, "NodeID": node_id,
        "Spec": spec["TaskTemplate"], "EndpointSpec": spec.get("EndpointSpec"),
        "ServiceAnnotations": {"Name": spec["Name"], "Labels": spec.get("Labels") or {}},
        "DesiredState": "running", "CreatedAt": now, "UpdatedAt": now,
        "Status": {"Timestamp": now, "State": "new", "Message": "created"}, "Networks": [],
    }  # fmt: skip


def task_view(task: Json, status: Json | None, version: int, networks: Mapping[str, Json] | None = None) -> Json:
    """A ``Task`` as ``GET /tasks/{id}`` shows it. ``status`` is the agent's report, if
    any; ``networks`` the swarm ``Network`` objects (``swarm_network``) by ID."""
    spec = {k: v for k, v in task["Spec"].items() if k != "Runtime"}
    out: Json = {
        "ID": task["ID"],
        "Version": {"Index": version},
        "CreatedAt": task["CreatedAt"],
        "UpdatedAt": task.get("UpdatedAt", task["CreatedAt"]),
        "Labels": {},
        "Spec": spec,
        "ServiceID": task["ServiceID"],
    }
    if task.get("Slot"):
        out["Slot"] = task["Slot"]
    if task.get("NodeID"):
        out["NodeID"] = task["NodeID"]
    out["Status"] = _status_view(_status(task, status))
    out["DesiredState"] = task["DesiredState"]
    attachments = [
        {"Network": (networks or {}).get(n["ID"], {"ID": n["ID"]}), "Addresses": list(n.get("Addresses") or [])}
        for n in task.get("Networks") or []
    ]
    if attachments:
        out["NetworksAttachments"] = attachments
    return out


def task_name(task: Json, service_name: str) -> str:
    """swarmkit's task name: ``<service>.<slot>.<task id>``, ``<service>.<node id>.<task id>``
    for a global task (the container is named so; ``service ps`` shows the first two)."""
    slot = str(task["Slot"]) if task.get("Slot") else task.get("NodeID", "")
    return f"{service_name}.{slot}.{task['ID']}"


def task_dirty(service: Json, task: Json, node: Json | None) -> bool:
    """Whether a task no longer matches its service (swarmkit's ``IsTaskDirty``; the
    orchestrator's own test, on the stored task, which keeps the EndpointSpec it was made
    with). The CLI's ``_up-to-date`` filter is its negation."""
    return not orchestrator.up_to_date(service, task, node)


def _without_placement(template: Json) -> Json:
    return {k: v for k, v in template.items() if k != "Placement"}


def task_filter(
    filters: Mapping[str, list[str]], services: Mapping[str, Json], nodes: Mapping[str, Json]
) -> Callable[[Json], bool]:
    """``GET /tasks?filters=`` over task records: id and name by prefix, label (the
    service's labels, as swarmkit), service and node (by ID, name or unique ID prefix;
    nodes by hostname), desired-state, runtime, ``_up-to-date``. ``services`` are service
    records by ID, ``nodes`` Docker's ``Node`` objects by ID. Raises dockerd's errors."""
    _check_filters(filters, TASK_FILTERS)
    service_ids = {find_service(ref, services)["ID"] for ref in filters.get("service") or []}
    node_ids = {_find(ref, nodes, "node", _node_name)["ID"] for ref in filters.get("node") or []}
    desired = set()
    for state in filters.get("desired-state") or []:
        if state.lower() not in TASK_STATES and state:
            raise InvalidParameter(f"Invalid desired-state filter: '{state}'")
        desired.add(state.lower())
    ids, names = filters.get("id") or [], filters.get("name") or []
    labels = _labels(filters.get("label") or [])
    runtimes = filters.get("runtime") or ["container", ""]
    up_to_date = bool(filters.get("_up-to-date"))

    def wanted(task: Json) -> bool:
        service = services.get(task["ServiceID"])
        annotations = task.get("ServiceAnnotations") or (service or {}).get("Spec") or {}
        if not _prefixed(task["ID"], ids) or not _labels_match(annotations.get("Labels") or {}, labels):
            return False
        if names and not _prefixed(task_name(task, annotations.get("Name", "")), names):
            return False
        if service_ids and task["ServiceID"] not in service_ids:
            return False
        if node_ids and task.get("NodeID") not in node_ids:
            return False
        if desired and task["DesiredState"] not in desired:
            return False
        if "container" not in runtimes:
            return False
        if up_to_date:
            return service is not None and not task_dirty(service, task, nodes.get(task.get("NodeID", "")))
        return True

    return wanted


def find_task(ref: str, tasks: Mapping[str, Json]) -> Json:
    """A task by full ID or unique ID prefix (``GET /tasks/{id}``), with dockerd's errors."""
    return _find(ref, tasks, "task", lambda t: "")


# -- networks as swarm shows them


def swarm_network(record: Json, version: int) -> Json:
    """A swarm ``Network`` (as in a task's ``NetworksAttachments``) from a network record."""
    options = {k: v for k, v in (record.get("Options") or {}).items() if k != VNI_OPTION}
    ingress = bool(record.get("Ingress"))
    spec: Json = {"Name": record["Name"], "Labels": dict(record.get("Labels") or {})}
    driver = record.get("Driver", "overlay")
    spec["DriverConfiguration"] = {} if ingress else {"Name": driver, **({"Options": options} if options else {})}
    if record.get("ConfigFrom"):
        spec["ConfigFrom"] = {"Network": record["ConfigFrom"]}
    for key, field in (("IPv6Enabled", "EnableIPv6"), ("Internal", "Internal"), ("Attachable", "Attachable")):
        if record.get(field):
            spec[key] = True
    if ingress:
        spec["Ingress"] = True
    given = [_ipam_config(s) for s in record.get("Subnets", []) if s.get("UserGiven")]
    spec["IPAMOptions"] = (
        {"Driver": {}} if ingress else {"Driver": {"Name": "default"}, **({"Configs": given} if given else {})}
    )
    spec["Scope"] = "swarm"
    return {
        "ID": record["ID"],
        "Version": {"Index": version},
        "CreatedAt": record["Created"],
        "UpdatedAt": record.get("Updated", record["Created"]),
        "Spec": spec,
        "DriverState": {
            "Name": driver,
            "Options": {VNI_OPTION: str(record["VNI"]), **options} if "VNI" in record else options,
        },
        "IPAMOptions": {
            "Driver": {"Name": "default"},
            "Configs": [_ipam_config(s) for s in record.get("Subnets", [])],
        },
    }


def _ipam_config(subnet: Json) -> Json:
    out = {"Subnet": subnet["Subnet"]}
    if subnet.get("IPRange"):
        out["Range"] = subnet["IPRange"]
    if subnet.get("Gateway"):
        out["Gateway"] = subnet["Gateway"]
    return out


# -- helpers


def _status(task: Json, reported: Json | None) -> Json:
    """The agent's report when it is at least as new as the leader's state."""
    own = task.get("Status") or {}
    if reported and str(reported.get("Timestamp", "")) >= str(own.get("Timestamp", "")):
        return reported
    return own


def _status_view(status: Json) -> Json:
    out: Json = {"Timestamp": status.get("Timestamp") or GO_ZERO_TIME, "State": status.get("State", "new")}
    for key in ("Message", "Err"):
        if status.get(key):
            out[key] = status[key]
    if "ContainerID" in status:
        out["ContainerStatus"] = {
            "ContainerID": status["ContainerID"],
            "PID": int(status.get("PID") or 0),
            "ExitCode": int(status.get("ExitCode") or 0),
        }
    ports = status.get("PortStatus") or []
    out["PortStatus"] = {"Ports": list(ports)} if ports else {}
    return out


def _check_filters(filters: Mapping[str, list[str]], accepted: tuple[str, ...]) -> None:
    for key in filters:
        if key not in accepted:
            raise InvalidParameter(f"Invalid filter '{key}'")


def _prefixed(value: str, prefixes: list[str]) -> bool:
    return not prefixes or any(value.startswith(p) for p in prefixes)


def _labels(values: list[str]) -> dict[str, str]:
    return dict(v.split("=", 1) if "=" in v else (v, "") for v in values)


def _labels_match(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(k in labels and (not v or labels[k] == v) for k, v in wanted.items())


def _mode_name(spec: Json) -> str:
    return {"Replicated": "replicated", "Global": "global", "ReplicatedJob": "replicated-job"}.get(
        next(iter(spec["Mode"])), "global-job"
    )


def _node_name(node: Json) -> str:
    return (node.get("Spec") or {}).get("Name") or (node.get("Description") or {}).get("Hostname", "")


def _find(ref: str, objects: Mapping[str, Json], kind: str, name: Callable[[Json], str]) -> Json:
    if ref in objects:
        return objects[ref]
    matches = [o for o in objects.values() if name(o) == ref] or [
        o for o in objects.values() if ref and str(o["ID"]).startswith(ref)
    ]
    if not matches:
        raise NotFound(f"{kind} {ref} not found")
    if len(matches) > 1:
        raise InvalidParameter(f"{kind} {ref} is ambiguous ({len(matches)} matches found)")
    return matches[0]
