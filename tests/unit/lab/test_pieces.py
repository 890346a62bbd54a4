"""Small pure pieces of labs: rates, the world's DNS answers, the DOT picture."""

from __future__ import annotations

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from seaway.errors import InvalidParameter
from seaway.lab.demo import DEMO_FILE
from seaway.lab.faults import parse_rate
from seaway.lab.graph import dot
from seaway.lab.plan import plan
from seaway.lab.topology import load
from seaway.lab.world import answer


@pytest.mark.parametrize(
    ("text", "bits"),
    [("10mbit", 10_000_000), ("512kbit", 512_000), ("1gbit", 10**9), ("2.5mbit", 2_500_000), ("800", 800)],
)
def test_rates(text: str, bits: int) -> None:
    assert parse_rate(text) == bits


@pytest.mark.parametrize("text", ["fast", "0mbit", "-1kbit", ""])
def test_bad_rates_say_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidParameter, match="invalid rate"):
        parse_rate(text)


def test_world_dns_answers_its_records_and_nxdomain_otherwise() -> None:
    records = {"www.example.com": "203.0.113.80"}
    reply = DNSRecord.parse(answer(DNSRecord.question("WWW.example.com.").pack(), records))
    assert [(str(rr.rdata), rr.rtype) for rr in reply.rr] == [("203.0.113.80", QTYPE.A)]
    missing = DNSRecord.parse(answer(DNSRecord.question("nope.example.com").pack(), records))
    assert missing.header.rcode == RCODE.NXDOMAIN and not missing.rr


def test_picture_has_every_object_of_the_demo() -> None:
    text = dot(plan(load(DEMO_FILE.read_text())))
    for needle in (
        '"seg:lan"',
        '"node:r1"',
        '"node:world"',
        '"cluster_h1"',
        '"ctr:h1:web"',
        '"net:h1:data"',
        "8080->80/tcp",
        "internal",
    ):
        assert needle in text
    assert text.count(" -- ") == 5 + 3 + 4  # uplinks, host-network links, container-network links
