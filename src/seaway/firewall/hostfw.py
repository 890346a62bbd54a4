"""Host-firewall mode: published ports also pass the host's own input rules. Pure.

Traffic to a published port is translated to the container before the kernel's input
hook, so the host's input rules (``inet filter input``, UFW's and firewalld's chains)
never see it: a ``deny 5432`` on the host does not protect a container's port 5432.
In host-firewall mode Seaway copies every input base chain of the other tables into its
own table, as forward base chains that only see new, translated traffic into the
opted-in bridges, and rewrites what changed with the translation: the destination
address and port become conntrack's *original* destination (``ct original ip daddr``,
``ct original proto-dst``), which is what the host's rules were written against. A
drop in the host's rules then drops the published connection; the copy's policy is
the original chain's.

Each input base chain *k* becomes::

    chain hostfw-k      (forward hook, the original's priority, policy accept)
        oifname @host-firewall ct status dnat ct state new jump hostfw-k-<name>
    chain hostfw-k-<name>  the original's rules, rewritten, then its policy
    chain hostfw-k-<other> each chain it jumps to, rewritten
    set   hostfw-k-<set>   each named set it uses, copied with its elements

Rules that cannot be copied (iptables-nft ``xt`` matches) are left out and reported.
The copy is rebuilt whole whenever another table changes; its size follows the host's
input rules, never the number of networks, containers or ports.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from seaway.firewall import naming as n

Command = dict[str, Any]
L4 = ("tcp", "udp", "sctp", "dccp", "udplite", "th")


@dataclass
class Mirror:
    sets: list[Command] = field(default_factory=list)
    chain_defs: list[Command] = field(default_factory=list)
    rules: list[Command] = field(default_factory=list)
    #: rules left out, as ``family table chain: reason``
    skipped: list[str] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        """Sets, then chains, then rules: every rule's references exist when it is added."""
        return self.sets + self.chain_defs + self.rules


class _Unsupported(Exception):
    pass


def _objects(listing: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item[kind] for item in listing if kind in item]


def remove_previous(chain_names: list[str], sets: dict[str, str]) -> list[Command]:
    """Flush, then delete, the chains and sets (``{name: "set"|"map"}``) of the previous
    copy (same transaction)."""
    ref = {"family": n.INET, "table": n.TABLE}
    mine = sorted(c for c in chain_names if c.startswith(n.HOSTFW_PREFIX))
    cmds: list[Command] = [{"flush": {"chain": {**ref, "name": c}}} for c in mine]
    cmds += [{"delete": {"chain": {**ref, "name": c}}} for c in mine]
    cmds += [
        {"delete": {kind: {**ref, "name": name}}}
        for name, kind in sorted(sets.items())
        if name.startswith(n.HOSTFW_PREFIX)
    ]
    return cmds


def build(listing: list[dict[str, Any]]) -> Mirror:
    """Commands creating the copy of every foreign input base chain in ``listing``
    (the objects of ``nft -j list table`` of the other tables: Seaway's own, with an
    element per published port, need not be read; any of its objects are ignored)."""
    out = Mirror()
    chains = _objects(listing, "chain")
    rules = _objects(listing, "rule")
    sets = _objects(listing, "set") + _objects(listing, "map")
    inputs = [
        c
        for c in chains
        if c.get("hook") == "input"
        and c.get("type", "filter") == "filter"
        and c.get("family") in ("ip", "ip6", "inet")
        and c.get("table") != n.TABLE
    ]
    for k, chain in enumerate(sorted(inputs, key=lambda c: (c.get("prio", 0), c["family"], c["table"], c["name"]))):
        _copy_base(out, k, chain, chains, rules, sets)
    return out


def _copy_base(
    out: Mirror,
    k: int,
    base: dict[str, Any],
    chains: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    sets: list[dict[str, Any]],
) -> None:
    family, table = base["family"], base["table"]
    prefix = f"{n.HOSTFW_PREFIX}{k}-"
    ref = {"family": n.INET, "table": n.TABLE}
    entry = f"{n.HOSTFW_PREFIX}{k}"
    prio = base.get("prio", 0)
    out.chain_defs.append(
        {
            "add": {
                "chain": {
                    **ref,
                    "name": entry,
                    "type": "filter",
                    "hook": "forward",
                    "prio": prio,
                    "policy": "accept",
                }
            }
        }
    )
    guard: list[dict[str, Any]] = []
    if family in ("ip", "ip6"):
        guard.append(_match({"meta": {"key": "nfproto"}}, "ipv4" if family == "ip" else "ipv6"))
    guard += [
        _match({"meta": {"key": "oifname"}}, "@" + n.SET_HOST_FIREWALL),
        _match({"ct": {"key": "status"}}, "dnat", "in"),
        _match({"ct": {"key": "state"}}, "new", "in"),
        {"jump": {"target": prefix + base["name"]}},
    ]
    out.rules.append(
        {"add": {"rule": {**ref, "chain": entry, "expr": guard, "comment": f"{family} {table} {base['name']}"}}}
    )
    todo = [base["name"]]
    done: set[str] = set()
    used_sets: set[str] = set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        out.chain_defs.append({"add": {"chain": {**ref, "name": prefix + name}}})
        for rule in (r for r in rules if r["family"] == family and r["table"] == table and r["chain"] == name):
            try:
                expr, targets, set_refs = _rewrite(rule["expr"], prefix)
            except _Unsupported as exc:
                out.skipped.append(f"{family} {table} {name} (handle {rule.get('handle')}): {exc}")
                continue
            todo += targets
            used_sets |= set_refs
            out.rules.append({"add": {"rule": {**ref, "chain": prefix + name, "expr": expr}}})
        if name == base["name"] and base.get("policy") == "drop":
            out.rules.append(
                {"add": {"rule": {**ref, "chain": prefix + name, "expr": [{"drop": None}], "comment": "policy"}}}
            )
    for set_name in sorted(used_sets):
        original = next(
            (s for s in sets if s["family"] == family and s["table"] == table and s["name"] == set_name), None
        )
        if original is None:
            out.skipped.append(f"{family} {table}: set {set_name} not found")
            continue
        out.sets += _copy_set(original, prefix)


def _copy_set(original: dict[str, Any], prefix: str) -> list[Command]:
    kind = "map" if "map" in original else "set"
    body = {
        k: v for k, v in original.items() if k in ("type", "map", "flags", "timeout", "policy", "size", "gc-interval")
    }
    body.update({"family": n.INET, "table": n.TABLE, "name": prefix + original["name"]})
    cmds: list[Command] = [{"add": {kind: body}}]
    if original.get("elem"):
        cmds.append(
            {
                "add": {
                    "element": {
                        "family": n.INET,
                        "table": n.TABLE,
                        "name": prefix + original["name"],
                        "elem": copy.deepcopy(original["elem"]),
                    }
                }
            }
        )
    return cmds


def _match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def _rewrite(expr: list[dict[str, Any]], prefix: str) -> tuple[list[dict[str, Any]], list[str], set[str]]:
    """One rule's statements, rewritten for the forward path after translation."""
    targets: list[str] = []
    set_refs: set[str] = set()
    protocols: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            if node.startswith("@"):
                set_refs.add(node[1:])
                return "@" + prefix + node[1:]
            return node
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "xt" in node:
            raise _Unsupported("an iptables (xt) match cannot be copied")
        payload = node.get("payload")
        if isinstance(payload, dict) and set(payload) == {"protocol", "field"}:
            proto, fld = payload["protocol"], payload["field"]
            if proto in L4 and fld == "dport":
                if proto != "th":
                    protocols.add(proto)
                return {"ct": {"key": "proto-dst", "dir": "original"}}
            if proto in ("ip", "ip6") and fld == "daddr":
                return {"ct": {"key": "daddr", "family": proto, "dir": "original"}}
        for verb in ("jump", "goto"):
            if verb in node and isinstance(node[verb], dict):
                targets.append(node[verb]["target"])
                return {verb: {"target": prefix + node[verb]["target"]}}
        if "counter" in node:
            return {"counter": None}
        return {k: walk(v) for k, v in node.items()}

    rewritten = [walk(statement) for statement in expr]
    guards = [_match({"meta": {"key": "l4proto"}}, p) for p in sorted(protocols)]
    return guards + rewritten, targets, set_refs
