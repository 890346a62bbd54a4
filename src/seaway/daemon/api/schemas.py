"""Docker's JSON shapes <-> Seaway's model. Pure: no I/O, no state.

Inputs are read with ``fields`` (a wrong type is a 400 naming the field); outputs follow
the Engine API (1.41 shapes, plus the fields newer clients read, such as ``GwPriority``,
``DNSNames`` and ``EnableIPv4``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seaway.daemon.api import fields as f
from seaway.dns.records import member_names
from seaway.errors import InvalidParameter, Unsupported
from seaway.model import hostconfig, logconfig, mounts, ports
from seaway.model.container import RESTART_POLICIES, Container, ContainerSpec, RestartPolicy
from seaway.model.endpoint import Endpoint, EndpointSpec
from seaway.model.network import IPAMConfigSpec, Network, NetworkSpec

if TYPE_CHECKING:  # the readings' type only: this module does no I/O
    from seaway.runtime import stats

ZERO_TIME = "0001-01-01T00:00:00Z"

# ------------------------------------------------------------------ networks


def parse_network_create(body: dict[str, Any]) -> NetworkSpec:
    name = f.string(body, "Name")
    if not name:
        raise InvalidParameter("invalid name: a network needs a name")
    if f.boolean(body, "Ingress"):
        raise Unsupported("Ingress networks are not supported by Seaway yet")
    ipam = f.obj(body, "IPAM")
    raw_configs = ipam.get("Config") or []
    if not isinstance(raw_configs, list):
        raise InvalidParameter("json: cannot unmarshal into field IPAM.Config of type []IPAMConfig")
    configs = []
    for raw in raw_configs:
        if not isinstance(raw, dict):
            raise InvalidParameter("json: cannot unmarshal into field IPAM.Config of type IPAMConfig")
        configs.append(
            IPAMConfigSpec(
                subnet=f.string(raw, "Subnet"),
                ip_range=f.string(raw, "IPRange"),
                gateway=f.string(raw, "Gateway"),
                aux_addresses=f.str_map(raw, "AuxiliaryAddresses"),
            )
        )
    if any(not c.subnet for c in configs):
        raise InvalidParameter("invalid network config:\nIPAM config without a subnet is not supported")
    return NetworkSpec(
        name=name,
        driver=f.string(body, "Driver") or "bridge",
        ipam_driver=f.string(ipam, "Driver") or "default",
        ipam_configs=tuple(configs),
        ipam_options=f.str_map(ipam, "Options"),
        enable_ipv6=f.boolean(body, "EnableIPv6"),
        internal=f.boolean(body, "Internal"),
        attachable=f.boolean(body, "Attachable"),
        options=f.str_map(body, "Options"),
        labels=f.str_map(body, "Labels"),
        scope=f.string(body, "Scope"),
        config_only=f.boolean(body, "ConfigOnly"),
        config_from=f.string(f.obj(body, "ConfigFrom"), "Network"),
    )


def network_json(net: Network, containers: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    configs = []
    for s in sorted(net.subnets, key=lambda s: s.version):  # IPv4 first, as Docker lists them
        entry: dict[str, Any] = {"Subnet": str(s.subnet)}
        if s.gateway is not None:
            entry["Gateway"] = str(s.gateway)
        if s.ip_range is not None:
            entry["IPRange"] = str(s.ip_range)
        if s.aux_addresses:
            entry["AuxiliaryAddresses"] = {k: str(v) for k, v in s.aux_addresses.items()}
        configs.append(entry)
    if net.placeholder:  # the swarm's record, as dockerd shows it where the node has not built it
        return {
            "Name": net.name, "Id": net.id, "Created": net.created, "Scope": "swarm", "Driver": net.driver,
            "EnableIPv4": True, "EnableIPv6": False, "IPAM": {"Driver": "", "Options": None, "Config": []},
            "Internal": net.internal, "Attachable": net.attachable, "Ingress": False,
            "ConfigFrom": {"Network": net.config_from}, "ConfigOnly": False, "Containers": containers or None,
            "Options": None, "Labels": None,
        }  # fmt: skip
    return {
        "Name": net.name,
        "Id": net.id,
        "Created": net.created,
        "Scope": net.scope,
        "Driver": net.driver,
        "EnableIPv4": True,
        "EnableIPv6": net.enable_ipv6,
        "IPAM": {"Driver": net.ipam_driver, "Options": dict(net.ipam_options) or None, "Config": configs},
        "Internal": net.internal,
        "Attachable": net.attachable,
        "Ingress": net.ingress,
        "ConfigFrom": {"Network": net.config_from},
        "ConfigOnly": net.config_only,
        "Containers": containers or {},
        "Options": dict(net.options),
        "Labels": dict(net.labels),
    }


def network_container_entry(name: str, ep: Endpoint) -> dict[str, Any]:
    return {
        "Name": name,
        "EndpointID": ep.id,
        "MacAddress": ep.mac_address,
        "IPv4Address": f"{ep.ipv4}/{ep.ipv4_prefixlen}" if ep.ipv4 else "",
        "IPv6Address": f"{ep.ipv6}/{ep.ipv6_prefixlen}" if ep.ipv6 else "",
    }


def parse_endpoint(body: dict[str, Any]) -> EndpointSpec:
    """Docker's ``EndpointSettings`` (connect body, ``NetworkingConfig.EndpointsConfig``)."""
    ipam = f.obj(body, "IPAMConfig")
    return EndpointSpec(
        ipv4_address=f.string(ipam, "IPv4Address"),
        ipv6_address=f.string(ipam, "IPv6Address"),
        mac_address=f.string(body, "MacAddress"),
        aliases=f.str_list(body, "Aliases"),
        gw_priority=f.integer(body, "GwPriority"),
        driver_opts=f.str_map(body, "DriverOpts"),
        link_local_ips=f.str_list(ipam, "LinkLocalIPs"),
        links=f.str_list(body, "Links"),
    )


def _ipam_config(spec: EndpointSpec) -> dict[str, Any] | None:
    """``IPAMConfig`` as given: only the keys the client set (Docker omits empty ones)."""
    ipam: dict[str, Any] = {}
    if spec.ipv4_address:
        ipam["IPv4Address"] = spec.ipv4_address
    if spec.ipv6_address:
        ipam["IPv6Address"] = spec.ipv6_address
    if spec.link_local_ips:
        ipam["LinkLocalIPs"] = list(spec.link_local_ips)
    return ipam or None


def _aliases(spec: EndpointSpec, ctr: Container, named: bool, version: tuple[int, int]) -> list[str] | None:
    """From API 1.45 the aliases as given; below, 20.10's shape: on a user-defined network a
    container that has started also lists its short ID (and its hostname when that differs
    from its name)."""
    aliases = list(spec.aliases)
    if version < (1, 45) and named and ctr.state.started_at != ZERO_TIME:
        extra = [ctr.id[:12]]
        if ctr.spec.hostname and ctr.spec.hostname != ctr.name:
            extra.append(ctr.spec.hostname)
        aliases += [a for a in extra if a not in aliases]
    return aliases or None


def endpoint_settings(
    net: Network,
    spec: EndpointSpec,
    ep: Endpoint | None,
    ctr: Container,
    *,
    named: bool,
    version: tuple[int, int] = f.LATEST,
) -> dict[str, Any]:
    gateway4 = next((s.gateway for s in net.subnets if s.version == 4 and s.gateway and not net.internal), None)
    gateway6 = next((s.gateway for s in net.subnets if s.version == 6 and s.gateway and not net.internal), None)
    out = {
        "IPAMConfig": _ipam_config(spec),
        "Links": list(spec.links) or None,
        "Aliases": _aliases(spec, ctr, named, version),
        "MacAddress": ep.mac_address if ep else spec.mac_address,
        "DriverOpts": dict(spec.driver_opts) or None,
        "GwPriority": spec.gw_priority,
        "NetworkID": net.id,
        "EndpointID": ep.id if ep else "",
        "Gateway": str(gateway4) if ep and ep.ipv4 and gateway4 else "",
        "IPAddress": str(ep.ipv4) if ep and ep.ipv4 else "",
        "IPPrefixLen": ep.ipv4_prefixlen if ep and ep.ipv4 else 0,
        "IPv6Gateway": str(gateway6) if ep and ep.ipv6 and gateway6 else "",
        "GlobalIPv6Address": str(ep.ipv6) if ep and ep.ipv6 else "",
        "GlobalIPv6PrefixLen": ep.ipv6_prefixlen if ep and ep.ipv6 else 0,
    }
    if version >= (1, 44):
        out["DNSNames"] = list(member_names(ctr.name, spec.aliases, ctr.id, ctr.spec.hostname)) if named else None
    if version < (1, 48):
        del out["GwPriority"]
    return out


# ------------------------------------------------------------------ containers


def parse_container_create(body: dict[str, Any]) -> ContainerSpec:
    host = f.obj(body, "HostConfig")
    image = f.string(body, "Image")
    if not image:
        raise InvalidParameter("config cannot be empty in order to create a container")
    policy = f.obj(host, "RestartPolicy")
    policy_name = f.string(policy, "Name") or "no"
    if policy_name not in RESTART_POLICIES:
        raise InvalidParameter(f"invalid restart policy '{policy_name}'")
    retries = f.integer(policy, "MaximumRetryCount")
    if retries and policy_name != "on-failure":
        raise InvalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if retries < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    auto_remove = f.boolean(host, "AutoRemove")
    if auto_remove and policy_name != "no":
        raise InvalidParameter("can't create 'AutoRemove' container with restart policy")
    networking = f.obj(f.obj(body, "NetworkingConfig"), "EndpointsConfig")
    endpoints = {}
    for name, settings in networking.items():
        if not isinstance(settings, dict):
            settings = {}
        endpoints[name] = parse_endpoint(settings)
    mode = f.string(host, "NetworkMode") or "default"
    exposed = f.obj(body, "ExposedPorts")
    for key in exposed:
        ports.parse_key(key)
    bindings = f.obj(host, "PortBindings")
    publish_all = f.boolean(host, "PublishAllPorts")
    requests = ports.parse_bindings(bindings, list(exposed), publish_all)
    raw_bindings = {
        k: [{"HostIp": str(b.get("HostIp") or ""), "HostPort": str(b.get("HostPort") or "")} for b in (v or [])]
        for k, v in bindings.items()
    }
    log_config = f.obj(host, "LogConfig")
    log_options = f.str_map(log_config, "Config")
    log_driver = logconfig.check(f.string(log_config, "Type"), log_options)
    process = parse_process(host)
    hostconfig.check_process(process)
    volumes = tuple(f.obj(body, "Volumes"))
    return ContainerSpec(
        image=image,
        cmd=f.str_list(body, "Cmd"),
        entrypoint=f.str_list(body, "Entrypoint"),
        env=f.str_list(body, "Env"),
        working_dir=f.string(body, "WorkingDir"),
        hostname=f.string(body, "Hostname"),
        domainname=f.string(body, "Domainname"),
        tty=f.boolean(body, "Tty"),
        open_stdin=f.boolean(body, "OpenStdin"),
        stdin_once=f.boolean(body, "StdinOnce"),
        labels=f.str_map(body, "Labels"),
        network_mode=mode,
        endpoints=endpoints,
        dns=f.str_list(host, "Dns"),
        dns_search=f.str_list(host, "DnsSearch"),
        dns_options=f.str_list(host, "DnsOptions"),
        extra_hosts=f.str_list(host, "ExtraHosts"),
        restart_policy=RestartPolicy(policy_name, retries),
        auto_remove=auto_remove,
        stop_signal=f.string(body, "StopSignal") or "SIGTERM",
        stop_timeout=f.integer(body, "StopTimeout") if f.given(body, "StopTimeout") else None,
        exposed_ports=tuple(exposed),
        port_bindings=raw_bindings,
        publish_all=publish_all,
        ports=requests,
        mac_address=f.string(body, "MacAddress"),
        links=f.str_list(host, "Links"),
        log_driver=log_driver,
        log_options=log_options,
        user=f.string(body, "User"),
        resources=hostconfig.check_resources(parse_resources(host)),
        process=process,
        mounts=parse_mounts(host, volumes),
        volumes=volumes,
        volumes_from=_volumes_from(host),
        volume_driver=f.string(host, "VolumeDriver"),
    )


#: Docker's Resources fields and Seaway's names for them
RESOURCE_FIELDS = {
    "Memory": "memory",
    "MemoryReservation": "memory_reservation",
    "MemorySwap": "memory_swap",
    "MemorySwappiness": "memory_swappiness",
    "CpuShares": "cpu_shares",
    "CpuPeriod": "cpu_period",
    "CpuQuota": "cpu_quota",
    "CpuRealtimePeriod": "cpu_realtime_period",
    "CpuRealtimeRuntime": "cpu_realtime_runtime",
    "CpusetCpus": "cpuset_cpus",
    "CpusetMems": "cpuset_mems",
    "NanoCpus": "nano_cpus",
    "PidsLimit": "pids_limit",
    "BlkioWeight": "blkio_weight",
    "OomKillDisable": "oom_kill_disable",
    "DeviceCgroupRules": "device_cgroup_rules",
}


def _resource_values(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in RESOURCE_FIELDS.items():
        if not f.given(body, key):
            continue
        if name in ("cpuset_cpus", "cpuset_mems"):
            out[name] = f.string(body, key)
        elif name == "oom_kill_disable":
            out[name] = f.boolean(body, key)
        elif name == "device_cgroup_rules":
            out[name] = f.str_list(body, key)
        else:
            out[name] = f.integer(body, key)
    return out


def parse_resources(host: dict[str, Any]) -> hostconfig.Resources:
    """The cgroup limits of a HostConfig (not yet checked: ``hostconfig.check_resources``)."""
    return hostconfig.Resources(**_resource_values(host))


def parse_update(body: dict[str, Any]) -> tuple[dict[str, Any], RestartPolicy | None]:
    """``POST /containers/{id}/update``: the resources it names, and a new restart policy."""
    policy = None
    if f.given(body, "RestartPolicy"):
        raw = f.obj(body, "RestartPolicy")
        name = f.string(raw, "Name") or "no"
        if name not in RESTART_POLICIES:
            raise InvalidParameter(f"invalid restart policy '{name}'")
        policy = RestartPolicy(name, f.integer(raw, "MaximumRetryCount"))
    return _resource_values(body), policy


def _volumes_from(host: dict[str, Any]) -> tuple[str, ...]:
    given = f.str_list(host, "VolumesFrom")
    for text in given:
        mounts.parse_volumes_from(text)
    return given


def parse_process(host: dict[str, Any]) -> hostconfig.ProcessOptions:
    return hostconfig.ProcessOptions(
        pid_mode=f.string(host, "PidMode"),
        ipc_mode=f.string(host, "IpcMode"),
        uts_mode=f.string(host, "UTSMode"),
        cgroupns_mode=f.string(host, "CgroupnsMode"),
        privileged=f.boolean(host, "Privileged"),
        cap_add=f.str_list(host, "CapAdd"),
        cap_drop=f.str_list(host, "CapDrop"),
        group_add=f.str_list(host, "GroupAdd"),
        readonly_rootfs=f.boolean(host, "ReadonlyRootfs"),
        tmpfs=f.str_map(host, "Tmpfs"),
        init=f.boolean(host, "Init") if f.given(host, "Init") else None,
        isolation=f.string(host, "Isolation"),
        runtime=f.string(host, "Runtime") or "runc",
        shm_size=f.integer(host, "ShmSize"),
        oom_score_adj=f.integer(host, "OomScoreAdj"),
        sysctls=f.str_map(host, "Sysctls"),
    )


def parse_mounts(host: dict[str, Any], volumes: tuple[str, ...]) -> tuple[mounts.MountSpec, ...]:
    """Binds, then Mounts, then an anonymous volume for each Config.Volumes point left."""
    out = [mounts.parse_bind(text) for text in f.str_list(host, "Binds")]
    raw = host.get("Mounts") or []
    if not isinstance(raw, list):
        raise InvalidParameter("json: cannot unmarshal into field HostConfig.Mounts of type []mount.Mount")
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidParameter("json: cannot unmarshal into field HostConfig.Mounts of type mount.Mount")
        out.append(_parse_mount(item))
    taken = {m.target for m in out}
    for point in volumes:
        target = point.rstrip("/") or "/"
        if target not in taken:
            out.append(mounts.MountSpec(type="volume", source="", target=target, anonymous=True))
    mounts.check_targets(out)
    return tuple(out)


def _parse_mount(item: dict[str, Any]) -> mounts.MountSpec:
    kind = f.string(item, "Type") or "volume"
    target = f.string(item, "Target")
    source = f.string(item, "Source")
    if not target:
        raise InvalidParameter(f'invalid mount config for type "{kind}": field Target must not be empty')
    if not target.startswith("/"):
        raise InvalidParameter(
            f"invalid mount config for type \"{kind}\": invalid mount path: '{target}' mount path must be absolute"
        )
    if kind == "bind":
        if not source:
            raise InvalidParameter('invalid mount config for type "bind": field Source must not be empty')
        propagation = f.string(f.obj(item, "BindOptions"), "Propagation")
        if propagation and propagation not in mounts.PROPAGATIONS:
            raise InvalidParameter(f"invalid propagation mode: {propagation}")
        return mounts.MountSpec("bind", source, target, f.boolean(item, "ReadOnly"), propagation)
    if kind == "volume":
        if source:
            mounts.check_volume_name(source)
        labels = f.str_map(f.obj(item, "VolumeOptions"), "Labels")
        return mounts.MountSpec(
            "volume", source, target, f.boolean(item, "ReadOnly"), labels=tuple(sorted(labels.items())),
            anonymous=not source,
        )  # fmt: skip
    if kind == "tmpfs":
        if source:
            raise InvalidParameter('invalid mount config for type "tmpfs": field Source must not be specified')
        size = f.integer(f.obj(item, "TmpfsOptions"), "SizeBytes")
        return mounts.MountSpec("tmpfs", "", target, f.boolean(item, "ReadOnly"), mode=f"size={size}" if size else "")
    raise InvalidParameter(f"mount type unknown: {kind!r} (bind, volume or tmpfs)")


def _unix(ts: str) -> int:
    try:
        return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def now_text() -> str:
    """Now, in RFC 3339 with nanoseconds as Docker writes times."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


def unix_time(ts: str) -> float:
    """An RFC 3339 time (conmon's nanoseconds included) as a Unix timestamp; 0 if unreadable."""
    head, dot, rest = ts.replace("Z", "+00:00").partition(".")
    if dot:  # Python reads six fraction digits at most
        digits = "".join(c for c in rest if c.isdigit())
        head = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        return datetime.fromisoformat(head).timestamp()
    except ValueError:
        return 0.0


def _ago(ts: str) -> str:
    try:
        then = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = int((datetime.now(UTC) - then).total_seconds())
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return f"{seconds} seconds"
    if seconds < 3600:
        return f"{seconds // 60} minutes"
    if seconds < 86400:
        return f"{seconds // 3600} hours"
    return f"{seconds // 86400} days"


def shown_status(ctr: Container) -> str:
    """Docker's State.Status: a paused container is "paused" (it still runs)."""
    return "paused" if ctr.state.paused and ctr.state.status == "running" else ctr.state.status


def status_text(ctr: Container) -> str:
    st = ctr.state
    if st.status == "running":
        return f"Up {_ago(st.started_at)}" + (" (Paused)" if st.paused else "")
    if st.status == "restarting":
        return f"Restarting ({st.exit_code}) {_ago(st.finished_at)} ago"
    if st.status == "exited":
        return f"Exited ({st.exit_code}) {_ago(st.finished_at)} ago"
    return st.status.capitalize()


def _command(ctr: Container, image_cmd: list[str]) -> tuple[str, list[str]]:
    args = list(ctr.spec.entrypoint) + list(ctr.spec.cmd or (image_cmd if not ctr.spec.entrypoint else []))
    return (args[0] if args else ""), args[1:]


def _resources_json(r: hostconfig.Resources) -> dict[str, Any]:
    out: dict[str, Any] = {key: getattr(r, name) for key, name in RESOURCE_FIELDS.items()}
    out["DeviceCgroupRules"] = list(r.device_cgroup_rules) or None
    out.update(
        CgroupParent="", BlkioWeightDevice=[], BlkioDeviceReadBps=None, BlkioDeviceWriteBps=None,
        BlkioDeviceReadIOps=None, BlkioDeviceWriteIOps=None, Devices=[], DeviceRequests=None,
        KernelMemory=0, KernelMemoryTCP=0, Ulimits=None, CpuCount=0, CpuPercent=0,
        IOMaximumIOps=0, IOMaximumBandwidth=0,
    )  # fmt: skip
    return out


def _process_json(p: hostconfig.ProcessOptions) -> dict[str, Any]:
    return {
        "PidMode": p.pid_mode,
        "IpcMode": p.ipc_mode or "private",
        "UTSMode": p.uts_mode,
        "CgroupnsMode": p.cgroupns_mode or "host",
        "Privileged": p.privileged,
        "CapAdd": list(p.cap_add) or None,
        "CapDrop": list(p.cap_drop) or None,
        "GroupAdd": list(p.group_add) or None,
        "ReadonlyRootfs": p.readonly_rootfs,
        "Tmpfs": dict(p.tmpfs) or None,
        "Init": p.init,
        "Isolation": p.isolation,
        "Runtime": p.runtime,
        "ShmSize": p.shm_size or 64 * 1024 * 1024,
        "OomScoreAdj": p.oom_score_adj,
        "Sysctls": dict(p.sysctls) or None,
        "Cgroup": "",
        "ConsoleSize": [0, 0],
        "ContainerIDFile": "",
        "SecurityOpt": None,
        "UsernsMode": "",
    }


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    return {
        **_resources_json(spec.resources),
        **_process_json(spec.process),
        "Binds": [_bind_text(m) for m in spec.mounts if m.from_binds] or None,
        "Mounts": [_mount_json(m) for m in spec.mounts if not m.from_binds and not m.anonymous] or None,
        "VolumesFrom": list(spec.volumes_from) or None,
        "VolumeDriver": spec.volume_driver,
        "NetworkMode": spec.network_mode,
        "RestartPolicy": {
            "Name": spec.restart_policy.name,
            "MaximumRetryCount": spec.restart_policy.maximum_retry_count,
        },
        "AutoRemove": spec.auto_remove,
        "Dns": list(spec.dns),
        "DnsSearch": list(spec.dns_search),
        "DnsOptions": list(spec.dns_options),
        "ExtraHosts": list(spec.extra_hosts) or None,
        "Links": list(spec.links) or None,
        "PortBindings": spec.port_bindings,
        "PublishAllPorts": spec.publish_all,
        # as given; json-file and local are both conmon's one log file, read through /logs
        # (docker-py's run() collects output only for json-file and journald)
        "LogConfig": {"Type": spec.log_driver, "Config": dict(spec.log_options)},
    }


def _bind_text(m: mounts.MountSpec) -> str:
    return f"{m.source}:{m.target}" + (f":{m.mode}" if m.mode else "")


def _mount_json(m: mounts.MountSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": m.type, "Target": m.target}
    if m.source:
        out["Source"] = m.source
    if m.read_only:
        out["ReadOnly"] = True
    if m.type == "bind" and m.propagation:
        out["BindOptions"] = {"Propagation": m.propagation}
    if m.type == "volume" and m.labels:
        out["VolumeOptions"] = {"Labels": dict(m.labels)}
    return out


def mount_point(m: mounts.MountSpec, source: str) -> dict[str, Any]:
    """One of inspect's ``Mounts`` (``source``: the volume's directory for a volume)."""
    out: dict[str, Any] = {"Type": m.type}
    if m.type == "volume":
        out["Name"] = m.source
    out.update(Source=source, Destination=m.target)
    if m.type == "volume":
        out["Driver"] = "local"
    out.update(Mode=m.mode, RW=not m.read_only, Propagation=mounts.shown_propagation(m))
    return out


def _links_shown(given: tuple[str, ...], name: str) -> list[str] | None:
    """``HostConfig.Links`` as Docker shows them: ``/db:/web/database``."""
    out = []
    for text in given:
        target, _, alias = text.partition(":")
        out.append(f"/{target.lstrip('/')}:/{name}/{(alias or target).rsplit('/', 1)[-1]}")
    return out or None


def container_summary(
    ctr: Container,
    image_ref: str,
    image_cmd: list[str],
    networks: dict[str, dict[str, Any]],
    mappings: list[ports.PortMapping] | None = None,
) -> dict[str, Any]:
    path, args = _command(ctr, image_cmd)
    return {
        "Id": ctr.id,
        "Names": [f"/{ctr.name}"],
        "Image": image_ref,
        "ImageID": ctr.image_id,
        "Command": " ".join([path, *args]),
        "Created": _unix(ctr.created),
        "Ports": ports.summary_ports(list(ctr.spec.exposed_ports), mappings or []) if ctr.running else [],
        "Labels": dict(ctr.spec.labels),
        "State": shown_status(ctr),
        "Status": status_text(ctr),
        "HostConfig": {"NetworkMode": ctr.spec.network_mode},
        "NetworkSettings": {"Networks": networks},
        "Mounts": [],
    }


def container_inspect(
    ctr: Container,
    image_cmd: list[str],
    files: dict[str, str],
    sandbox_key: str,
    networks: dict[str, dict[str, Any]],
    default_bridge: dict[str, Any] | None,
    mappings: list[ports.PortMapping] | None = None,
    mount_points: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    path, args = _command(ctr, image_cmd)
    st = ctr.state
    legacy = default_bridge or {}
    spec = ctr.spec
    return {
        "Id": ctr.id,
        "Created": ctr.created,
        "Path": path,
        "Args": args,
        "State": {
            "Status": shown_status(ctr),
            "Running": st.status == "running",
            "Paused": st.paused and st.status == "running",
            "Restarting": st.status == "restarting",
            "OOMKilled": False,
            "Dead": st.status == "dead",
            "Pid": st.pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": st.started_at,
            "FinishedAt": st.finished_at,
        },
        "Image": ctr.image_id,
        "ResolvConfPath": files["resolv.conf"],
        "HostnamePath": files["hostname"],
        "HostsPath": files["hosts"],
        "LogPath": files["log"],
        "Name": f"/{ctr.name}",
        "RestartCount": st.restart_count,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": {**host_config(spec), "Links": _links_shown(spec.links, ctr.name)},
        "Mounts": mount_points or [],
        "Config": {
            "Hostname": spec.hostname,
            "Domainname": spec.domainname,
            "User": spec.user,
            "AttachStdin": False,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": spec.tty,
            "OpenStdin": spec.open_stdin,
            "StdinOnce": spec.stdin_once,
            "Env": list(spec.env),
            "Cmd": list(spec.cmd) or None,
            "Image": spec.image,
            "Volumes": {v: {} for v in spec.volumes} or None,
            "WorkingDir": spec.working_dir,
            "Entrypoint": list(spec.entrypoint) or None,
            "OnBuild": None,
            "Labels": dict(spec.labels),
            "StopSignal": spec.stop_signal,
            "MacAddress": spec.mac_address,
            "ExposedPorts": {p: {} for p in spec.exposed_ports} or None,
            **({"StopTimeout": spec.stop_timeout} if spec.stop_timeout is not None else {}),
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": ctr.sandbox_id,
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports.settings_ports(list(spec.exposed_ports), mappings or []) if ctr.running else {},
            "SandboxKey": sandbox_key,
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": legacy.get("EndpointID", ""),
            "Gateway": legacy.get("Gateway", ""),
            "GlobalIPv6Address": legacy.get("GlobalIPv6Address", ""),
            "GlobalIPv6PrefixLen": legacy.get("GlobalIPv6PrefixLen", 0),
            "IPAddress": legacy.get("IPAddress", ""),
            "IPPrefixLen": legacy.get("IPPrefixLen", 0),
            "IPv6Gateway": legacy.get("IPv6Gateway", ""),
            "MacAddress": legacy.get("MacAddress", ""),
            "Networks": networks,
        },
    }


# ------------------------------------------------------------------ stats and top


#: the blkio lists Docker's stats carry that Seaway does not read (null, as on cgroup v2)
BLKIO_UNREAD = (
    "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive", "io_wait_time_recursive",
    "io_merged_recursive", "io_time_recursive", "sectors_recursive",
)  # fmt: skip


def _cpu_json(s: stats.Sample | None) -> dict[str, Any]:
    throttling = {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
    if s is None:
        return {
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": throttling,
        }
    return {
        "cpu_usage": {
            "total_usage": s.cpu_total,
            "percpu_usage": list(s.cpu_percpu) or None,
            "usage_in_kernelmode": s.cpu_system,
            "usage_in_usermode": s.cpu_user,
        },
        "system_cpu_usage": s.system_cpu,
        "online_cpus": s.online_cpus,
        "throttling_data": throttling,
    }


def stats_json(
    ctr: Container, now: str, s: stats.Sample | None, before: stats.Sample | None, then: str
) -> dict[str, Any]:
    """Docker's stats document (cgroup v1 shape); ``s`` None for a container not running."""
    blkio = [{"major": a, "minor": b, "op": op, "value": v} for a, b, op, v in (s.blkio if s else ())]
    memory: dict[str, Any] = {}
    if s is not None:
        memory = {"usage": s.memory_usage, "max_usage": s.memory_max_usage, "stats": s.memory_stat}
        memory["limit"] = s.memory_limit
    return {
        "read": now if s is not None else ZERO_TIME,
        "preread": then if before is not None else ZERO_TIME,
        "pids_stats": {"current": s.pids_current, **({"limit": s.pids_limit} if s.pids_limit else {})} if s else {},
        "blkio_stats": {"io_service_bytes_recursive": blkio or None, **dict.fromkeys(BLKIO_UNREAD)},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _cpu_json(s),
        "precpu_stats": _cpu_json(before),
        "memory_stats": memory,
        "name": f"/{ctr.name}",
        "id": ctr.id,
        "networks": dict(s.networks) if s is not None else {},
    }
