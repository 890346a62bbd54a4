"""The resolver's fast path builds packets dnslib (and so any resolver) reads correctly."""

from __future__ import annotations

import ipaddress

import dnslib
from dnslib import EDNS0, QTYPE, RCODE, DNSRecord
from hypothesis import given
from hypothesis import strategies as st

from seaway.dns import wire

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@given(st.lists(label, min_size=1, max_size=4), st.sampled_from(["A", "AAAA"]), st.integers(0, 5), st.booleans())
def test_answers_parse_back_with_the_question_and_addresses(labels, qtype, count, edns) -> None:  # type: ignore[no-untyped-def]
    name = ".".join(labels)
    query = DNSRecord.question(name, qtype)
    if edns:
        query.add_ar(EDNS0(udp_len=1232))
    data = query.pack()
    question = wire.parse_question(data)
    assert question is not None and question.name == name and question.qtype == qtype
    family = 4 if qtype == "A" else 6
    addresses = [ipaddress.ip_address(f"10.0.0.{i + 1}" if family == 4 else f"2001:db8::{i + 1}") for i in range(count)]

    reply = DNSRecord.parse(wire.answer(data, question, addresses, 600))

    assert reply.header.id == query.header.id and reply.header.qr == 1 and reply.header.rcode == RCODE.NOERROR
    assert str(reply.q.qname).rstrip(".") == name and reply.q.qtype == getattr(QTYPE, qtype)
    assert [str(rr.rdata) for rr in reply.rr] == [str(a) for a in addresses]
    assert all(rr.ttl == 600 and str(rr.rname).rstrip(".") == name for rr in reply.rr)


def test_uppercase_names_are_lowered_and_odd_packets_refused() -> None:
    data = DNSRecord.question("WeB.Front", "A").pack()
    assert wire.parse_question(data).name == "web.front"  # type: ignore[union-attr]
    response = DNSRecord.question("web", "A").reply().pack()
    assert wire.parse_question(response) is None  # a response, not a query
    assert wire.parse_question(b"\x00" * 11) is None
    assert wire.parse_question(data[:-3]) is None  # cut in the question


# ---------------------------------------------------------------- forwarding on the wire

names = st.lists(label, min_size=1, max_size=4).map(".".join)
qtypes = st.sampled_from(["A", "AAAA", "MX", "TXT", "SRV", "PTR", "HTTPS", "CNAME"])
ttls = st.integers(0, 2**31 - 1)


def _query(name: str, qtype: str, rd: bool = True, edns: bool = False) -> bytes:
    query = DNSRecord.question(name, qtype)
    query.header.rd = int(rd)
    if edns:
        query.add_ar(EDNS0(udp_len=1232))
    return query.pack()  # type: ignore[no-any-return]


@given(names, qtypes, st.booleans(), st.booleans(), st.integers(0, 0xFFFF))
def test_a_relayed_query_differs_in_its_id_only(name, qtype, rd, edns, qid) -> None:  # type: ignore[no-untyped-def]
    data = _query(name, qtype, rd, edns)
    question = wire.parse_question(data)
    assert question is not None and question.end == wire.question_end(data)

    relayed = DNSRecord.parse(wire.with_id(data, qid))
    original = DNSRecord.parse(data)

    assert relayed.header.id == qid
    relayed.header.id = original.header.id
    assert relayed.pack() == data


@given(names, qtypes, st.booleans(), st.sampled_from([RCODE.SERVFAIL, RCODE.REFUSED, RCODE.NXDOMAIN]))
def test_rcode_replies_are_what_dnslib_replies(name, qtype, rd, rcode) -> None:  # type: ignore[no-untyped-def]
    data = _query(name, qtype, rd)
    question = wire.parse_question(data)
    assert question is not None
    expected = DNSRecord.parse(data).reply()
    expected.header.rcode = rcode

    assert wire.rcode_reply(data, question, rcode) == expected.pack()


@given(names, qtypes, st.booleans())
def test_a_reply_is_matched_by_its_question_in_any_case(name, qtype, upper) -> None:  # type: ignore[no-untyped-def]
    data = _query(name, qtype)
    question = wire.parse_question(data)
    assert question is not None
    echoed = DNSRecord.question(name.upper() if upper else name, qtype).reply().pack()
    other = DNSRecord.question(name + ".evil", qtype).reply().pack()

    assert wire.same_question(echoed, data, question.end)
    assert not wire.same_question(other, data, question.end)
    assert not wire.same_question(data, data, question.end)  # a query is not a reply


@st.composite
def replies(draw):  # type: ignore[no-untyped-def]
    """A dnslib reply to a random question: answers of several types, maybe an SOA in
    the authority section, maybe EDNS; and the TTLs put in."""
    name, qtype = draw(names), draw(qtypes)
    query = DNSRecord(
        dnslib.DNSHeader(id=draw(st.integers(0, 0xFFFF)), rd=1), q=dnslib.DNSQuestion(name, getattr(QTYPE, qtype))
    )
    reply = query.reply()
    reply.header.rcode = draw(st.sampled_from([RCODE.NOERROR, RCODE.NXDOMAIN]))
    if reply.header.rcode == RCODE.NOERROR:
        for i in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["A", "AAAA", "CNAME", "TXT"]))
            rdata = _rdata(kind, i, name, draw(st.integers(0, 40)))
            reply.add_answer(dnslib.RR(name, getattr(QTYPE, kind), rdata=rdata, ttl=draw(ttls)))
    if draw(st.booleans()):
        soa = dnslib.SOA("ns." + name, "admin." + name, (1, 2, 3, 4, draw(ttls)))
        reply.add_auth(dnslib.RR(name, QTYPE.SOA, rdata=soa, ttl=draw(ttls)))
    if draw(st.booleans()):
        reply.add_ar(EDNS0(udp_len=1232))
    return query, reply


def _rdata(kind: str, i: int, name: str, size: int) -> dnslib.RD:
    if kind == "A":
        return dnslib.A(f"198.51.100.{i + 1}")
    if kind == "AAAA":
        return dnslib.AAAA(f"2001:db8::{i + 1}")
    if kind == "CNAME":
        return dnslib.CNAME(f"c{i}.{name}")
    return dnslib.TXT("x" * size)


def _expected_keep(reply: DNSRecord) -> int | None:
    """RFC 2308 and RFC 1035 as a reading of dnslib's objects: the lowest TTL of the
    answers and authority, or the SOA's for a negative answer."""
    records = [rr for rr in [*reply.rr, *reply.auth, *reply.ar] if rr.rtype != QTYPE.OPT]
    if reply.header.rcode == RCODE.NXDOMAIN or not reply.rr:
        soas = [min(rr.ttl, rr.rdata.times[-1]) for rr in reply.auth if rr.rtype == QTYPE.SOA]
        return min(soas) if soas else None
    return min(rr.ttl for rr in records)


@given(replies(), st.integers(0, 10_000), st.booleans())
def test_kept_replies_come_back_with_the_clients_id_question_and_aged_ttls(case, age, upper) -> None:  # type: ignore[no-untyped-def]
    query, reply = case
    packed = reply.pack()
    fields = wire.ttl_fields(packed)
    assert (fields[0] if fields else None) == _expected_keep(reply)
    if fields is None:
        return
    name = str(query.q.qname).rstrip(".")
    asking = DNSRecord.question(name.upper() if upper else name, QTYPE.get(query.q.qtype))
    data = asking.pack()
    question = wire.parse_question(data)
    assert question is not None

    served = DNSRecord.parse(wire.refreshed(packed, fields[1], age, data, question))

    assert served.header.id == asking.header.id
    assert str(served.q.qname) == str(asking.q.qname)  # the client's spelling
    assert served.header.rcode == reply.header.rcode
    sent = [rr for rr in [*reply.rr, *reply.auth, *reply.ar]]
    got = [rr for rr in [*served.rr, *served.auth, *served.ar]]
    # names compressed against the question take the client's spelling too (any case is one name)
    assert [str(rr.rdata).lower() for rr in got] == [str(rr.rdata).lower() for rr in sent]
    for before, after in zip(sent, got, strict=True):
        if before.rtype == QTYPE.OPT:
            assert after.ttl == before.ttl  # EDNS flags, untouched
        else:
            assert after.ttl == max(0, before.ttl - age)


def test_truncated_failed_and_odd_replies_are_never_kept() -> None:
    reply = DNSRecord.question("a.example", "A").reply()
    reply.add_answer(dnslib.RR("a.example", QTYPE.A, rdata=dnslib.A("198.51.100.1"), ttl=60))
    assert wire.ttl_fields(reply.pack()) is not None
    reply.header.tc = 1
    assert wire.ttl_fields(reply.pack()) is None
    reply.header.tc = 0
    reply.header.rcode = RCODE.SERVFAIL
    assert wire.ttl_fields(reply.pack()) is None
    reply.header.rcode = RCODE.NOERROR
    assert wire.ttl_fields(reply.pack()[:-2]) is None  # cut
    assert wire.ttl_fields(reply.pack() + b"\x00") is None  # trailing bytes
    assert wire.ttl_fields(DNSRecord.question("a.example").pack()) is None  # a query


@given(names, qtypes, st.booleans())
def test_cache_keys_ignore_the_names_case_and_nothing_else(name, qtype, edns) -> None:  # type: ignore[no-untyped-def]
    def key(n: str, t: str = qtype, rd: bool = True, with_edns: bool = edns) -> bytes | None:
        data = _query(n, t, rd, with_edns)
        return wire.cache_key(data, wire.parse_question(data))  # type: ignore[arg-type]

    assert key(name) is not None
    assert key(name) == key(name.upper())
    assert key(name) != key(name + "x")
    assert key(name) != key(name, "A" if qtype != "A" else "AAAA")
    assert key(name) != key(name, rd=False)
    assert key(name) != key(name, with_edns=not edns)


def test_queries_with_edns_options_are_not_cached() -> None:
    query = DNSRecord.question("a.example", "A")
    query.add_ar(EDNS0(udp_len=1232, opts=[dnslib.EDNSOption(10, b"\x01" * 8)]))  # a cookie
    data = query.pack()
    assert wire.cache_key(data, wire.parse_question(data)) is None  # type: ignore[arg-type]
