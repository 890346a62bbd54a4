"""Pure: the resolver's fast path on the wire, for the common query only.

A standard query (one question, opcode QUERY, no answers, at most an EDNS OPT record)
for a name the resolver knows is answered here without building message objects:
read the question, copy it, append A/AAAA records that point back at it (``0xC00C``).
Everything else (PTR, forwarding, truncation, odd packets) goes to the full path, which
uses dnslib. Unit tests check every packet built here against dnslib's parser.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from seaway.model.network import IPAddress

QTYPES = {1: "A", 28: "AAAA", 12: "PTR", 15: "MX"}
QR, AA, RD, RA = 0x8000, 0x0400, 0x0100, 0x0080
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHHIH")


@dataclass(frozen=True, slots=True)
class Question:
    qid: int
    rd: bool
    name: str  # lower case, no final dot
    qtype: str  # "A", "AAAA", … or "" for types the fast path does not know
    end: int  # offset just past the question


def parse_question(data: bytes) -> Question | None:
    """The single question of a standard query, or None if the packet is anything else."""
    if len(data) < 17:
        return None
    qid, flags, qd, an, ns, ar = _HEADER.unpack_from(data)
    if flags & QR or (flags >> 11) & 0xF or qd != 1 or an or ns or ar > 1:
        return None
    labels = []
    pos = 12
    while True:
        if pos >= len(data):
            return None
        size = data[pos]
        pos += 1
        if size == 0:
            break
        if size > 63 or pos + size > len(data):
            return None
        labels.append(data[pos : pos + size])
        pos += size
    if pos + 4 > len(data):
        return None
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    if qclass != 1:
        return None
    try:
        name = b".".join(labels).decode("ascii").lower()
    except UnicodeDecodeError:
        return None
    return Question(qid, bool(flags & RD), name, QTYPES.get(qtype, ""), pos + 4)


def answer(data: bytes, question: Question, addresses: list[IPAddress], ttl: int) -> bytes:
    """A NOERROR reply carrying ``addresses`` (none: an empty NOERROR)."""
    flags = QR | AA | RA | (RD if question.rd else 0)
    parts = [_HEADER.pack(question.qid, flags, 1, len(addresses), 0, 0), data[12 : question.end]]
    for address in addresses:
        packed = address.packed
        parts.append(_RR.pack(0xC00C, 1 if address.version == 4 else 28, 1, ttl, len(packed)))
        parts.append(packed)
    return b"".join(parts)
