"""``seaway network create|ls|inspect|rm|connect|disconnect|prune``: docker's flags,
output and messages, as requests to ``/networks``."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import Any

from seaway.cli import args as a
from seaway.cli.client import Client, query, segment
from seaway.cli.commands import for_each
from seaway.cli.output import UsageError, check_format, go_time, json_array, json_lines, short_id, table

PRUNE_WARNING = "WARNING! This will remove all custom networks not used by at least one container."


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("network", help="manage networks")
    cmds = parser.add_subparsers(dest="network_command", required=True, metavar="COMMAND")

    p = cmds.add_parser("create", help="create a network")
    p.add_argument("name")
    p.add_argument("-d", "--driver", default="bridge")
    p.add_argument("--subnet", action="append", default=[])
    p.add_argument("--gateway", action="append", default=[])
    p.add_argument("--ip-range", action="append", default=[])
    p.add_argument("--aux-address", action="append", default=[], metavar="NAME=IP")
    p.add_argument("--ipam-driver", default="default")
    p.add_argument("--ipam-opt", action="append", default=[], metavar="K=V")
    p.add_argument("--internal", action="store_true")
    p.add_argument("--attachable", action="store_true")
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("-o", "--opt", action="append", default=[], metavar="K=V")
    p.add_argument("--label", action="append", default=[], metavar="K=V")
    p.set_defaults(func=create)

    p = cmds.add_parser("ls", aliases=["list"], help="list networks")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[])
    p.add_argument("--format")
    p.add_argument("--no-trunc", action="store_true")
    p.set_defaults(func=ls)

    p = cmds.add_parser("inspect", help="show networks as JSON")
    p.add_argument("names", nargs="+", metavar="NETWORK")
    p.add_argument("-f", "--format")
    p.set_defaults(func=inspect)

    p = cmds.add_parser("rm", aliases=["remove"], help="remove networks")
    p.add_argument("names", nargs="+", metavar="NETWORK")
    p.set_defaults(func=rm)

    p = cmds.add_parser("connect", help="connect a container to a network")
    p.add_argument("network")
    p.add_argument("container")
    p.add_argument("--ip", default="")
    p.add_argument("--ip6", default="")
    p.add_argument("--alias", action="append", default=[])
    p.add_argument("--gw-priority", type=int, default=0)
    p.set_defaults(func=connect)

    p = cmds.add_parser("disconnect", help="disconnect a container from a network")
    p.add_argument("network")
    p.add_argument("container")
    p.add_argument("-f", "--force", action="store_true")
    p.set_defaults(func=disconnect)

    p = cmds.add_parser("prune", help="remove networks no container uses")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--filter", action="append", default=[])
    p.set_defaults(func=prune)


# ------------------------------------------------------------------ create


def _containing(configs: list[dict[str, Any]], address: str, what: str) -> dict[str, Any]:
    """The IPAM config whose subnet holds ``address`` (a host or a range)."""
    try:
        target = ipaddress.ip_network(address, strict=False)
    except ValueError:
        raise UsageError(f"invalid {what} {address!r}") from None
    for config in configs:
        subnet = ipaddress.ip_network(config["Subnet"], strict=False)
        if target.version == subnet.version and target.subnet_of(subnet):  # type: ignore[arg-type]
            return config
    raise UsageError(f"no matching subnet for {what} {address}")


def ipam_configs(opts: argparse.Namespace) -> list[dict[str, Any]]:
    """docker's createIPAMConfig: each range, gateway and aux address finds its subnet."""
    if len(opts.subnet) < max(len(opts.ip_range), len(opts.gateway)):
        raise UsageError("every ip-range or gateway must have a corresponding subnet")
    for subnet in opts.subnet:
        try:
            ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            raise UsageError(f"invalid subnet {subnet!r}") from None
    configs: list[dict[str, Any]] = [{"Subnet": s} for s in opts.subnet]
    for key, values, what in (("IPRange", opts.ip_range, "range"), ("Gateway", opts.gateway, "gateway")):
        for value in values:
            config = _containing(configs, value, what)
            if key in config:
                raise UsageError(
                    f"cannot configure multiple {what}s ({value}, {config[key]}) on the same subnet ({config['Subnet']})"
                )
            config[key] = value
    for name, address in a.key_values(opts.aux_address, "--aux-address").items():
        _containing(configs, address, "aux-address").setdefault("AuxiliaryAddresses", {})[name] = address
    return configs


def create(client: Client, opts: argparse.Namespace) -> int:
    body = {
        "Name": opts.name,
        "Driver": opts.driver,
        "Internal": opts.internal,
        "Attachable": opts.attachable,
        "EnableIPv6": opts.ipv6,
        "Options": a.key_values(opts.opt, "--opt"),
        "Labels": a.key_values(opts.label, "--label", need_value=False),
        "IPAM": {
            "Driver": opts.ipam_driver,
            "Config": ipam_configs(opts),
            "Options": a.key_values(opts.ipam_opt, "--ipam-opt"),
        },
    }
    print(client.post("/networks/create", body)["Id"])
    return 0


# ------------------------------------------------------------------ ls, inspect


def _ls_json(net: dict[str, Any]) -> dict[str, Any]:
    labels = ",".join(f"{k}={v}" for k, v in sorted((net.get("Labels") or {}).items()))
    return {
        "CreatedAt": go_time(net.get("Created", "")),
        "Driver": net.get("Driver", ""),
        "ID": short_id(net["Id"]),
        "IPv4": str(net.get("EnableIPv4", True)).lower(),
        "IPv6": str(net.get("EnableIPv6", False)).lower(),
        "Internal": str(net.get("Internal", False)).lower(),
        "Labels": labels,
        "Name": net["Name"],
        "Scope": net.get("Scope", ""),
    }


def ls(client: Client, opts: argparse.Namespace) -> int:
    as_json = check_format(opts.format)
    nets = client.get("/networks" + query({"filters": a.filters(opts.filter)}))
    nets.sort(key=lambda n: n["Name"])
    ident = (lambda n: n["Id"]) if opts.no_trunc else (lambda n: short_id(n["Id"]))
    if opts.quiet:
        for net in nets:
            print(ident(net))
    elif as_json:
        json_lines(_ls_json(n) for n in nets)
    else:
        rows = [(ident(n), n["Name"], n["Driver"], n["Scope"]) for n in nets]
        table(("NETWORK ID", "NAME", "DRIVER", "SCOPE"), rows)
    return 0


def inspect(client: Client, opts: argparse.Namespace) -> int:
    check_format(opts.format)
    found: list[Any] = []
    status = for_each(opts.names, lambda n: found.append(client.get(f"/networks/{segment(n)}")), echo=False)
    json_array(found)
    return status


# ------------------------------------------------------------------ rm, connect, disconnect, prune


def rm(client: Client, opts: argparse.Namespace) -> int:
    return for_each(opts.names, lambda n: client.delete(f"/networks/{segment(n)}"))


def connect(client: Client, opts: argparse.Namespace) -> int:
    endpoint: dict[str, Any] = {"Aliases": opts.alias or None, "GwPriority": opts.gw_priority}
    if opts.ip or opts.ip6:
        endpoint["IPAMConfig"] = {"IPv4Address": opts.ip, "IPv6Address": opts.ip6}
    body = {"Container": opts.container, "EndpointConfig": endpoint}
    client.post(f"/networks/{segment(opts.network)}/connect", body)
    return 0


def disconnect(client: Client, opts: argparse.Namespace) -> int:
    body = {"Container": opts.container, "Force": opts.force}
    client.post(f"/networks/{segment(opts.network)}/disconnect", body)
    return 0


def confirm(warning: str) -> bool:
    """docker's prune prompt; anything but y/Y (or no terminal input) is no."""
    print(f"{warning}\nAre you sure you want to continue? [y/N] ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def prune(client: Client, opts: argparse.Namespace) -> int:
    if not opts.force and not confirm(PRUNE_WARNING):
        return 0
    answer = client.post("/networks/prune" + query({"filters": a.filters(opts.filter)}))
    deleted = (answer or {}).get("NetworksDeleted") or []
    if deleted:
        print("Deleted Networks:")
        for name in deleted:
            print(name)
    return 0
