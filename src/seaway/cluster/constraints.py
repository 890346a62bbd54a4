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

Json = dict[str, Any]

_CONSTRAINT_KEY = re.compile(r"^[a-z_][a-z0-9\-_.]+$", re.IGNORECASE)
_CONSTRAINT_VALUE = re.compile(r"^[a-z0-9:\-_\s.*()?+\[\]\\^$|/]+$", re.IGNORECASE)
_OPERATORS = ("==", "!=")


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    equal: bool  # "==" (else "!=")
    value: str

    def matches(self, *candidates: str) -> bool:
        found = any(c.casefold() == self.value.casefold() for c in candidates)
        return found == self.equal


def parse_constraints(expressions: Iterable[str]) -> list[Constraint]:
    """``node.role==manager`` and friends, with swarmkit's errors (without the rpc prefix)."""
    parsed = []
    for expression in expressions:
        for op in _OPERATORS:
            if op not in expression:
                continue
            key, value = (part.strip() for part in expression.split(op, 1))
            if not _CONSTRAINT_KEY.match(key):
                raise InvalidParameter(f"key '{key}' is invalid")
            if not _CONSTRAINT_VALUE.match(value):
                raise InvalidParameter(f"value '{value}' is invalid")
            parsed.append(Constraint(key, op == "==", value))
            break
        else:
            raise InvalidParameter(f"constraint expected one operator from {', '.join(_OPERATORS)}")
    return parsed


def node_matches(constraints: Iterable[Constraint], node: Json) -> bool:
    """Whether a node (Docker's ``Node`` JSON) satisfies every constraint (swarmkit's rules:
    keys case-insensitive, values compared case-insensitively, unknown keys never match)."""
    description = node.get("Description") or {}
    platform = description.get("Platform") or {}
    for c in constraints:
        key = c.key.casefold()
        if key == "node.id":
            ok = c.matches(node.get("ID", ""))
        elif key == "node.hostname":
            ok = c.matches(description.get("Hostname", ""))
        elif key == "node.ip":
            ok = _ip_matches(c, (node.get("Status") or {}).get("Addr", ""))
        elif key == "node.role":
            ok = c.matches((node.get("Spec") or {}).get("Role", ""))
        elif key == "node.platform.os":
            ok = c.matches(platform.get("OS", ""))
        elif key == "node.platform.arch":
            ok = c.matches(platform.get("Architecture", ""))
        elif key.startswith("node.labels.") and len(key) > len("node.labels."):
            ok = c.matches(((node.get("Spec") or {}).get("Labels") or {}).get(c.key[len("node.labels.") :], ""))
        elif key.startswith("engine.labels.") and len(key) > len("engine.labels."):
            labels = (description.get("Engine") or {}).get("Labels") or {}
            ok = c.matches(labels.get(c.key[len("engine.labels.") :], ""))
        else:
            ok = False
        if not ok:
            return False
    return True


def _ip_matches(c: Constraint, addr: str) -> bool:
    try:
        node_ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    try:
        inside = node_ip in ipaddress.ip_network(c.value, strict=False)
    except ValueError:
        return False
    return inside == c.equal
