"""Swarm placement constraints (``node.role==manager``, ``node.labels.zone!=b``): parsed
with swarmkit's rules and errors, and matched against Docker's ``Node`` JSON. Pure.

Keys are case-insensitive and values compared case-insensitively (label names are not);
an unknown key never matches; ``node.ip`` takes an address or a CIDR prefix.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from seaway.errors import InvalidParameter

_KEY = re.compile(r"^[a-z_][a-z0-9\-_.]+$", re.IGNORECASE)
_VALUE = re.compile(r"^[a-z0-9:\-_\s.*()?+\[\]\\^$|/]+$", re.IGNORECASE)
_OPERATORS = ("==", "!=")


@dataclass(frozen=True, slots=True)
class Constraint:
    """One ``key==value`` / ``key!=value`` placement constraint (values compare case-insensitively)."""

    key: str
    equal: bool
    value: str

    def matches(self, node: dict[str, Any]) -> bool:
        key = self.key.lower()
        if key == "node.ip":
            return self._matches_ip(str((node.get("Status") or {}).get("Addr") or ""))
        found = _node_attribute(node, self.key)
        if found is None:
            return False
        return (found.casefold() == self.value.casefold()) == self.equal

    def _matches_ip(self, addr: str) -> bool:
        try:
            node_ip = ipaddress.ip_address(addr)
        except ValueError:
            node_ip = None
        try:
            if "/" in self.value:
                inside = node_ip is not None and node_ip in ipaddress.ip_network(self.value, strict=False)
            else:
                inside = node_ip == ipaddress.ip_address(self.value)
        except ValueError:
            return False  # swarmkit rejects a malformed address or network
        return inside == self.equal


def parse_constraints(exprs: Iterable[str]) -> list[Constraint]:
    """Parse ``Placement.Constraints``; a bad one raises InvalidParameter with swarmkit's text."""
    out = []
    for expr in exprs:
        op = next((o for o in _OPERATORS if o in expr), None)
        if op is None:
            raise InvalidParameter(f"constraint expected one operator from {', '.join(_OPERATORS)}")
        key, _, value = (part.strip() for part in expr.partition(op))
        if not _KEY.match(key):
            raise InvalidParameter(f"key '{key}' is invalid")
        if not _VALUE.match(value):
            raise InvalidParameter(f"value '{value}' is invalid")
        out.append(Constraint(key, op == "==", value))
    return out


def node_matches(constraints: Iterable[Constraint], node: dict[str, Any]) -> bool:
    return all(c.matches(node) for c in constraints)


def _node_attribute(node: dict[str, Any], key: str) -> str | None:
    lowered = key.lower()
    spec = node.get("Spec") or {}
    desc = node.get("Description") or {}
    platform = desc.get("Platform") or {}
    simple = {
        "node.id": lambda: node.get("ID"),
        "node.hostname": lambda: desc.get("Hostname"),
        "node.role": lambda: spec.get("Role"),
        "node.platform.os": lambda: platform.get("OS"),
        "node.platform.arch": lambda: platform.get("Architecture"),
    }
    if lowered in simple:
        return str(simple[lowered]() or "")
    if lowered.startswith("node.labels.") and len(key) > len("node.labels."):
        return str((spec.get("Labels") or {}).get(key[len("node.labels.") :], ""))
    if lowered.startswith("engine.labels.") and len(key) > len("engine.labels."):
        return str(((desc.get("Engine") or {}).get("Labels") or {}).get(key[len("engine.labels.") :], ""))
    return None  # an unknown key matches no node
