"""The resolver's fast path builds packets dnslib (and so any resolver) reads correctly."""

from __future__ import annotations

import ipaddress

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
