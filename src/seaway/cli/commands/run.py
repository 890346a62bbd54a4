"""``seaway run``: docker's create body from its flags, then either start and print the ID
(``-d``) or attach, wait, start, copy the output and exit with the container's status."""

from __future__ import annotations

import argparse
import json
from typing import Any

from seaway.cli import args as a
from seaway.cli.client import Client, DaemonError, Stream, query, segment
from seaway.cli.output import error
from seaway.cli.streams import copy_output
from seaway.errors import InvalidParameter
from seaway.model import ports

RUN_ERROR = 125  # docker run's status when the daemon, not the container, failed


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    # -h is --hostname, as in docker; help stays on --help
    p = sub.add_parser("run", help="create and start a container", add_help=False)
    p.add_argument("--help", action="help", help="show this help message and exit")
    p.add_argument("-d", "--detach", action="store_true", help="print the container ID and leave it running")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("--name", default="")
    p.add_argument(
        "--network", "--net", action="append", default=[], help="network to join (repeatable; the first is the primary)"
    )
    p.add_argument("--network-alias", "--net-alias", action="append", default=[], help="alias on the first network")
    p.add_argument("--ip", default="", help="IPv4 address on the first network")
    p.add_argument("--ip6", default="", help="IPv6 address on the first network")
    p.add_argument("--mac-address", default="")
    p.add_argument("-h", "--hostname", default="", help="container host name")
    p.add_argument("--dns", action="append", default=[])
    p.add_argument("--dns-search", action="append", default=[])
    p.add_argument("--dns-option", "--dns-opt", action="append", default=[])
    p.add_argument("--add-host", action="append", default=[], metavar="HOST:IP", help="extra /etc/hosts line")
    p.add_argument("--restart", default="no", help="no, always, unless-stopped or on-failure[:N]")
    p.add_argument(
        "-p", "--publish", action="append", default=[], metavar="[IP:][HOST_PORT:]PORT[/PROTO]",
        help="publish a container port on the host (no proxy: kernel DNAT)",
    )  # fmt: skip
    p.add_argument("-P", "--publish-all", action="store_true", help="publish every exposed port on a free host port")
    p.add_argument("--expose", action="append", default=[], metavar="PORT[/PROTO]")
    p.add_argument("-e", "--env", action="append", default=[], help="KEY=VALUE in the environment")
    p.add_argument("-l", "--label", action="append", default=[])
    p.add_argument("--entrypoint")
    p.add_argument("-w", "--workdir", default="")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY (output is not multiplexed)")
    p.add_argument("image")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def _endpoints(opts: argparse.Namespace) -> dict[str, Any]:
    """NetworkingConfig.EndpointsConfig: the first network carries --ip/--alias, the others join."""
    if not opts.network:
        return {}
    first: dict[str, Any] = {}
    if opts.ip or opts.ip6:
        first["IPAMConfig"] = {"IPv4Address": opts.ip, "IPv6Address": opts.ip6}
    if opts.network_alias:
        first["Aliases"] = opts.network_alias
    out = {opts.network[0]: first} if first else {}
    for name in opts.network[1:]:
        out.setdefault(name, {})
    return out


def _ports(opts: argparse.Namespace) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """ExposedPorts and PortBindings from ``--expose`` and ``-p``, as the docker CLI sends them."""
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts.expose:
        for key in ports.parse_expose(spec):
            exposed[key] = {}
    for spec in opts.publish:
        for key, binding in ports.parse_publish(spec):
            exposed[key] = {}
            bindings.setdefault(key, []).append(binding)
    return exposed, bindings


def create_body(opts: argparse.Namespace) -> dict[str, Any]:
    exposed, bindings = _ports(opts)
    return {
        "ExposedPorts": exposed,
        "Image": opts.image,
        "Cmd": opts.cmd or None,
        "Entrypoint": None if opts.entrypoint is None else [opts.entrypoint] if opts.entrypoint else [""],
        "Env": opts.env,
        "WorkingDir": opts.workdir,
        "Hostname": opts.hostname,
        "Tty": opts.tty,
        "Labels": a.key_values(opts.label, "--label", need_value=False),
        "MacAddress": opts.mac_address,
        "AttachStdout": not opts.detach,
        "AttachStderr": not opts.detach,
        "HostConfig": {
            "NetworkMode": opts.network[0] if opts.network else "default",
            "AutoRemove": opts.rm,
            "RestartPolicy": a.restart_policy(opts.restart),
            "Dns": opts.dns,
            "DnsSearch": opts.dns_search,
            "DnsOptions": opts.dns_option,
            "ExtraHosts": opts.add_host,
            "PortBindings": bindings,
            "PublishAllPorts": opts.publish_all,
        },
        "NetworkingConfig": {"EndpointsConfig": _endpoints(opts)},
    }


def run(client: Client, opts: argparse.Namespace) -> int:
    try:
        body = create_body(opts)
    except InvalidParameter as exc:
        error(f"seaway: {exc}.")
        return RUN_ERROR
    try:
        created = client.post("/containers/create" + query({"name": opts.name}), body)
        cid = created["Id"]
        for warning in created.get("Warnings") or []:
            error(f"WARNING: {warning}")
        if opts.detach:
            client.post(f"/containers/{cid}/start")
            print(cid)
            return 0
        return _run_attached(client, cid, opts.rm)
    except DaemonError as exc:
        error(f"Error response from daemon: {exc}")
        return RUN_ERROR


def _run_attached(client: Client, cid: str, auto_remove: bool) -> int:
    """As the docker CLI does: attach and wait before starting, so no output or exit is missed."""
    attach = client.hijack(f"/containers/{cid}/attach" + query({"stream": True, "stdout": True, "stderr": True}))
    condition = "removed" if auto_remove else "next-exit"
    wait = client.stream("POST", f"/containers/{cid}/wait" + query({"condition": condition}))
    try:
        client.post(f"/containers/{segment(cid)}/start")
        copy_output(attach.body, attach.raw)
        return _exit_status(wait)
    finally:
        attach.close()
        wait.close()


def _exit_status(wait: Stream) -> int:
    answer = json.loads(wait.response.read() or b"{}")
    message = (answer.get("Error") or {}).get("Message")
    if message:
        error(f"Error response from daemon: {message}")
    return int(answer.get("StatusCode", RUN_ERROR))
