"""The UDP forwarder against fake upstreams on the fake host's loopback (its own
namespace): replies matched by ID and question, servers tried in turn, time-outs,
sockets rotated, many queries multiplexed on a few sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from seaway.kernel import netns
from seaway.lab.fakehost import FakeHost
from seaway.resolver.forwarder import POOL, Forwarder
from seaway.resolver.stats import Stats

pytestmark = pytest.mark.netns

GOOD, OTHER = "127.0.0.1", "127.0.0.2"
COUNT = 100  # queries at once: well within the fake upstream's receive buffer


class FakeUpstream:
    """A UDP server on ``address``:53 answering by ``behaviour``; it records the source
    ports it saw."""

    def __init__(self, loop: asyncio.AbstractEventLoop, address: str, behaviour: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 53))
        self.sock.setblocking(False)
        self.behaviour = behaviour
        self.ports: list[int] = []
        self.held: list[tuple[bytes, tuple[str, int]]] = []
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except BlockingIOError:
                return
            self.ports.append(peer[1])
            request = DNSRecord.parse(data)
            reply = request.reply()
            if self.behaviour == "servfail":
                reply.header.rcode = RCODE.SERVFAIL
            elif self.behaviour == "silent":
                continue
            else:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("198.51.100.7"), ttl=60))
            if self.behaviour == "spoofed-first":  # same ID, another question, first
                fake = DNSRecord.question("evil.example", "A").reply()
                fake.header.id = request.header.id
                fake.add_answer(RR("evil.example", QTYPE.A, rdata=A("203.0.113.66"), ttl=60))
                self.sock.sendto(fake.pack(), peer)
            if self.behaviour == "hold":  # answered later, all at once, last first
                self.held.append((reply.pack(), peer))
                continue
            self.sock.sendto(reply.pack(), peer)

    def release(self) -> None:
        for reply, peer in reversed(self.held):
            self.sock.sendto(reply, peer)
        self.held.clear()

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


def in_host(host: FakeHost, body: Callable[[asyncio.AbstractEventLoop], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await body(asyncio.get_running_loop())

    return netns.run(host.host_ns, lambda: asyncio.run(main()))


async def ask(forwarder: Forwarder, name: str, servers: tuple[str, ...]) -> DNSRecord | None:
    done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
    data = DNSRecord.question(name, "A").pack()
    forwarder.forward(data, len(data), servers, done.set_result)
    reply = await asyncio.wait_for(done, 10)
    if reply is None:
        return None
    parsed = DNSRecord.parse(reply)
    assert parsed.header.id == DNSRecord.parse(data).header.id  # the client's ID back
    return parsed


async def wait_held(upstream: FakeUpstream, count: int) -> None:
    for _ in range(500):
        if len(upstream.held) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the upstream holds {len(upstream.held)} queries, not {count}")


def test_a_reply_with_another_question_is_not_taken_for_the_answer(fake_host: FakeHost) -> None:
    async def body(loop: asyncio.AbstractEventLoop) -> list[str]:
        upstream = FakeUpstream(loop, GOOD, "spoofed-first")
        forwarder = Forwarder(loop, Stats(), timeout=5, limit=16)
        try:
            reply = await ask(forwarder, "www.example.test", (GOOD,))
            assert reply is not None
            return [str(rr.rdata) for rr in reply.rr]
        finally:
            forwarder.close()
            upstream.close()

    assert in_host(fake_host, body) == ["198.51.100.7"]


def test_servfail_moves_to_the_next_server_and_silence_times_out(fake_host: FakeHost) -> None:
    async def body(loop: asyncio.AbstractEventLoop) -> tuple[Any, ...]:
        failing = FakeUpstream(loop, GOOD, "servfail")
        good = FakeUpstream(loop, OTHER, "answer")
        stats = Stats()
        forwarder = Forwarder(loop, stats, timeout=0.3, limit=16)
        try:
            second = await ask(forwarder, "www.example.test", (GOOD, OTHER))
            failing.behaviour = "silent"
            none = await ask(forwarder, "www.example.test", (GOOD,))
            return second is not None and second.header.rcode, none, stats.forward_failures, forwarder.in_flight
        finally:
            forwarder.close()
            failing.close()
            good.close()

    assert in_host(fake_host, body) == (RCODE.NOERROR, None, 2, 0)


def test_many_queries_share_a_few_sockets_and_each_gets_its_own_answer(fake_host: FakeHost) -> None:
    async def body(loop: asyncio.AbstractEventLoop) -> tuple[Any, ...]:
        upstream = FakeUpstream(loop, GOOD, "hold")
        forwarder = Forwarder(loop, Stats(), timeout=5, limit=1024)
        try:
            asks = [asyncio.ensure_future(ask(forwarder, f"n{i}.example.test", (GOOD,))) for i in range(COUNT)]
            await wait_held(upstream, COUNT)
            upstream.release()  # last first
            replies = await asyncio.gather(*asks)
            names = [str(r.q.qname) if r else None for r in replies]
            return names == [f"n{i}.example.test." for i in range(COUNT)], len(set(upstream.ports))
        finally:
            forwarder.close()
            upstream.close()

    assert in_host(fake_host, body) == (True, POOL)


def test_sockets_are_replaced_after_a_number_of_queries(fake_host: FakeHost) -> None:
    async def body(loop: asyncio.AbstractEventLoop) -> tuple[int, int]:
        upstream = FakeUpstream(loop, GOOD, "answer")
        forwarder = Forwarder(loop, Stats(), timeout=5, limit=16, rotate_after=5)
        try:
            for i in range(100):
                assert await ask(forwarder, f"n{i}.example.test", (GOOD,)) is not None
            return len(set(upstream.ports)), len(forwarder._sockets)
        finally:
            forwarder.close()
            upstream.close()

    ports, open_now = in_host(fake_host, body)
    assert ports >= 100 // 5  # a fresh source port every 5 queries
    assert open_now <= POOL  # the retired ones are closed


def test_past_the_limit_a_query_fails_at_once(fake_host: FakeHost) -> None:
    async def body(loop: asyncio.AbstractEventLoop) -> tuple[Any, ...]:
        upstream = FakeUpstream(loop, GOOD, "hold")
        forwarder = Forwarder(loop, Stats(), timeout=5, limit=2)
        try:
            first = [asyncio.ensure_future(ask(forwarder, f"n{i}.example.test", (GOOD,))) for i in range(2)]
            await wait_held(upstream, 2)
            third = await ask(forwarder, "n2.example.test", (GOOD,))
            upstream.release()
            return third, [r is not None for r in await asyncio.gather(*first)]
        finally:
            forwarder.close()
            upstream.close()

    assert in_host(fake_host, body) == (None, [True, True])
