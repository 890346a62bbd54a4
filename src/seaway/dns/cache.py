"""Pure: forwarded answers kept for their TTL (Docker 20.10 keeps none).

A reply is kept under ``(upstreams, wire.cache_key(query))`` for the lowest TTL of its
records (negative answers: their SOA's, RFC 2308), at most ``max_ttl`` seconds; a hit is
the kept bytes with the client's ID and question and every TTL less the reply's age.
Truncated replies, SERVFAIL/REFUSED and anything ``wire.ttl_fields`` cannot read are
never kept. At most ``size`` replies: the oldest goes first. The clock is the caller's
(seconds, monotonic), so nothing here reads time.
"""

from __future__ import annotations

from dataclasses import dataclass

from seaway.dns import wire

DEFAULT_SIZE = 10_000
DEFAULT_MAX_TTL = 3600


@dataclass(frozen=True, slots=True)
class _Kept:
    reply: bytes
    offsets: tuple[int, ...]
    stored: float
    expires: float


class AnswerCache:
    def __init__(self, size: int = DEFAULT_SIZE, max_ttl: int = DEFAULT_MAX_TTL) -> None:
        self.size = size
        self.max_ttl = max_ttl
        self._kept: dict[tuple[tuple[str, ...], bytes], _Kept] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: tuple[tuple[str, ...], bytes], data: bytes, question: wire.Question, now: float) -> bytes | None:
        """The kept reply for the query ``data``, refreshed; None if none or expired."""
        kept = self._kept.get(key)
        if kept is None:
            return None
        if now >= kept.expires:
            del self._kept[key]
            return None
        return wire.refreshed(kept.reply, kept.offsets, int(now - kept.stored), data, question)

    def put(self, key: tuple[tuple[str, ...], bytes], reply: bytes, now: float) -> None:
        """Keep ``reply`` if it may be kept."""
        fields = wire.ttl_fields(reply)
        if fields is None or fields[0] <= 0:
            return
        ttl, offsets = fields
        self._kept.pop(key, None)  # a refreshed entry goes to the back of the line
        self._kept[key] = _Kept(reply, offsets, now, now + min(ttl, self.max_ttl))
        while len(self._kept) > self.size:
            del self._kept[next(iter(self._kept))]

    def clear(self) -> None:
        self._kept.clear()
