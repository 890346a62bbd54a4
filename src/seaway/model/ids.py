"""Identifiers and names as Docker forms them. Pure."""

from __future__ import annotations

import re
import secrets

from seaway.errors import InvalidParameter

_HEX64 = re.compile(r"[0-9a-f]{64}")


def new_id() -> str:
    """A 64-hex ID whose 12-character short form is never all digits (Docker's rule)."""
    while True:
        candidate = secrets.token_hex(32)
        if not candidate[:12].isdigit():
            return candidate


def short_id(full_id: str) -> str:
    return full_id[:12]


def is_full_id(value: str) -> bool:
    return bool(_HEX64.fullmatch(value))


def validate_network_name(name: str) -> str:
    """Docker accepts any name with non-whitespace content; control characters are refused."""
    if not name.strip() or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidParameter(f"invalid name: {name!r}: a network name needs visible characters")
    return name


def new_mac() -> str:
    """A random locally administered unicast MAC (current Docker's choice)."""
    raw = bytearray(secrets.token_bytes(6))
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in raw)


_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")


def validate_mac(mac: str) -> str:
    if not _MAC.fullmatch(mac) or int(mac[:2], 16) & 1:
        raise InvalidParameter(f"invalid MAC address {mac}: expected a unicast address like 02:42:ac:11:00:02")
    return mac.lower()
