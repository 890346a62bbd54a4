"""Docker's JSON shapes <-> Seaway's model. Pure: no I/O, no state.

Inputs are read with ``fields`` (a wrong type is a 400 naming the field); outputs follow
the Engine API (1.41 shapes, plus the fields newer clients read, such as ``GwPriority``,
``DNSNames`` and ``EnableIPv4``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from seaway.daemon.api import fields as f
from seaway.dns.records import member_names
from seaway.errors import InvalidParameter, Unsupported
from seaway.model import logconfig, ports
from seaway.model.container import RESTART_POLICIES, Container, ContainerSpec, RestartPolicy
from seaway.model.endpoint import Endpoint, EndpointSpec
from seaway.model.network import IPAMConfigSpec, Network, NetworkSpec

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
        stop_timeout=f.integer(body, "StopTimeout", 10),
        exposed_ports=tuple(exposed),
        port_bindings=raw_bindings,
        publish_all=publish_all,
        ports=requests,
        mac_address=f.string(body, "MacAddress"),
        links=f.str_list(host, "Links"),
        log_driver=log_driver,
        log_options=log_options,
    )


def _unix(ts: str) -> int:
    try:
        return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


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


def status_text(ctr: Container) -> str:
    st = ctr.state
    if st.status == "running":
        return f"Up {_ago(st.started_at)}"
    if st.status == "restarting":
        return f"Restarting ({st.exit_code}) {_ago(st.finished_at)} ago"
    if st.status == "exited":
        return f"Exited ({st.exit_code}) {_ago(st.finished_at)} ago"
    return st.status.capitalize()


def _command(ctr: Container, image_cmd: list[str]) -> tuple[str, list[str]]:
    args = list(ctr.spec.entrypoint) + list(ctr.spec.cmd or (image_cmd if not ctr.spec.entrypoint else []))
    return (args[0] if args else ""), args[1:]


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    return {
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
        "Binds": None,
        "Privileged": False,
        # as given; json-file and local are both conmon's one log file, read through /logs
        # (docker-py's run() collects output only for json-file and journald)
        "LogConfig": {"Type": spec.log_driver, "Config": dict(spec.log_options)},
    }


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
        "State": ctr.state.status,
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
            "Status": st.status,
            "Running": st.status == "running",
            "Paused": False,
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
        "Mounts": [],
        "Config": {
            "Hostname": spec.hostname,
            "Domainname": spec.domainname,
            "User": "",
            "AttachStdin": False,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": spec.tty,
            "OpenStdin": spec.open_stdin,
            "StdinOnce": False,
            "Env": list(spec.env),
            "Cmd": list(spec.cmd) or None,
            "Image": spec.image,
            "Volumes": None,
            "WorkingDir": spec.working_dir,
            "Entrypoint": list(spec.entrypoint) or None,
            "OnBuild": None,
            "Labels": dict(spec.labels),
            "StopSignal": spec.stop_signal,
            "MacAddress": spec.mac_address,
            "ExposedPorts": {p: {} for p in spec.exposed_ports} or None,
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
