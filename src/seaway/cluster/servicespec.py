"""Swarm service specs: the ``ServiceSpec`` of ``POST /services/create`` and
``/services/{id}/update`` checked and stored the way dockerd 20.10 stores and shows it,
and placement constraints. Pure.

dockerd converts the body to swarmkit's protobuf spec and back when it shows it, so what
``docker service inspect`` prints is the body with Go's ``omitempty`` applied and a few
fields filled: ``ContainerSpec.Isolation: "default"``, ``TaskTemplate.Runtime:
"container"``, ``ForceUpdate: 0``, ``Mode.Replicated.Replicas: 1`` when missing,
``EndpointSpec.Mode: "vip"``, a port's ``Protocol: "tcp"`` and ``PublishMode: "ingress"``,
a given ``RestartPolicy``'s ``Condition: "any"`` and ``MaxAttempts: 0``, a given
``UpdateConfig``/``RollbackConfig``'s ``FailureAction: "pause"``, ``Order: "stop-first"``,
``Parallelism`` and ``MaxFailureRatio``. Objects given empty (``Resources: {}``,
``Placement: {}``, ``DNSConfig: {}``) stay; empty lists and maps, false flags and zero
numbers go. Network targets (name, ID or unique ID prefix) become network IDs.

Errors carry dockerd's texts, ``rpc error: code = … desc = …`` prefix included where
swarmkit made them (the docker CLI prints them after "Error response from daemon: ").
Deliberate differences (refused here, accepted by dockerd 20.10): a publish mode other
than ingress/host or a protocol other than tcp/udp/sctp (the docker CLI's own texts), a
published or target port above 65535, a network given twice, and a network that is not a
swarm network; constraint errors are 400 (dockerd answers 500 with the same text).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from seaway.cluster.constraints import parse_constraints
from seaway.errors import Conflict, InvalidParameter, NotFound, Unsupported
from seaway.runtime.reference import is_reference

Json = dict[str, Any]

RPC_INVALID = "rpc error: code = InvalidArgument desc = "
RPC_UNKNOWN = "rpc error: code = Unknown desc = "
RPC_UNIMPLEMENTED = "rpc error: code = Unimplemented desc = "
SECOND = 1_000_000_000
DEFAULT_STOP_GRACE = 10 * SECOND
DEFAULT_RESTART_DELAY = 5 * SECOND
DEFAULT_MONITOR = 5 * SECOND
PROTOCOLS = ("tcp", "udp", "sctp")
PUBLISH_MODES = ("ingress", "host")
RESTART_CONDITIONS = ("none", "on-failure", "any")  # dockerd defaults to "any"
FAILURE_ACTIONS = ("pause", "continue", "rollback")
ORDERS = ("stop-first", "start-first")
MOUNT_TYPES = ("bind", "volume", "tmpfs", "npipe")
_DNS_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")
# container spec fields in Go's order; "flag" = bool omitempty, "keep" = a pointer (shown when given)
_CONTAINER_FIELDS: tuple[tuple[str, str], ...] = (
    ("Image", "str"), ("Labels", "map"), ("Command", "list"), ("Args", "list"), ("Hostname", "str"),
    ("Env", "list"), ("Dir", "str"), ("User", "str"), ("Groups", "list"), ("Privileges", "keep"),
    ("Init", "keep"), ("StopSignal", "str"), ("TTY", "flag"), ("OpenStdin", "flag"), ("ReadOnly", "flag"),
    ("Mounts", "mounts"), ("StopGracePeriod", "keep"), ("Healthcheck", "health"), ("Hosts", "list"),
    ("DNSConfig", "dns"), ("Secrets", "list"), ("Configs", "list"), ("Isolation", "str"), ("Sysctls", "map"),
    ("CapabilityAdd", "list"), ("CapabilityDrop", "list"), ("Ulimits", "list"),
)  # fmt: skip
_ADJECTIVES = ("brave", "calm", "eager", "fair", "gentle", "keen", "lucid", "merry", "quiet", "swift")
_NOUNS = ("harbor", "reef", "tide", "gull", "buoy", "dune", "cove", "delta", "pier", "skiff")


def normalise_spec(body: Any, networks: Mapping[str, Json] | None = None) -> Json:
    """A create or update body as dockerd stores and shows it; raises Docker's errors.

    ``networks`` are the swarm network records by ID (``netrecords``' shape: ``ID``,
    ``Name``, ``Ingress``) that ``TaskTemplate.Networks[].Target`` may name."""
    if not isinstance(body, dict):
        raise InvalidParameter("json: cannot unmarshal value into Go value of type swarm.ServiceSpec")
    body = _canonical(body)
    raw_template = _obj(body.get("TaskTemplate"))
    template = _task_template(raw_template)
    spec: Json = {
        "Name": str(body.get("Name") or _random_name()),
        "Labels": dict(_obj(body.get("Labels"))),
        "TaskTemplate": template,
        "Mode": _mode(body.get("Mode")),
    }
    for key in ("UpdateConfig", "RollbackConfig"):
        if body.get(key) is not None:
            spec[key] = _update_config(_obj(body[key]), key)
    if body.get("EndpointSpec") is not None:
        spec["EndpointSpec"] = _endpoint_spec(_obj(body["EndpointSpec"]))
    # dockerd looks the networks up once the body converted, swarmkit checks the spec, then
    # refuses the ingress network
    attached: list[Json] = []
    if raw_template.get("Networks"):
        template["Networks"], records = _attachments(raw_template["Networks"], networks or {})
        attached += records
        spec["TaskTemplate"] = _ordered(template, _TEMPLATE_ORDER)
    if body.get("Networks"):
        spec["Networks"], records = _attachments(body["Networks"], networks or {})
        attached += records
    _validate(spec)
    for record in attached:
        if record.get("Ingress"):
            raise InvalidParameter(
                f'{RPC_INVALID}Service cannot be explicitly attached to the ingress network "{record["Name"]}"'
            )
    return _ordered(spec, _SPEC_ORDER)


def check_update(current: Json, new: Json) -> None:
    """What ``/services/{id}/update`` refuses beyond a bad spec (swarmkit's texts)."""
    if _mode_kind(current) != _mode_kind(new):
        raise Unsupported(RPC_UNIMPLEMENTED + "service mode change is not allowed")
    if current["Name"] != new["Name"]:
        raise Unsupported(RPC_UNIMPLEMENTED + "renaming services is not supported")


def check_port_conflicts(spec: Json, others: Iterable[Json]) -> None:
    """Refuse published ports another service holds (``others``: service records with
    ``ID``, ``Spec`` and ``Endpoint.Ports``), as swarmkit: an ingress port conflicts with
    any use of the port and protocol; host-mode ports only with an ingress one."""
    mine = [p for p in (spec.get("EndpointSpec") or {}).get("Ports", []) if p.get("PublishedPort")]
    ingress = {(p["Protocol"], p["PublishedPort"]) for p in mine if p["PublishMode"] == "ingress"}
    host = {(p["Protocol"], p["PublishedPort"]) for p in mine if p["PublishMode"] == "host"}
    if not ingress and not host:
        return
    for other in others:
        theirs = [
            *(other["Spec"].get("EndpointSpec") or {}).get("Ports", []),
            *other.get("Endpoint", {}).get("Ports", []),
        ]
        for port in theirs:
            key = (port.get("Protocol", "tcp"), port.get("PublishedPort", 0))
            if not key[1]:
                continue
            where = f"by service '{other['Spec']['Name']}' ({other['ID']})"
            if port.get("PublishMode", "ingress") == "host" and key in ingress:
                raise InvalidParameter(
                    f"{RPC_INVALID}port '{key[1]}' is already in use {where} as a host-published port"
                )
            if port.get("PublishMode", "ingress") == "ingress" and (key in ingress or key in host):
                raise InvalidParameter(f"{RPC_INVALID}port '{key[1]}' is already in use {where} as an ingress port")


def name_conflict(name: str) -> Conflict:
    """The 409 of a create whose name another service holds."""
    return Conflict(
        f"rpc error: code = AlreadyExists desc = name conflicts with an existing object: service {name} already exists"
    )


def no_previous_spec(service_id: str) -> Conflict:
    """The refusal of ``?rollback=previous`` for a service never updated."""
    return Conflict(f"rpc error: code = FailedPrecondition desc = service {service_id} does not have a previous spec")


def insert_defaults(spec: Json) -> Json:
    """The spec as ``GET /services/{id}?insertDefaults=true`` shows it (swarmkit's defaults)."""
    out = _copy(spec)
    template = out["TaskTemplate"]
    container = template.get("ContainerSpec")
    if container is not None:
        filled = {**container}
        filled.setdefault("StopGracePeriod", DEFAULT_STOP_GRACE)
        filled.setdefault("DNSConfig", {})
        template["ContainerSpec"] = {k: filled[k] for k, _ in _CONTAINER_FIELDS if k in filled}
    template.setdefault("Resources", {})
    restart = template.get("RestartPolicy") or {"Condition": "any", "MaxAttempts": 0}
    restart.setdefault("Delay", DEFAULT_RESTART_DELAY)
    template["RestartPolicy"] = {k: restart[k] for k in ("Condition", "Delay", "MaxAttempts", "Window") if k in restart}
    template.setdefault("Placement", {})
    out["TaskTemplate"] = _ordered(template, _TEMPLATE_ORDER)
    for key in ("UpdateConfig", "RollbackConfig"):
        config = out.get(key) or {
            "Parallelism": 1,
            "FailureAction": "pause",
            "MaxFailureRatio": 0,
            "Order": "stop-first",
        }
        config.setdefault("Monitor", DEFAULT_MONITOR)
        out[key] = _ordered(config, _UPDATE_ORDER)
    return _ordered(out, _SPEC_ORDER)


# -- the parts of a spec

_SPEC_ORDER = ("Name", "Labels", "TaskTemplate", "Mode", "UpdateConfig", "RollbackConfig", "Networks", "EndpointSpec")
_TEMPLATE_ORDER = (
    "ContainerSpec", "PluginSpec", "Resources", "RestartPolicy", "Placement", "Networks", "LogDriver", "ForceUpdate",
    "Runtime",
)  # fmt: skip
_UPDATE_ORDER = ("Parallelism", "Delay", "FailureAction", "Monitor", "MaxFailureRatio", "Order")


def _task_template(raw: Json) -> Json:
    runtime = raw.get("Runtime") or "container"
    if runtime == "plugin":
        raise Unsupported('plugin services (TaskTemplate.Runtime "plugin") are not supported by Seaway')
    if runtime != "container":
        raise InvalidParameter("unsupported runtime")
    if raw.get("ContainerSpec") is None:
        raise InvalidParameter("mismatched Runtime and *Spec fields")
    out: Json = {"ContainerSpec": _container(_obj(raw["ContainerSpec"]), raw)}
    if raw.get("Resources") is not None or _pids(raw):
        out["Resources"] = _resources(_obj(raw.get("Resources")), _pids(raw))
    if raw.get("RestartPolicy") is not None:
        out["RestartPolicy"] = _restart(_obj(raw["RestartPolicy"]))
    if raw.get("Placement") is not None:
        out["Placement"] = _placement(_obj(raw["Placement"]))
    if raw.get("LogDriver") is not None:
        log_driver = _obj(raw["LogDriver"])
        out["LogDriver"] = {"Name": str(log_driver.get("Name", ""))}
        if log_driver.get("Options"):
            out["LogDriver"]["Options"] = dict(log_driver["Options"])
    out["ForceUpdate"] = _uint(raw.get("ForceUpdate", 0), "TaskSpec.TaskTemplate.ForceUpdate", "uint64")
    out["Runtime"] = "container"
    return out


def _container(raw: Json, template: Json) -> Json:
    out: Json = {}
    for key, kind in _CONTAINER_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if kind == "keep":
            out[key] = value
        elif kind == "flag":
            if value:
                out[key] = True
        elif kind == "mounts":
            if value:
                out[key] = [_mount(m) for m in value]
        elif kind == "health":
            out[key] = {k: value[k] for k in ("Test", "Interval", "Timeout", "StartPeriod", "Retries") if value.get(k)}
        elif kind == "dns":
            out[key] = {k: value[k] for k in ("Nameservers", "Search", "Options") if value.get(k)}
        elif value:
            out[key] = value
    if out.get("Secrets") or out.get("Configs"):
        raise Unsupported("secrets and configs in services are not supported by Seaway yet")
    out["Isolation"] = out.get("Isolation") or "default"
    return out


def _mount(raw: Any) -> Json:
    mount = _obj(raw)
    kind = mount.get("Type", "")
    if kind not in MOUNT_TYPES:
        raise InvalidParameter(f'invalid MountType: "{kind}"')
    keys = ("Type", "Source", "Target", "ReadOnly", "Consistency", "BindOptions", "VolumeOptions", "TmpfsOptions")
    return {k: mount[k] for k in keys if mount.get(k)}


def _pids(template: Json) -> int:
    return int((_obj(_obj(template.get("Resources")).get("Limits"))).get("Pids") or 0)


def _resources(raw: Json, pids: int) -> Json:
    out: Json = {}
    if raw.get("Limits") is not None or pids:
        limits = _obj(raw.get("Limits"))
        out["Limits"] = {k: limits[k] for k in ("NanoCPUs", "MemoryBytes", "Pids") if limits.get(k)}
    if raw.get("Reservations") is not None:
        reservations = _obj(raw["Reservations"])
        keys = ("NanoCPUs", "MemoryBytes", "GenericResources")
        out["Reservations"] = {k: reservations[k] for k in keys if reservations.get(k)}
    return out


def _restart(raw: Json) -> Json:
    condition = _choice(raw.get("Condition"), RESTART_CONDITIONS, 'invalid RestartCondition: "{}"', "any")
    out: Json = {"Condition": condition}
    if raw.get("Delay") is not None:
        out["Delay"] = _int(raw["Delay"], "RestartPolicy.TaskTemplate.RestartPolicy.Delay", "time.Duration")
    out["MaxAttempts"] = _uint(raw.get("MaxAttempts") or 0, "RestartPolicy.TaskTemplate.RestartPolicy.MaxAttempts")
    if raw.get("Window") is not None:
        out["Window"] = _int(raw["Window"], "RestartPolicy.TaskTemplate.RestartPolicy.Window", "time.Duration")
    return out


def _placement(raw: Json) -> Json:
    out: Json = {}
    if raw.get("Constraints"):
        out["Constraints"] = [str(c) for c in raw["Constraints"]]
    spreads = [p for p in raw.get("Preferences") or [] if _obj(p).get("Spread") is not None]
    if spreads:
        out["Preferences"] = [
            {"Spread": {"SpreadDescriptor": p["Spread"].get("SpreadDescriptor", "")}} for p in spreads
        ]
    if raw.get("MaxReplicas"):
        out["MaxReplicas"] = _uint(raw["MaxReplicas"], "Placement.TaskTemplate.Placement.MaxReplicas")
    if raw.get("Platforms"):
        out["Platforms"] = [{k: p[k] for k in ("Architecture", "OS") if p.get(k)} for p in raw["Platforms"]]
    return out


def _attachments(raw: Any, networks: Mapping[str, Json]) -> tuple[list[Json], list[Json]]:
    """The attachments with network IDs, and the network records they name."""
    out, records = [], []
    seen: set[str] = set()
    for item in raw:
        item = _obj(item)
        record = _network(str(item.get("Target", "")), networks)
        if record["ID"] in seen:
            raise InvalidParameter(
                f"network {record['Name']} is given more than once: attach a service once per network"
            )
        seen.add(record["ID"])
        attachment: Json = {"Target": record["ID"]}
        if item.get("Aliases"):
            attachment["Aliases"] = [str(a) for a in item["Aliases"]]
        if item.get("DriverOpts"):
            attachment["DriverOpts"] = dict(item["DriverOpts"])
        out.append(attachment)
        records.append(record)
    return out, records


def _network(ref: str, networks: Mapping[str, Json]) -> Json:
    """A network by full ID, name, then unique ID prefix (dockerd's order)."""
    if ref in networks:
        return networks[ref]
    named = [r for r in networks.values() if r.get("Name") == ref]
    if len(named) == 1:
        return named[0]
    prefixed = [r for r in networks.values() if ref and str(r["ID"]).startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise NotFound(f"network {ref} not found")


def _mode(raw: Any) -> Json:
    mode = _obj(raw)
    kinds = [k for k in ("Replicated", "Global", "ReplicatedJob", "GlobalJob") if mode.get(k) is not None]
    if len(kinds) > 1:
        raise InvalidParameter("must specify only one service mode")
    if kinds and kinds[0].endswith("Job"):
        raise Unsupported("job services (replicated-job, global-job) are not supported by Seaway yet")
    if kinds == ["Global"]:
        return {"Global": {}}
    replicas = _obj(mode.get("Replicated")).get("Replicas")
    count = 1 if replicas is None else _uint(replicas, "ReplicatedService.Mode.Replicated.Replicas")
    return {"Replicated": {"Replicas": count}}


def _update_config(raw: Json, key: str) -> Json:
    where = f"UpdateConfig.{key}"
    action = _choice(raw.get("FailureAction"), FAILURE_ACTIONS, "unrecognized update failure action {}")
    order = _choice(raw.get("Order"), ORDERS, "unrecognized update order {}")
    out: Json = {"Parallelism": _uint(raw.get("Parallelism") or 0, f"{where}.Parallelism")}
    if raw.get("Delay"):
        out["Delay"] = _int(raw["Delay"], f"{where}.Delay", "time.Duration")
    out["FailureAction"] = action
    if raw.get("Monitor"):
        out["Monitor"] = _int(raw["Monitor"], f"{where}.Monitor", "time.Duration")
    ratio = raw.get("MaxFailureRatio") or 0
    if not isinstance(ratio, int | float) or isinstance(ratio, bool):
        raise InvalidParameter(
            f"json: cannot unmarshal {_json_kind(ratio)} into Go struct field {where}.MaxFailureRatio of type float32"
        )
    out["MaxFailureRatio"] = ratio
    out["Order"] = order
    return out


def _endpoint_spec(raw: Json) -> Json:
    mode = raw.get("Mode") or "vip"
    if mode not in ("vip", "dnsrr"):
        raise InvalidParameter(f'invalid resolution mode: "{mode}"')
    out: Json = {"Mode": mode}
    ports = [_port(_obj(p)) for p in raw.get("Ports") or []]
    if ports:
        out["Ports"] = ports
    return out


def _port(raw: Json) -> Json:
    protocol = _choice(raw.get("Protocol"), PROTOCOLS, "invalid protocol value '{}'")
    mode = _choice(
        raw.get("PublishMode"), PUBLISH_MODES, "invalid publish mode value ({}): must be either 'ingress' or 'host'"
    )
    out: Json = {}
    if raw.get("Name"):
        out["Name"] = str(raw["Name"])
    out["Protocol"] = protocol
    for key in ("TargetPort", "PublishedPort"):
        value = _uint(raw.get(key) or 0, f"PortConfig.EndpointSpec.Ports.{key}", "uint32")
        if value > 65535:
            raise InvalidParameter(f"invalid {key} {value}: a port is 1 to 65535")
        if value:
            out[key] = value
    out["PublishMode"] = mode
    return out


# -- swarmkit's checks, in its order


def _validate(spec: Json) -> None:
    name = spec["Name"]
    if not _DNS_NAME.match(name):
        raise InvalidParameter(RPC_INVALID + "name must be valid as a DNS name component")
    if len(name) > 63:
        raise InvalidParameter(RPC_INVALID + "name must be 63 characters or fewer")
    template = spec["TaskTemplate"]
    resources = template.get("Resources") or {}
    for part in ("Limits", "Reservations"):
        _check_resources(resources.get(part) or {})
    restart = template.get("RestartPolicy") or {}
    for key, word in (("Delay", "restart-delay"), ("Window", "restart-window")):
        if restart.get(key, 0) < 0:
            raise InvalidParameter(f"{RPC_INVALID}TaskSpec: {word} cannot be negative")
    try:
        parse_constraints((template.get("Placement") or {}).get("Constraints", []))
    except InvalidParameter as exc:
        raise InvalidParameter(RPC_UNKNOWN + str(exc)) from None
    _check_container(template["ContainerSpec"])
    _check_update(spec.get("UpdateConfig"))
    _check_endpoint(spec.get("EndpointSpec"))


def _check_resources(r: Json) -> None:
    cpus, memory = r.get("NanoCPUs", 0), r.get("MemoryBytes", 0)
    if cpus and cpus < 1_000_000:
        raise InvalidParameter(f"{RPC_INVALID}invalid cpu value {_go_g(cpus / 1e9)}: Must be at least 0.001")
    if memory and memory < 4 * 1024 * 1024:
        raise InvalidParameter(f"{RPC_INVALID}invalid memory value {memory}: Must be at least 4MiB")


def _check_container(container: Json) -> None:
    image = container.get("Image", "")
    if not image:
        raise InvalidParameter(RPC_INVALID + "ContainerSpec: image reference must be provided")
    if not is_reference(image):
        raise InvalidParameter(f'{RPC_INVALID}ContainerSpec: "{image}" is not a valid repository/tag')
    targets: set[str] = set()
    for mount in container.get("Mounts", []):
        if mount.get("Target", "") in targets:
            raise InvalidParameter(f"{RPC_INVALID}ContainerSpec: duplicate mount point: {mount.get('Target', '')}")
        targets.add(mount.get("Target", ""))
    health = container.get("Healthcheck") or {}
    for key in ("Interval", "Timeout", "StartPeriod"):
        if 0 < health.get(key, 0) < 1_000_000:
            raise InvalidParameter(f"{RPC_INVALID}ContainerSpec: {key} in HealthConfig cannot be less than 1ms")
    if health.get("Retries", 0) < 0:
        raise InvalidParameter(RPC_INVALID + "ContainerSpec: Retries in HealthConfig cannot be negative")


def _check_update(update: Json | None) -> None:
    if update is None:
        return
    if update.get("Delay", 0) < 0:
        raise InvalidParameter(RPC_INVALID + "TaskSpec: update-delay cannot be negative")
    if update.get("Monitor", 0) < 0:
        raise InvalidParameter(RPC_INVALID + "TaskSpec: update-monitor cannot be negative")
    if not 0 <= update["MaxFailureRatio"] <= 1:
        raise InvalidParameter(RPC_INVALID + "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1")


def _check_endpoint(endpoint: Json | None) -> None:
    if endpoint is None:
        return
    seen: set[tuple[str, int]] = set()
    for port in endpoint.get("Ports", []):
        if endpoint["Mode"] == "dnsrr" and port["PublishMode"] == "ingress":
            raise InvalidParameter(
                RPC_INVALID + "EndpointSpec: port published with ingress mode can't be used with dnsrr mode"
            )
        if not port.get("PublishedPort"):
            continue
        key = (port["Protocol"], port["PublishedPort"])
        if key in seen:
            raise InvalidParameter(RPC_INVALID + "EndpointSpec: duplicate published ports provided")
        seen.add(key)


# -- small helpers

# Go's encoding/json matches field names case-insensitively, and docker-py 7.1 relies on
# it: its ServiceMode sends {"replicated": {"Replicas": 2}} and {"global": {}}
_FIELDS = {
    name.lower(): name
    for name in (
        *_SPEC_ORDER, *_TEMPLATE_ORDER, *_UPDATE_ORDER, *(k for k, _ in _CONTAINER_FIELDS),
        "Replicated", "Global", "ReplicatedJob", "GlobalJob", "Replicas", "MaxConcurrent", "TotalCompletions",
        "Limits", "Reservations", "NanoCPUs", "MemoryBytes", "Pids", "GenericResources", "Condition", "Delay",
        "MaxAttempts", "Window", "Constraints", "Preferences", "Spread", "SpreadDescriptor", "MaxReplicas",
        "Platforms", "Architecture", "OS", "Target", "Aliases", "DriverOpts", "Options", "Type", "Source",
        "Consistency", "BindOptions", "VolumeOptions", "TmpfsOptions", "Test", "Interval", "Timeout",
        "StartPeriod", "Retries", "Nameservers", "Search", "Protocol", "TargetPort", "PublishedPort",
        "PublishMode", "Ports",
    )
}  # fmt: skip
_FREE_MAPS = ("Labels", "Options", "DriverOpts", "Sysctls")  # user keys, kept as given


def _canonical(value: Any, free: bool = False) -> Any:
    if isinstance(value, dict):
        if free:
            return dict(value)
        out = {}
        for key, item in value.items():
            name = _FIELDS.get(str(key).lower(), key)
            out[name] = _canonical(item, name in _FREE_MAPS)
        return out
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _obj(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _choice(value: Any, allowed: tuple[str, ...], error: str, default: str = "") -> str:
    """A value of an enumeration; missing or empty means ``default`` (the first allowed)."""
    chosen = value or default or allowed[0]
    if chosen not in allowed:
        raise InvalidParameter(error.format(chosen))
    return str(chosen)


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"number {value}"


def _uint(value: Any, where: str, gotype: str = "uint64") -> int:
    """A JSON unsigned integer, refused with Go's ``encoding/json`` text as dockerd does."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise InvalidParameter(
            f"json: cannot unmarshal {_json_kind(value)} into Go struct field {where} of type {gotype}"
        )
    return int(value)


def _int(value: Any, where: str, gotype: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidParameter(
            f"json: cannot unmarshal {_json_kind(value)} into Go struct field {where} of type {gotype}"
        )
    return int(value)


def _go_g(value: float) -> str:
    """Go's ``%g`` (Python's drops nothing Go keeps for these magnitudes)."""
    return f"{value:g}"


def _mode_kind(spec: Json) -> str:
    return next(iter(spec["Mode"]))


def _ordered(obj: Json, order: tuple[str, ...]) -> Json:
    return {k: obj[k] for k in order if k in obj} | {k: v for k, v in obj.items() if k not in order}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _random_name() -> str:
    """A name for a service created without one (dockerd picks one too; the words differ)."""
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}"
