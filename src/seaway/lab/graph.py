"""Pictures of a lab: Graphviz DOT text from a plan (pure) and its rendering by ``dot``.

Segments are drawn as switches, routers and the world as their own shapes, and each
host as a box holding its Docker networks and containers (the topology's, or the ones
running when the lab is up), with a container linked to each network it joins.
"""

from __future__ import annotations

from pathlib import Path

from seaway.errors import InvalidParameter, Unsupported
from seaway.kernel import process
from seaway.lab.plan import DNS_ADDRESS, WEB_ADDRESS, LabPlan

FORMATS = ("svg", "png")


def _q(text: str) -> str:
    """A DOT quoted string; newlines become DOT's centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(plan: LabPlan) -> str:
    """The lab as a DOT graph."""
    lines = [
        f"graph {_q('lab ' + plan.name)} {{",
        "  graph [rankdir=TB, fontname=Helvetica, label=" + _q(f"lab {plan.name}") + ", labelloc=t, nodesep=0.4];",
        "  node [fontname=Helvetica, fontsize=10]; edge [fontname=Helvetica, fontsize=9, color=gray40];",
    ]
    for seg in plan.segments:
        label = f"segment {seg.name}\n{seg.subnet}"
        lines.append(
            f'  {_q("seg:" + seg.name)} [shape=box, style="rounded,filled", fillcolor=lightblue, label={_q(label)}];'
        )
    for node in plan.nodes:
        nid = _q("node:" + node.name)
        if node.kind == "router":
            lines.append(f"  {nid} [shape=ellipse, style=filled, fillcolor=khaki, label={_q(f'router {node.name}')}];")
        elif node.kind == "world":
            label = f"outside world\nweb {WEB_ADDRESS}:80\ndns {DNS_ADDRESS}:53"
            lines.append(f"  {nid} [shape=note, style=filled, fillcolor=palegreen, label={_q(label)}];")
        else:
            lines += _host(plan, node.name)
        for iface in node.interfaces:
            # hosts hang below their segments, routers and the world sit above them
            ends = (_q("seg:" + iface.segment), nid) if node.kind == "host" else (nid, _q("seg:" + iface.segment))
            lines.append(f"  {ends[0]} -- {ends[1]} [label={_q(f'{iface.name} {iface.address.ip}')}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _host(plan: LabPlan, name: str) -> list[str]:
    spec = plan.host_spec(name)
    nid = _q("node:" + name)
    out = [f"  subgraph {_q('cluster_' + name)} {{", f"    label={_q(f'host {name}')}; style=rounded; color=gray50;"]
    label = f"{name}\nseawayd"
    out.append(f"    {nid} [shape=box3d, style=filled, fillcolor=white, label={_q(label)}];")
    for net in spec.networks:
        label = f"network {net.name}" + (f"\n{net.driver}" if net.driver != "bridge" else "")
        label += "\ninternal" if net.internal else ""
        out.append(
            f"    {_q(f'net:{name}:{net.name}')} [shape=hexagon, style=filled, fillcolor=lavender, label={_q(label)}];"
        )
        out.append(f"    {nid} -- {_q(f'net:{name}:{net.name}')} [style=dotted];")
    for c in spec.containers:
        ports = ", ".join(f"{p.host_port}->{p.container_port}/{p.protocol}" for p in c.ports)
        label = f"{c.name}\n{c.image}" + (f"\n{ports}" if ports else "")
        out.append(
            f"    {_q(f'ctr:{name}:{c.name}')} [shape=component, style=filled, fillcolor=mistyrose, label={_q(label)}];"
        )
        for net in c.networks:
            out.append(f"    {_q(f'ctr:{name}:{c.name}')} -- {_q(f'net:{name}:{net}')};")
    out.append("  }")
    return out


def render(plan: LabPlan, output: Path) -> Path:
    """Draw the lab into ``output`` (.svg or .png) with Graphviz's ``dot``."""
    fmt = output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InvalidParameter(f"invalid output {output}: the picture is .svg or .png")
    try:
        process.run(None, ["dot", f"-T{fmt}", "-o", str(output)], input=dot(plan))
    except Unsupported:
        raise Unsupported("drawing a lab needs Graphviz's dot (Debian package graphviz)") from None
    return output
