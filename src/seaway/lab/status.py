"""``seaway lab status``: a running lab as a tree — segments, routers, the world, and
every host with its daemon, networks (a swarm overlay with its VXLAN id and VTEPs) and
containers (asked from each host's seawayd); a BGP speaker (router or host) with its
sessions and the prefixes received and sent on each (asked from its FRR by vtysh)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker.errors

from seaway.bgp import speaker
from seaway.errors import SeawayError
from seaway.kernel import process
from seaway.lab import state, swarm
from seaway.lab.api import Lab, LabHost
from seaway.lab.plan import DNS_ADDRESS, WEB_ADDRESS


def tree(lab: Lab) -> str:
    st = state.read(lab.plan.root)
    plan = lab.plan
    lines = [f"lab {lab.name}  ({plan.root})"]
    top: list[list[str]] = []
    for seg in plan.segments:
        members = [f"{n.name} {i.address.ip}" for n in plan.nodes for i in n.interfaces if i.segment == seg.name]
        top.append([f"segment {seg.name}  {seg.subnet}  bridge {seg.bridge} in {plan.fabric_netns}", *members])
    for node in plan.nodes:
        links = ", ".join(f"{i.name} {i.address} on {i.segment}" for i in node.interfaces)
        if node.kind == "router":
            bgp = _bgp(plan.frr_root(node.name), node) if node.asn is not None else []
            top.append([f"router {node.name}  {node.netns}  {links}", *bgp])
        elif node.kind == "world":
            alive = _alive(st, node.name)
            top.append([f"world  {node.netns}  {links}", f"web {WEB_ADDRESS}:80, dns {DNS_ADDRESS}:53  ({alive})"])
    roles = swarm.summary(plan, plan.topology.swarm) if plan.topology.swarm else {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        hosts = list(pool.map(lambda h: _host(h, st, roles.get(h.name)), lab.hosts))
    top += hosts
    for i, (head, *children) in enumerate(top):
        last = i == len(top) - 1
        lines.append(("└── " if last else "├── ") + head)
        pad = "    " if last else "│   "
        for j, child in enumerate(children):
            lines.append(pad + ("└── " if j == len(children) - 1 else "├── ") + child)
    return "\n".join(lines)


def _overlay(net: Any) -> str:
    """A swarm overlay's VXLAN id and the nodes (host name, VTEP) with endpoints on it."""
    if net.attrs.get("Scope") != "swarm":
        return ""
    net.reload()  # the list has no Peers: inspect has them
    vni = (net.attrs.get("Options") or {}).get("com.docker.network.driver.overlay.vxlanid_list", "?")
    peers = ", ".join(f"{p.get('Name')} {p.get('IP')}" for p in net.attrs.get("Peers") or [])
    return f"  swarm VNI {vni}" + (f"  VTEPs {peers}" if peers else "  no endpoints")


def _bgp(root: Any, node: Any) -> list[str]:
    """The speaker's AS and one line per session: peer, its AS, state, prefixes in and out."""
    head = f"bgp AS {node.asn}  router-id {node.router_id}"
    try:
        found = speaker.sessions(speaker.summary(root, node.netns))
    except (SeawayError, ValueError) as exc:
        return [f"{head}  FRR unreachable: {str(exc).splitlines()[0]}"]
    names = {str(p.address): p.name for p in node.bgp_peers}
    lines = [head]
    for s in found:
        who = f"{names[s['peer']]} " if s["peer"] in names else ""
        lines.append(
            f"bgp {s['family']} peer {who}{s['peer']} AS {s['remote_as']}  {s['state']}"
            f"  {s['received']} received, {s['sent']} sent"
        )
    return lines


def _alive(st: state.LabState, node: str) -> str:
    pid = st.pids.get(node)
    return f"pid {pid} running" if pid and process.runs(pid, st.marker) else "not running"


def _host(host: LabHost, st: state.LabState, role: str | None) -> list[str]:
    links = ", ".join(f"{i.name} {i.address}" for i in host.node.interfaces)
    head = f"host {host.name}  {host.netns}  {links}  seawayd {_alive(st, host.name)}"
    children = [f"DOCKER_HOST={host.docker_host}", *([role] if role else [])]
    if host.node.asn is not None:
        children += _bgp(host.files.data_root / "bgp", host.node)
    try:
        for net in sorted(host.docker.networks.list(), key=lambda n: n.name):
            attrs = net.attrs
            subnets = ", ".join(c.get("Subnet", "") for c in (attrs.get("IPAM") or {}).get("Config") or [])
            flags = " internal" if attrs.get("Internal") else ""
            children.append(
                f"network {net.name}  {attrs.get('Driver')}"
                + (f"  {subnets}" if subnets else "")
                + flags
                + _overlay(net)
            )
        for c in sorted(host.docker.containers.list(all=True), key=lambda c: c.name):
            nets = c.attrs.get("NetworkSettings", {}).get("Networks") or {}
            where = ", ".join(f"{n} {v.get('IPAddress') or '-'}" for n, v in nets.items())
            ports = ", ".join(
                f"{b['HostPort']}->{p}"
                for p, bs in (c.attrs.get("HostConfig", {}).get("PortBindings") or {}).items()
                for b in bs or []
            )
            children.append(
                f"container {c.name}  {c.status}  {c.attrs['Config'].get('Image')}  {where}"
                + (f"  ports {ports}" if ports else "")
            )
    except (docker.errors.DockerException, OSError) as exc:
        children.append(f"daemon unreachable: {exc}")
    return [head, *children]
