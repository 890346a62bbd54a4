"""The forwarded-answer cache: kept for the TTL, aged, bounded; the clock is the test's."""

from __future__ import annotations

import dnslib
from dnslib import QTYPE, DNSRecord

from seaway.dns import wire
from seaway.dns.cache import AnswerCache

SERVERS = ("198.51.100.1",)


def _reply(name: str, ttl: int) -> bytes:
    reply = DNSRecord.question(name, "A").reply()
    reply.add_answer(dnslib.RR(name, QTYPE.A, rdata=dnslib.A("198.51.100.7"), ttl=ttl))
    return reply.pack()  # type: ignore[no-any-return]


def _ask(cache: AnswerCache, name: str, now: float) -> DNSRecord | None:
    data = DNSRecord.question(name, "A").pack()
    question = wire.parse_question(data)
    assert question is not None
    key = wire.cache_key(data, question)
    assert key is not None
    kept = cache.get((SERVERS, key), data, question, now)
    return None if kept is None else DNSRecord.parse(kept)


def _put(cache: AnswerCache, name: str, ttl: int, now: float) -> None:
    data = DNSRecord.question(name, "A").pack()
    key = wire.cache_key(data, wire.parse_question(data))  # type: ignore[arg-type]
    cache.put((SERVERS, key), _reply(name, ttl), now)  # type: ignore[arg-type]


def test_a_reply_is_kept_for_its_ttl_and_served_aged() -> None:
    cache = AnswerCache()
    _put(cache, "www.example.test", 60, now=100.0)

    hit = _ask(cache, "WWW.example.test", now=130.5)

    assert hit is not None and hit.rr[0].ttl == 30 and str(hit.rr[0].rdata) == "198.51.100.7"
    assert _ask(cache, "www.example.test", now=160.0) is None  # expired
    assert len(cache) == 0


def test_zero_ttls_are_not_kept_and_long_ones_are_capped() -> None:
    cache = AnswerCache(max_ttl=10)
    _put(cache, "zero.example.test", 0, now=0.0)
    _put(cache, "long.example.test", 86400, now=0.0)

    assert _ask(cache, "zero.example.test", now=0.0) is None
    assert _ask(cache, "long.example.test", now=9.0) is not None
    assert _ask(cache, "long.example.test", now=10.0) is None


def test_the_oldest_reply_goes_first_when_full() -> None:
    cache = AnswerCache(size=2)
    _put(cache, "a.example.test", 60, now=0.0)
    _put(cache, "b.example.test", 60, now=0.0)
    _put(cache, "a.example.test", 60, now=1.0)  # refreshed: now the youngest
    _put(cache, "c.example.test", 60, now=2.0)

    assert _ask(cache, "b.example.test", now=3.0) is None
    assert _ask(cache, "a.example.test", now=3.0) is not None
    assert _ask(cache, "c.example.test", now=3.0) is not None


def test_other_upstreams_have_their_own_answers() -> None:
    cache = AnswerCache()
    _put(cache, "a.example.test", 60, now=0.0)
    data = DNSRecord.question("a.example.test", "A").pack()
    question = wire.parse_question(data)
    key = wire.cache_key(data, question)  # type: ignore[arg-type]

    assert cache.get((("203.0.113.53",), key), data, question, 1.0) is None  # type: ignore[arg-type]
