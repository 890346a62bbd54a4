"""Set elements straight to the kernel: one nfnetlink batch, no ``nft`` process.

``seaway.firewall.elements`` builds the elements; this module frames them as an
nftables batch (``NFNL_MSG_BATCH_BEGIN`` … ``NFNL_MSG_BATCH_END``), which the kernel
applies atomically, all or nothing, exactly as it applies ``nft -f``. Used for the
published-port maps, where the cost of an ``nft`` run (a process, and a read of a cache
that grows with every element) would make each port cost more than the last.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from dataclasses import replace

from seaway.errors import KernelError
from seaway.firewall.elements import ElementBatch

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NFT_MSG_NEWSETELEM = 12
NFT_MSG_DELSETELEM = 14
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_CREATE = 0x400
NLMSG_ERROR = 0x2
NLA_F_NESTED = 0x8000
# attributes
LIST_TABLE, LIST_SET, LIST_ELEMENTS = 1, 2, 3
LIST_ELEM = 1
ELEM_KEY, ELEM_DATA, ELEM_FLAGS, ELEM_KEY_END = 1, 2, 3, 10
DATA_VALUE = 1
CHUNK = 512  # elements per message: a netlink attribute holds at most 64 KiB
SO_SNDBUFFORCE = 32


def _attr(kind: int, payload: bytes) -> bytes:
    head = struct.pack("=HH", 4 + len(payload), kind)
    return head + payload + b"\0" * (-len(payload) % 4)


def _nested(kind: int, *children: bytes) -> bytes:
    return _attr(kind | NLA_F_NESTED, b"".join(children))


def _string(text: str) -> bytes:
    return text.encode() + b"\0"


def _message(msg_type: int, flags: int, seq: int, family: int, res_id: int, body: bytes) -> bytes:
    nfgen = struct.pack("=BBH", family, 0, socket.htons(res_id))
    return struct.pack("=IHHII", 16 + len(nfgen) + len(body), msg_type, flags, seq, 0) + nfgen + body


def _elements_body(batch: ElementBatch) -> bytes:
    items = [
        _nested(
            LIST_ELEM,
            _nested(ELEM_KEY, _attr(DATA_VALUE, e.key)),
            *([_nested(ELEM_KEY_END, _attr(DATA_VALUE, e.key_end))] if e.key_end else []),
            *([_attr(ELEM_FLAGS, struct.pack("!I", e.flags))] if e.flags else []),
            *([_nested(ELEM_DATA, _attr(DATA_VALUE, e.data))] if batch.op == "add" and e.data else []),
        )
        for e in batch.elements
    ]
    return (
        _attr(LIST_TABLE, _string(batch.table)) + _attr(LIST_SET, _string(batch.name)) + _nested(LIST_ELEMENTS, *items)
    )


class ElementSocket:
    """One netlink socket of the namespace it was made in (the host's); thread-safe."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self._sock.bind((0, 0))
        self._sock.settimeout(5)
        self._lock = threading.Lock()
        self._seq = int.from_bytes(os.urandom(3), "big")
        self._sndbuf = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)

    def apply(self, batches: list[ElementBatch], what: str) -> None:
        """Apply every batch in one atomic kernel transaction; raise ``KernelError``."""
        if not batches:
            return
        chunks = [
            replace(batch, elements=batch.elements[i : i + CHUNK])
            for batch in batches
            for i in range(0, len(batch.elements), CHUNK)
        ]
        with self._lock:
            first = self._seq
            self._seq += len(chunks) + 2
            parts = [_message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, first, 0, NFNL_SUBSYS_NFTABLES, b"")]
            for i, chunk in enumerate(chunks, start=1):
                kind = NFT_MSG_NEWSETELEM if chunk.op == "add" else NFT_MSG_DELSETELEM
                flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE if chunk.op == "add" else 0)
                msg_type = (NFNL_SUBSYS_NFTABLES << 8) | kind
                parts.append(_message(msg_type, flags, first + i, chunk.family, 0, _elements_body(chunk)))
            last = first + len(chunks)
            parts.append(_message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, last + 1, 0, NFNL_SUBSYS_NFTABLES, b""))
            payload = b"".join(parts)
            try:
                if len(payload) > self._sndbuf // 2:  # the kernel takes a batch in one send
                    self._sndbuf = 4 * len(payload)
                    self._sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, self._sndbuf)
                self._sock.send(payload)
                self._await_acks(first + 1, last, what)
            except OSError as exc:
                raise KernelError("apply nftables elements", what, exc.errno, exc.strerror or str(exc)) from None

    def _await_acks(self, first: int, last: int, what: str) -> None:
        pending = set(range(first, last + 1))
        while pending:
            data = self._sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, msg_type, _flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
                if msg_type == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, offset + 16)
                    if code != 0:
                        raise KernelError("apply nftables elements", what, -code, os.strerror(-code))
                    pending.discard(seq)
                offset += (length + 3) & ~3

    def close(self) -> None:
        self._sock.close()


def is_missing(exc: KernelError) -> bool:
    return exc.errno == errno.ENOENT


# ---------------------------------------------------------------- the rules of one table

NFT_MSG_NEWRULE, NFT_MSG_GETRULE = 6, 7
NLM_F_DUMP = 0x300
NLMSG_DONE = 0x3
RULE_TABLE, RULE_CHAIN = 1, 2
FAMILIES = {"inet": 1, "ip": 2, "bridge": 7, "ip6": 10}


def rule_chains(family: str, table: str) -> list[str]:
    """The chain of every rule of ``table`` (none when it does not exist), from one
    kernel-filtered rule dump in the calling thread's namespace: nothing of any set is
    read (``nft list table``, even terse, reads every element, one per published port)."""
    body = _attr(RULE_TABLE, _string(table))
    request = _message(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, 1, FAMILIES[family], 0, body
    )
    chains: list[str] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER) as sock:
        sock.settimeout(5)
        try:
            sock.bind((0, 0))
            sock.send(request)
            while True:
                data = sock.recv(1 << 16)
                offset = 0
                while offset + 16 <= len(data):
                    length, msg_type, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, offset)
                    if length < 16:
                        raise OSError(0, "malformed netlink answer")
                    if msg_type == NLMSG_DONE:
                        return chains
                    if msg_type == NLMSG_ERROR:
                        (code,) = struct.unpack_from("=i", data, offset + 16)
                        if code == -errno.ENOENT:
                            return []
                        raise OSError(-code, os.strerror(-code))
                    if msg_type == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE:
                        chains.append(_string_attr(data, offset + 20, offset + length, RULE_CHAIN))
                    offset += (length + 3) & ~3
        except OSError as exc:
            raise KernelError("list rules of", f"{family} {table}", exc.errno, exc.strerror or str(exc)) from None


def _string_attr(data: bytes, start: int, end: int, kind: int) -> str:
    while start + 4 <= end:
        size, attr = struct.unpack_from("=HH", data, start)
        if size < 4:
            break
        if attr & 0x3FFF == kind:
            return data[start + 4 : start + size].split(b"\0", 1)[0].decode(errors="replace")
        start += (size + 3) & ~3
    return ""
