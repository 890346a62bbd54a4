"""Pure: the resolver's fast path on the wire, for the common queries only.

A standard query (one question, opcode QUERY, no answers, at most an EDNS OPT record)
for a name the resolver knows is answered here without building message objects:
read the question, copy it, append A/AAAA records that point back at it (``0xC00C``).
A standard query for a name that is not ours is relayed as it came, with another ID
(``with_id``); the upstream's reply is matched by ID and question (``same_question``),
given the client's ID back, and may be kept for its TTL (``ttl_fields``, ``refreshed``).
Everything else (PTR, truncation, odd packets) goes to the full path, which uses
dnslib. Unit tests check every packet built or read here against dnslib.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from seaway.model.network import IPAddress

QTYPES = {1: "A", 28: "AAAA", 12: "PTR", 15: "MX"}
QR, AA, TC, RD, RA, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0010
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHHIH")
_RR_TAIL = struct.Struct("!HHIH")  # type, class, TTL, RDLENGTH (after the name)
_ID = struct.Struct("!H")
_TTL = struct.Struct("!I")


@dataclass(frozen=True, slots=True)
class Question:
    qid: int
    flags: int
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
    return Question(qid, flags, bool(flags & RD), name, QTYPES.get(qtype, ""), pos + 4)


def answer(data: bytes, question: Question, addresses: list[IPAddress], ttl: int) -> bytes:
    """A NOERROR reply carrying ``addresses`` (none: an empty NOERROR)."""
    flags = QR | AA | RA | (RD if question.rd else 0)
    parts = [_HEADER.pack(question.qid, flags, 1, len(addresses), 0, 0), data[12 : question.end]]
    for address in addresses:
        packed = address.packed
        parts.append(_RR.pack(0xC00C, 1 if address.version == 4 else 28, 1, ttl, len(packed)))
        parts.append(packed)
    return b"".join(parts)


def rcode_reply(data: bytes, question: Question, rcode: int) -> bytes:
    """A reply with ``rcode`` and the question alone, flags as dnslib's ``reply()`` sets them."""
    flags = (question.flags & ~0x000F) | QR | AA | RA | (rcode & 0x0F)
    return _HEADER.pack(question.qid, flags, 1, 0, 0, 0) + data[12 : question.end]


def with_id(data: bytes, qid: int) -> bytes:
    """The same message with another ID."""
    return _ID.pack(qid) + data[2:]


def question_end(data: bytes) -> int:
    """The offset just past the question section (12 when there is none or it is cut)."""
    if len(data) < 12:
        return 12
    pos = 12
    try:
        for _ in range(_HEADER.unpack_from(data)[2]):
            pos = _skip_name(data, pos) + 4
    except ValueError:
        return 12
    return pos if pos <= len(data) else 12


def same_question(reply: bytes, query: bytes, end: int) -> bool:
    """Whether ``reply`` is a response carrying the question of ``query`` (which ends at
    ``end``): a datagram with the right ID but another question is not the answer."""
    if len(reply) < end or not reply[2] & 0x80:
        return False
    theirs, ours = reply[12:end], query[12:end]
    return theirs == ours or theirs.lower() == ours.lower()


def cache_key(data: bytes, question: Question) -> bytes | None:
    """What a cached reply to ``data`` depends on: the RD and CD bits, the name in any
    case, the type and class, and an option-less EDNS record. None: do not cache (EDNS
    options such as cookies are per client)."""
    rest = data[question.end :]
    if rest and (len(rest) != 11 or rest[0] != 0 or rest[1:3] != b"\x00\x29" or rest[9:11] != b"\x00\x00"):
        return None
    flags = _ID.pack(question.flags & (RD | CD))
    return flags + data[12 : question.end - 4].lower() + data[question.end - 4 :] + rest


def ttl_fields(reply: bytes) -> tuple[int, tuple[int, ...]] | None:
    """How long ``reply`` may be kept, and the offsets of its records' TTL fields (not
    EDNS's); None when it must not be kept: truncated, not NOERROR/NXDOMAIN, malformed,
    or negative without an SOA to say for how long (RFC 2308)."""
    if len(reply) < 12:
        return None
    _, flags, qd, an, ns, ar = _HEADER.unpack_from(reply)
    if not flags & QR or flags & TC or (flags & 0x0F) not in (0, 3) or qd != 1:
        return None
    try:
        pos = _skip_name(reply, 12) + 4
        lowest, negative, offsets = None, (flags & 0x0F) == 3 or an == 0, []
        for section, count in ((0, an), (1, ns), (2, ar)):
            for _ in range(count):
                pos = _skip_name(reply, pos)
                rtype, _, ttl, size = _RR_TAIL.unpack_from(reply, pos)
                end = pos + 10 + size
                if end > len(reply):
                    return None
                if rtype != 41:  # OPT's TTL field is flags, not a time
                    offsets.append(pos + 4)
                    if negative and section == 1 and rtype == 6 and size >= 20:  # SOA: min(ttl, MINIMUM)
                        ttl = min(ttl, _TTL.unpack_from(reply, end - 4)[0])
                    if not negative or (section == 1 and rtype == 6):
                        lowest = ttl if lowest is None else min(lowest, ttl)
                pos = end
    except (ValueError, struct.error):
        return None
    if pos != len(reply) or lowest is None:
        return None
    return lowest, tuple(offsets)


def refreshed(kept: bytes, offsets: tuple[int, ...], age: int, data: bytes, question: Question) -> bytes:
    """A kept reply for ``data``: its ID and question (the client's spelling), each TTL
    less ``age`` seconds."""
    out = bytearray(kept)
    out[0:2] = data[0:2]
    out[12 : question.end] = data[12 : question.end]
    for offset in offsets:
        _TTL.pack_into(out, offset, max(0, _TTL.unpack_from(kept, offset)[0] - age))
    return bytes(out)


def _skip_name(data: bytes, pos: int) -> int:
    """The offset just past the (possibly compressed) name at ``pos``."""
    while True:
        if pos >= len(data):
            raise ValueError("name runs past the message")
        size = data[pos]
        if size & 0xC0 == 0xC0:
            return pos + 2
        if size & 0xC0:
            raise ValueError("unknown label type")
        pos += 1 + size
        if size == 0:
            return pos
