"""Apply nftables transactions: one ``nft -j -f -`` run per operation, atomic.

The kernel applies a whole batch or none of it. This module only carries JSON commands
built by ``seaway.firewall.ruleset`` to the kernel and reads back Seaway's own tables;
it never lists or touches anyone else's.
"""

from __future__ import annotations

import errno
import json
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from seaway.errors import KernelError, Unsupported

NFT = "nft"


def available() -> bool:
    return shutil.which(NFT) is not None


def apply(commands: list[dict[str, Any]], what: str) -> None:
    """Run one atomic transaction; raise ``KernelError`` naming ``what`` if it fails."""
    if not commands:
        return
    payload = json.dumps({"nftables": commands})
    try:
        proc = subprocess.run([NFT, "-j", "-f", "-"], input=payload, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise Unsupported("nftables: the nft command is not installed (Debian package nftables)") from exc
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "nft failed"
        raise KernelError("apply nftables transaction", what, None, reason)


def list_table(family: str, name: str) -> dict[str, Any] | None:
    """``nft -j list table FAMILY NAME`` parsed, or None when the table does not exist."""
    proc = subprocess.run([NFT, "-j", "list", "table", family, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def table_outline(family: str, name: str) -> list[dict[str, Any]] | None:
    """A table's objects listed tersely (no set elements), or None when it does not exist."""
    proc = subprocess.run([NFT, "-j", "-t", "list", "table", family, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout).get("nftables", [])  # type: ignore[no-any-return]


def list_ruleset(skip: frozenset[tuple[str, str]] = frozenset()) -> list[dict[str, Any]]:
    """Every table of the namespace but those in ``skip`` (``(family, name)``), read only
    (host-firewall mode copies input chains). The tables are listed one by one, so a
    skipped table's elements (Seaway's own: one per published port) are never read."""
    if not skip:
        proc = subprocess.run([NFT, "-j", "list", "ruleset"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise KernelError("list ruleset", "nftables", None, proc.stderr.strip() or "nft failed")
        return json.loads(proc.stdout).get("nftables", [])  # type: ignore[no-any-return]
    objects: list[dict[str, Any]] = []
    for family, name in list_tables():
        if (family, name) in skip:
            continue
        listing = list_table(family, name)  # None: gone since the table list was read
        if listing is not None:
            objects += [o for o in listing.get("nftables", []) if "metainfo" not in o]
    return objects


def list_tables() -> list[tuple[str, str]]:
    """``(family, name)`` of every table of the namespace (names only: nothing inside is read)."""
    proc = subprocess.run([NFT, "-j", "-t", "list", "tables"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise KernelError("list tables", "nftables", None, proc.stderr.strip() or "nft failed")
    listing = json.loads(proc.stdout).get("nftables", [])
    return [(o["table"]["family"], o["table"]["name"]) for o in listing if "table" in o]


@dataclass(frozen=True, slots=True)
class Event:
    """One ruleset change: ``verb`` add|delete, ``kind`` table|chain|rule|set, the table's
    name; ``kind == "overrun"`` when events were lost (assume anything changed)."""

    verb: str
    kind: str
    table: str


# nfnetlink: NFNL_SUBSYS_NFTABLES messages, by type, and the multicast group
_NFNL_SUBSYS_NFTABLES = 10
_NFNLGRP_NFTABLES = 7
_NETLINK_NETFILTER = 12
_MESSAGES = {
    0: ("add", "table"), 2: ("delete", "table"),
    3: ("add", "chain"), 5: ("delete", "chain"),
    6: ("add", "rule"), 8: ("delete", "rule"),
    9: ("add", "set"), 11: ("delete", "set"),
}  # fmt: skip


class Monitor:
    """The kernel's nftables change notifications (the ``nft monitor`` feed), read
    straight from netlink in the calling thread's namespace. Set elements are not
    followed. ``close()`` ends the iteration (from any thread).

    (``nft -j monitor`` is not used: nft 1.0.6 crashes printing elements of
    concatenated interval maps, which Seaway's published ports use.)"""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._sock.bind((0, 1 << (_NFNLGRP_NFTABLES - 1)))
        self._closed = False

    def __iter__(self) -> Iterator[Event]:
        while not self._closed:
            try:
                data = self._sock.recv(1 << 16)
            except OSError as exc:
                if self._closed:
                    return
                if exc.errno == errno.ENOBUFS:
                    yield Event("delete", "overrun", "")
                    continue
                raise
            if not data:
                return
            yield from _parse(data)

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


def _parse(data: bytes) -> Iterator[Event]:
    offset = 0
    while offset + 16 <= len(data):
        length, msg_type = struct.unpack_from("=IH", data, offset)
        if length < 16:
            return
        if msg_type >> 8 == _NFNL_SUBSYS_NFTABLES and (msg_type & 0xFF) in _MESSAGES:
            verb, kind = _MESSAGES[msg_type & 0xFF]
            yield Event(verb, kind, _table_attr(data[offset + 20 : offset + length]))
        offset += (length + 3) & ~3


def _table_attr(attrs: bytes) -> str:
    """The first attribute of every table/chain/rule/set message is its table's name."""
    pos = 0
    while pos + 4 <= len(attrs):
        nla_len, nla_type = struct.unpack_from("=HH", attrs, pos)
        if nla_len < 4:
            break
        if nla_type & 0x3FFF == 1:
            return attrs[pos + 4 : pos + nla_len].split(b"\0", 1)[0].decode(errors="replace")
        pos += (nla_len + 3) & ~3
    return ""
