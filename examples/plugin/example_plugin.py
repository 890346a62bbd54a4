#!/usr/bin/env python3
"""An example Docker network plugin: a network driver and an IPAM driver in one process,
written against Docker's plugin protocols only (it knows nothing of Seaway; the standard
library and the ``ip`` command are all it uses).

* The network driver gives each network a Linux bridge of its own, ``exbr-<id[:8]>``,
  carrying the network's gateway address, and each endpoint a veth pair: the host side
  ``exh<id[:8]>`` on the bridge, the other side ``exc<id[:8]>``, which the daemon moves
  into the container (``Join`` names it as ``InterfaceName.SrcName``, with ``DstPrefix``
  from ``--dst-prefix``, ``eth`` by default). ``Join`` also names the network's gateway
  (not with ``--no-gateway``) and asks for the static routes given with ``--route CIDR``
  (via that gateway).
* The IPAM driver hands out pools listed in a file (``--pools FILE``, one CIDR a line)
  and addresses from them, lowest free first; its leases live in the state file, so a
  restart keeps them.

Every request is appended to ``--record FILE`` as one JSON line ``{"method", "body"}``
(tests compare the sequence and the payloads with what Docker documents). To play a
failing plugin: ``--fail METHOD=TEXT`` answers METHOD with that error,
``--die-on METHOD`` exits without answering it, ``--hang-on METHOD`` never answers it.

Run it where the daemon runs (its network namespace), listening on a socket in one of
the daemon's plugin directories::

    example_plugin.py --socket /run/docker/plugins/example.sock --state /var/lib/example \\
        --pools /etc/example/pools
    docker network create -d example --ipam-driver example ex1
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socketserver
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

GATEWAY_TYPE = "com.docker.network.gateway"


class State:
    """Networks (bridge, gateway), endpoints joined, pools and leases; kept in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        doc = json.loads(path.read_text()) if path.exists() else {}
        self.networks: dict[str, dict] = doc.get("networks", {})
        self.endpoints: dict[str, dict] = doc.get("endpoints", {})
        self.pools: dict[str, list[str]] = doc.get("pools", {})  # pool ID -> leased addresses

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"networks": self.networks, "endpoints": self.endpoints, "pools": self.pools}))
        tmp.replace(self.path)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def bridge_of(network_id: str) -> str:
    return f"exbr-{network_id[:8]}"


def host_veth(endpoint_id: str) -> str:
    return f"exh{endpoint_id[:8]}"


def peer_veth(endpoint_id: str) -> str:
    return f"exc{endpoint_id[:8]}"


class PluginError(Exception):
    pass


class Plugin:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state = State(Path(args.state) / "state.json")
        self.fail = dict(f.split("=", 1) for f in args.fail)
        self.pool_file = Path(args.pools) if args.pools else None

    # ---------------------------------------------------------------- plumbing

    def handle(self, method: str, body: dict) -> dict:
        if method in self.fail:
            key = "Error" if method.startswith("IpamDriver.") else "Err"
            return {key: self.fail[method]}
        handler = getattr(self, method.replace(".", "_"), None)
        if handler is None:
            raise LookupError(method)
        with self.state.lock:
            try:
                return handler(body)
            except PluginError as exc:
                key = "Error" if method.startswith("IpamDriver.") else "Err"
                return {key: str(exc)}

    def Plugin_Activate(self, body: dict) -> dict:
        return {"Implements": ["NetworkDriver", "IpamDriver"]}

    # ---------------------------------------------------------------- network driver

    def NetworkDriver_GetCapabilities(self, body: dict) -> dict:
        return {"Scope": "local", "ConnectivityScope": "local"}

    def NetworkDriver_CreateNetwork(self, body: dict) -> dict:
        network_id = body["NetworkID"]
        gateway = next((d.get("Gateway", "") for d in body.get("IPv4Data") or []), "")
        bridge = bridge_of(network_id)
        if ip("link", "show", bridge, check=False).returncode != 0:
            ip("link", "add", bridge, "type", "bridge")
        if gateway:
            ip("addr", "replace", gateway, "dev", bridge)
        ip("link", "set", bridge, "up")
        self.state.networks[network_id] = {"bridge": bridge, "gateway": gateway.split("/")[0]}
        self.state.save()
        return {}

    def NetworkDriver_DeleteNetwork(self, body: dict) -> dict:
        ip("link", "del", bridge_of(body["NetworkID"]), check=False)
        self.state.networks.pop(body["NetworkID"], None)
        self.state.save()
        return {}

    def NetworkDriver_CreateEndpoint(self, body: dict) -> dict:
        network = self.state.networks.get(body["NetworkID"])
        if network is None:
            raise PluginError(f"network {body['NetworkID']} is not known to the example plugin")
        endpoint_id = body["EndpointID"]
        host, peer = host_veth(endpoint_id), peer_veth(endpoint_id)
        ip("link", "del", host, check=False)
        ip("link", "add", host, "type", "veth", "peer", "name", peer)
        ip("link", "set", host, "master", network["bridge"], "up")
        given = body.get("Interface") or {}
        answer: dict = {}  # the daemon gave the addresses: they are not to be changed
        mac = given.get("MacAddress") or ""
        if not mac:  # the daemon leaves the MAC to the driver: the veth's own
            mac = json.loads(ip("-j", "link", "show", peer).stdout)[0]["address"]
            answer["MacAddress"] = mac
        self.state.endpoints[endpoint_id] = {"network": body["NetworkID"], "joined": False, "mac": mac}
        self.state.save()
        return {"Interface": answer}

    def NetworkDriver_Join(self, body: dict) -> dict:
        endpoint = self.state.endpoints.get(body["EndpointID"])
        if endpoint is None:
            raise PluginError(f"endpoint {body['EndpointID']} is not known to the example plugin")
        gateway = self.state.networks[endpoint["network"]]["gateway"]
        endpoint["joined"] = True
        self.state.save()
        answer: dict = {"InterfaceName": {"SrcName": peer_veth(body["EndpointID"]), "DstPrefix": self.args.dst_prefix}}
        if gateway and not self.args.no_gateway:
            answer["Gateway"] = gateway
            answer["StaticRoutes"] = [{"Destination": r, "RouteType": 0, "NextHop": gateway} for r in self.args.route]
        return answer

    def NetworkDriver_Leave(self, body: dict) -> dict:
        endpoint = self.state.endpoints.get(body["EndpointID"])
        if endpoint is not None:
            endpoint["joined"] = False
            self.state.save()
        return {}

    def NetworkDriver_DeleteEndpoint(self, body: dict) -> dict:
        ip("link", "del", host_veth(body["EndpointID"]), check=False)
        self.state.endpoints.pop(body["EndpointID"], None)
        self.state.save()
        return {}

    def NetworkDriver_EndpointOperInfo(self, body: dict) -> dict:
        return {"Value": {"bridge": self.state.networks.get(body["NetworkID"], {}).get("bridge", "")}}

    def NetworkDriver_ProgramExternalConnectivity(self, body: dict) -> dict:
        return {}

    def NetworkDriver_RevokeExternalConnectivity(self, body: dict) -> dict:
        return {}

    def NetworkDriver_DiscoverNew(self, body: dict) -> dict:
        return {}

    def NetworkDriver_DiscoverDelete(self, body: dict) -> dict:
        return {}

    # ---------------------------------------------------------------- IPAM driver

    def IpamDriver_GetCapabilities(self, body: dict) -> dict:
        return {"RequiresMACAddress": False, "RequiresRequestReplay": False}

    def IpamDriver_GetDefaultAddressSpaces(self, body: dict) -> dict:
        return {"LocalDefaultAddressSpace": "example-local", "GlobalDefaultAddressSpace": "example-global"}

    def IpamDriver_RequestPool(self, body: dict) -> dict:
        if body.get("V6"):
            raise PluginError("the example IPAM has no IPv6 pools")
        wanted = body.get("Pool") or ""
        listed = self._listed_pools()
        if wanted:
            pool = str(ipaddress.ip_network(wanted))
        else:
            free = [p for p in listed if f"example/{p}" not in self.state.pools]
            if not free:
                raise PluginError(f"no free pool left in {self.pool_file}")
            pool = free[0]
        pool_id = f"example/{pool}"
        if pool_id in self.state.pools:
            raise PluginError(f"pool {pool} is in use")
        self.state.pools[pool_id] = []
        self.state.save()
        return {"PoolID": pool_id, "Pool": pool, "Data": {}}

    def IpamDriver_ReleasePool(self, body: dict) -> dict:
        self.state.pools.pop(body["PoolID"], None)
        self.state.save()
        return {}

    def IpamDriver_RequestAddress(self, body: dict) -> dict:
        pool_id = body["PoolID"]
        if pool_id not in self.state.pools:
            raise PluginError(f"unknown pool {pool_id}")
        network = ipaddress.ip_network(pool_id.split("/", 1)[1])
        leased = self.state.pools[pool_id]
        if body.get("Address"):
            address = ipaddress.ip_address(body["Address"])
            if str(address) in leased:
                raise PluginError(f"address {address} is already in use")
        else:
            address = next((a for a in network.hosts() if str(a) not in leased), None)
            if address is None:
                raise PluginError(f"pool {network} is full")
        leased.append(str(address))
        self.state.save()
        return {"Address": f"{address}/{network.prefixlen}", "Data": {}}

    def IpamDriver_ReleaseAddress(self, body: dict) -> dict:
        leased = self.state.pools.get(body["PoolID"], [])
        if body.get("Address") in leased:
            leased.remove(body["Address"])
            self.state.save()
        return {}

    def _listed_pools(self) -> list[str]:
        if self.pool_file is None or not self.pool_file.exists():
            return []
        lines = (line.split("#", 1)[0].strip() for line in self.pool_file.read_text().splitlines())
        return [str(ipaddress.ip_network(line)) for line in lines if line]

    # ---------------------------------------------------------------- start-up

    def tidy(self) -> None:
        """After a restart: veths of endpoints that never finished joining (the plugin
        died on the way) are removed with their records; the daemon rolled them back."""
        for endpoint_id, endpoint in list(self.state.endpoints.items()):
            if not endpoint.get("joined"):
                ip("link", "del", host_veth(endpoint_id), check=False)
                del self.state.endpoints[endpoint_id]
        self.state.save()


def serve(plugin: Plugin, socket_path: Path, record: Path | None, die_on: str, hang_on: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            method = self.path.lstrip("/")
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw.strip() else {}
            if record is not None:
                with record.open("a") as f:
                    f.write(json.dumps({"method": method, "body": body}) + "\n")
            if method == die_on:
                os._exit(3)  # crash mid-call: no answer
            if method == hang_on:
                threading.Event().wait()  # take the request and never answer it
            try:
                answer = plugin.handle(method, body)
            except LookupError:
                self._send(404, {"Err": f"{method} is not implemented by the example plugin"})
                return
            self._send(200, answer)

        def _send(self, status: int, doc: dict) -> None:
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.docker.plugins.v1.2+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt: str, *args: object) -> None:
            sys.stderr.write("example plugin: " + fmt % args + "\n")

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()
    with Server(str(socket_path), Handler) as server:
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="an example Docker network and IPAM plugin")
    p.add_argument("--socket", required=True, help="the unix socket to listen on (<plugin dir>/<name>.sock)")
    p.add_argument("--state", required=True, help="a directory for the plugin's state")
    p.add_argument("--pools", help="a file of IPv4 pools (one CIDR a line) the IPAM hands out")
    p.add_argument("--route", action="append", default=[], help="a static route Join asks for (via the gateway)")
    p.add_argument("--dst-prefix", default="eth", help="the container interface's name prefix Join asks for")
    p.add_argument("--no-gateway", action="store_true", help="Join names no gateway: no default route through it")
    p.add_argument("--record", help="append every request to this file (JSON lines)")
    p.add_argument("--fail", action="append", default=[], help="METHOD=TEXT: answer METHOD with this error")
    p.add_argument("--die-on", default="", help="METHOD: exit without answering it")
    p.add_argument("--hang-on", default="", help="METHOD: never answer it (the other requests are answered)")
    args = p.parse_args(argv)
    Path(args.state).mkdir(parents=True, exist_ok=True)
    plugin = Plugin(args)
    plugin.tidy()
    serve(plugin, Path(args.socket), Path(args.record) if args.record else None, args.die_on, args.hang_on)


if __name__ == "__main__":
    main()
