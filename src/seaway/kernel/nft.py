"""Apply nftables transactions: one ``nft -j -f -`` run per operation, atomic.

The kernel applies a whole batch or none of it. This module only carries JSON commands
built by ``seaway.firewall.ruleset`` to the kernel and reads back Seaway's own tables;
it never lists or touches anyone else's.

``apply_in_process`` carries a small transaction through libnftables loaded into the
daemon instead (no process: an ``nft`` run costs ~15-20 ms of fork, exec and start-up,
which was most of the embedded DNS's set-up in each container).
"""

from __future__ import annotations

import ctypes
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
from seaway.kernel import fdlimit

NFT = "nft"
NFT_CTX_OUTPUT_JSON = 1 << 4  # libnftables: with it, input is read as JSON too (nft 1.0.6)
_libnftables: ctypes.CDLL | None = None
FD_SETSIZE = 1024
FD_MARGIN = 64  # descriptors other threads may open meanwhile


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


def _library() -> ctypes.CDLL | None:
    """libnftables (Debian's nftables package installs it with nft), or None."""
    global _libnftables
    if _libnftables is None:
        try:
            lib = ctypes.CDLL("libnftables.so.1")
        except OSError:
            return None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        _libnftables = lib
    return _libnftables


def apply_in_process(commands: list[dict[str, Any]], what: str) -> None:
    """``apply`` through libnftables in this process, in the calling thread's namespace
    (a context is made and freed per call: its socket is opened where the thread is).
    For small transactions only (the embedded DNS's table in a container); without the
    library, an ``nft`` run as ``apply``.

    libnftables 1.0.6 waits for the kernel's answer with ``select(2)``, which cannot take
    a descriptor numbered 1024 or more: glibc aborts the whole process ("bit out of
    range 0 - FD_SETSIZE on fd_set"). Its socket gets the lowest free number, which is
    at most the count of open descriptors; with that many open (a thousand published
    ports hold a thousand sockets) the transaction goes to an ``nft`` process instead."""
    lib = _library()
    if lib is None or fdlimit.open_count() + FD_MARGIN >= FD_SETSIZE:
        apply(commands, what)
        return
    if commands:
        _run_buffer(lib, json.dumps({"nftables": commands}).encode(), NFT_CTX_OUTPUT_JSON, what)


def apply_text_in_process(text: str, what: str) -> None:
    """A transaction in nft's own language, through libnftables in the calling thread's
    namespace (or an ``nft -f -`` run without the library). For what JSON can't say in
    nft 1.0.6 (maps declared with ``typeof`` over a concatenation with ``numgen``)."""
    if not text.strip():
        return
    lib = _library()
    if lib is None:
        try:
            proc = subprocess.run([NFT, "-f", "-"], input=text, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            raise Unsupported("nftables: the nft command is not installed (Debian package nftables)") from exc
        if proc.returncode != 0:
            reason = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "nft failed"
            raise KernelError("apply nftables transaction", what, None, reason)
        return
    _run_buffer(lib, text.encode(), 0, what)


def _run_buffer(lib: ctypes.CDLL, payload: bytes, flags: int, what: str) -> None:
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        raise KernelError("apply nftables transaction", what, None, "libnftables: no context")
    try:
        lib.nft_ctx_output_set_flags(ctx, flags)
        lib.nft_ctx_buffer_output(ctx)  # nothing of it reaches the daemon's stdout or stderr
        lib.nft_ctx_buffer_error(ctx)
        if lib.nft_run_cmd_from_buffer(ctx, payload) != 0:
            text = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace").strip()
            reason = next(
                (line for line in text.splitlines() if "Error" in line),
                text.splitlines()[0] if text else "libnftables failed",
            )
            raise KernelError("apply nftables transaction", what, None, reason)
    finally:
        lib.nft_ctx_free(ctx)


def list_table(family: str, name: str) -> dict[str, Any] | None:
    """``nft -j list table FAMILY NAME`` parsed, or None when the table does not exist."""
    proc = subprocess.run([NFT, "-j", "list", "table", family, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def list_chains() -> list[dict[str, Any]]:
    """Every chain of the namespace (``nft -j list chains``: names and hooks, no rules).
    Nothing of any set is read, so its cost does not grow with Seaway's elements, one
    per published port (``list tables`` and ``list table``, even terse, read them all:
    185 ms with 10,000 published ports against 9 ms)."""
    proc = subprocess.run([NFT, "-j", "list", "chains"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise KernelError("list chains", "nftables", None, proc.stderr.strip() or "nft failed")
    return [o["chain"] for o in json.loads(proc.stdout).get("nftables", []) if "chain" in o]


def list_sets(family: str, kind: str) -> list[dict[str, Any]]:
    """The sets (``kind`` set) or maps (``map``) of ``family``'s tables, without elements."""
    proc = subprocess.run([NFT, "-j", "-t", "list", f"{kind}s", family], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise KernelError(f"list {kind}s", family, None, proc.stderr.strip() or "nft failed")
    return [o[kind] for o in json.loads(proc.stdout).get("nftables", []) if kind in o]


def list_tables_content(tables: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The objects of each ``(family, name)`` table, listed one by one, read only
    (host-firewall mode copies input chains); a table gone meanwhile is skipped."""
    objects: list[dict[str, Any]] = []
    for family, name in tables:
        listing = list_table(family, name)
        if listing is not None:
            objects += [o for o in listing.get("nftables", []) if "metainfo" not in o]
    return objects


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
