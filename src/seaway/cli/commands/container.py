"""``seaway ps|exec|logs|stop|start|restart|kill|rm|inspect``: docker's flags and output,
as requests to ``/containers`` and ``/exec``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from seaway.cli import args as a
from seaway.cli.client import Client, DaemonError, query, segment
from seaway.cli.commands import for_each
from seaway.cli.output import ago, check_format, ellipsis, error, go_time, json_array, json_lines, short_id, table
from seaway.cli.streams import copy_output
from seaway.errors import InvalidParameter
from seaway.model import ports

COMMAND_WIDTH = 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ps", help="list containers")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-f", "--filter", action="append", default=[])
    p.add_argument("--format")
    p.add_argument("--no-trunc", action="store_true")
    p.set_defaults(func=ps)

    p = sub.add_parser("port", help="list a container's published ports")
    p.add_argument("container")
    p.add_argument("private_port", nargs="?", metavar="PRIVATE_PORT[/PROTO]")
    p.set_defaults(func=port)

    p = sub.add_parser("exec", help="run a command in a running container")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("-w", "--workdir", default="")
    p.add_argument("-t", "--tty", action="store_true")
    p.add_argument("container")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=exec_)

    p = sub.add_parser("logs", help="show a container's output")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-n", "--tail", default="all")
    p.add_argument("-t", "--timestamps", action="store_true")
    p.add_argument("container")
    p.set_defaults(func=logs)

    for name, func, text in (("stop", stop, "stop"), ("restart", restart, "restart")):
        p = sub.add_parser(name, help=f"{text} containers")
        p.add_argument("-t", "--time", "--timeout", type=int, dest="timeout")
        if name == "stop":
            p.add_argument("-s", "--signal")
        p.add_argument("containers", nargs="+", metavar="CONTAINER")
        p.set_defaults(func=func)

    p = sub.add_parser("start", help="start containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=start)

    p = sub.add_parser("kill", help="send a signal to containers")
    p.add_argument("-s", "--signal", default="")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=kill)

    p = sub.add_parser("rm", help="remove containers")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=rm)

    p = sub.add_parser("inspect", help="show containers (or images, networks) as JSON")
    p.add_argument("-f", "--format")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(func=inspect)


# ------------------------------------------------------------------ ps


def _command(ctr: dict[str, Any], trunc: bool) -> str:
    command = ctr.get("Command", "")
    return json.dumps(ellipsis(command, COMMAND_WIDTH) if trunc else command, ensure_ascii=False)


def _names(ctr: dict[str, Any]) -> str:
    return ",".join(n.lstrip("/") for n in ctr.get("Names") or [])


def _ps_json(ctr: dict[str, Any]) -> dict[str, Any]:
    networks = (ctr.get("NetworkSettings") or {}).get("Networks") or {}
    labels = ",".join(f"{k}={v}" for k, v in sorted((ctr.get("Labels") or {}).items()))
    return {
        "Command": _command(ctr, trunc=True),
        "CreatedAt": go_time(ctr.get("Created", 0)),
        "ID": short_id(ctr["Id"]),
        "Image": ctr.get("Image", ""),
        "Labels": labels,
        "LocalVolumes": "0",
        "Mounts": "",
        "Names": _names(ctr),
        "Networks": ",".join(sorted(networks)),
        "Ports": ports.display(ctr.get("Ports") or []),
        "RunningFor": ago(ctr.get("Created", 0)),
        "Size": "0B",
        "State": ctr.get("State", ""),
        "Status": ctr.get("Status", ""),
    }


def ps(client: Client, opts: argparse.Namespace) -> int:
    as_json = check_format(opts.format)
    ctrs = client.get("/containers/json" + query({"all": opts.all, "filters": a.filters(opts.filter)}))
    ctrs.sort(key=lambda c: c.get("Created", 0), reverse=True)
    ident = (lambda c: c["Id"]) if opts.no_trunc else (lambda c: short_id(c["Id"]))
    if opts.quiet:
        for ctr in ctrs:
            print(ident(ctr))
    elif as_json:
        json_lines(_ps_json(c) for c in ctrs)
    else:
        rows = [
            (
                ident(c),
                c["Image"],
                _command(c, not opts.no_trunc),
                ago(c["Created"]),
                c["Status"],
                ports.display(c.get("Ports") or []),
                _names(c),
            )
            for c in ctrs
        ]
        table(("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"), rows)
    return 0


def port(client: Client, opts: argparse.Namespace) -> int:
    """``docker port``: ``80/tcp -> 0.0.0.0:8080`` per host binding, or only the host side
    of one container port."""
    settings = client.get(f"/containers/{segment(opts.container)}/json")["NetworkSettings"]
    published = {k: v for k, v in (settings.get("Ports") or {}).items() if v}
    if opts.private_port:
        try:
            number, proto = ports.parse_key(opts.private_port)
        except InvalidParameter as exc:
            error(f"Error: {exc}")
            return 1
        key = f"{number}/{proto}"
        if key not in published:
            error(f"Error: No public port '{key}' published for {opts.container}")
            return 1
        for binding in published[key]:
            print(_host_side(binding))
        return 0
    for key in sorted(published, key=lambda k: ports.parse_key(k)):
        for binding in published[key]:
            print(f"{key} -> {_host_side(binding)}")
    return 0


def _host_side(binding: dict[str, str]) -> str:
    ip = binding.get("HostIp", "")
    return f"[{ip}]:{binding['HostPort']}" if ":" in ip else f"{ip}:{binding['HostPort']}"


# ------------------------------------------------------------------ exec, logs


def exec_(client: Client, opts: argparse.Namespace) -> int:
    if not opts.cmd:
        error("exec needs a command: seaway exec CONTAINER COMMAND [ARG...]")
        return 1
    body = {
        "Cmd": opts.cmd,
        "Env": opts.env,
        "WorkingDir": opts.workdir,
        "Tty": opts.tty,
        "AttachStdout": not opts.detach,
        "AttachStderr": not opts.detach,
    }
    exec_id = client.post(f"/containers/{segment(opts.container)}/exec", body)["Id"]
    start = {"Detach": opts.detach, "Tty": opts.tty}
    if opts.detach:
        client.post(f"/exec/{exec_id}/start", start)
        return 0
    stream = client.hijack(f"/exec/{exec_id}/start", start)
    try:
        copy_output(stream.body, stream.raw)
    finally:
        stream.close()
    code = client.get(f"/exec/{exec_id}/json").get("ExitCode")
    return 0 if code is None else int(code)


def logs(client: Client, opts: argparse.Namespace) -> int:
    params = {"stdout": True, "stderr": True, "follow": opts.follow, "tail": opts.tail, "timestamps": opts.timestamps}
    stream = client.stream("GET", f"/containers/{segment(opts.container)}/logs" + query(params))
    try:
        copy_output(stream.body, stream.raw)
    finally:
        stream.close()
    return 0


# ------------------------------------------------------------------ lifecycle


def stop(client: Client, opts: argparse.Namespace) -> int:
    params = query({"t": opts.timeout, "signal": opts.signal})
    return for_each(opts.containers, lambda c: client.post(f"/containers/{segment(c)}/stop{params}"))


def restart(client: Client, opts: argparse.Namespace) -> int:
    params = query({"t": opts.timeout})
    return for_each(opts.containers, lambda c: client.post(f"/containers/{segment(c)}/restart{params}"))


def start(client: Client, opts: argparse.Namespace) -> int:
    return for_each(opts.containers, lambda c: client.post(f"/containers/{segment(c)}/start"))


def kill(client: Client, opts: argparse.Namespace) -> int:
    params = query({"signal": opts.signal})
    return for_each(opts.containers, lambda c: client.post(f"/containers/{segment(c)}/kill{params}"))


def rm(client: Client, opts: argparse.Namespace) -> int:
    params = query({"force": opts.force})
    return for_each(opts.containers, lambda c: client.delete(f"/containers/{segment(c)}{params}"))


# ------------------------------------------------------------------ inspect

INSPECT_PATHS = ("/containers/{}/json", "/images/{}/json", "/networks/{}")


def _inspect_any(client: Client, name: str) -> Any:
    """docker inspect: the first container, image or network by that name."""
    for template in INSPECT_PATHS:
        try:
            return client.get(template.format(segment(name)))
        except DaemonError as exc:
            if exc.status != 404:
                raise
    return None


def inspect(client: Client, opts: argparse.Namespace) -> int:
    check_format(opts.format)
    found: list[Any] = []
    status = 0
    for name in opts.names:
        try:
            item = _inspect_any(client, name)
        except DaemonError as exc:
            error(f"Error response from daemon: {exc}")
            status = 1
            continue
        if item is None:
            error(f"Error: No such object: {name}")
            status = 1
        else:
            found.append(item)
    json_array(found)
    return status
