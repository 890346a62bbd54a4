"""The embedded resolver: one asyncio loop serving every container's 127.0.0.11.

For each container on a user-defined network, ``attach`` opens a UDP socket and a TCP
listener *inside the container's namespace* on ``127.0.0.11:<random port>`` (sockets
keep the namespace they were made in), programs the container's ``ip seaway-dns`` table
to send port 53 there, and serves both from the daemon's loop. Records change under the
sockets (``Records`` swaps a network's index in one step); sockets close only when the
container's sandbox goes.

Forwarding goes from the daemon's own namespace (the host's), over the client's
transport, to at most three upstreams in order, each with a timeout; SERVFAIL when none
answers; at most ``MAX_FORWARDS`` at once. Upstreams are the container's ``--dns``, else
the daemon's ``--dns``, else the host's resolv.conf, re-read when it changes. Over UDP
the forward goes through ``Forwarder`` (long-lived sockets, multiplexed by ID), and
forwarded answers are kept for their TTL in an ``AnswerCache`` unless it is turned off.

The UDP listeners are read straight from the loop's selector (``add_reader``), several
datagrams per wake-up, and answered in the callback when the query is a common one: a
known A/AAAA name (built on the wire), or a name to forward (relayed on the wire). Only
the rest becomes a task and dnslib objects.

``attach``/``detach``/``set_view`` are called from worker threads (never from the loop).
The loop is the resolver's own (``ResolverThread``), not the API's: an answer never
waits behind a request handler, only, at worst, for the GIL (see ``SWITCH_INTERVAL``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord

from seaway.dns import wire
from seaway.dns.cache import AnswerCache
from seaway.dns.records import TTL, Outcome, Records
from seaway.firewall import dns as dnsrules
from seaway.kernel import netns, nft, sched
from seaway.resolver.forwarder import DRAIN, Forwarder
from seaway.resolver.priority import Priority
from seaway.resolver.stats import Stats

log = logging.getLogger(__name__)

MAX_FORWARDS = 1024
UDP_LIMIT = 512
#: how long another thread may keep the GIL while the resolver's thread waits for it
#: (CPython's default is 5 ms: a worker thread's Python work would show in DNS's p99)
SWITCH_INTERVAL = 0.0005

T = TypeVar("T")


class ResolverThread:
    """An event loop of the resolver's own, on a thread of its own, made from the
    daemon's main thread (so in the host's namespace, where forwards leave from). The
    thread is named ``seawayd-dns`` for ``ps -L``/``top -H`` and, with ``realtime``,
    scheduled real-time while it is cheap (``seaway.resolver.priority``)."""

    def __init__(self, realtime: bool = False) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.loop = asyncio.new_event_loop()
        self.priority = Priority(self.loop, realtime)
        self._thread = threading.Thread(target=self._run, name="seawayd-dns", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sched.name_thread("seawayd-dns")
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self.priority.start)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the resolver's loop, from any other thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.priority.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


@dataclass
class View:
    """What one container may see: its networks, whether it may forward, its upstreams."""

    networks: list[str]
    may_forward: bool
    upstreams: tuple[str, ...] = ()
    #: an ndots option came from the host or --dns-opt (so Seaway added no ndots:0): a
    #: single-label A/AAAA name that is not ours gets an empty NOERROR, not forwarded
    keep_single_labels: bool = False
    #: legacy links on user-defined networks: alias -> the linked container's name
    links: dict[str, str] = field(default_factory=dict)

    def name_of(self, qname: str) -> str:
        """The name to look up: a link alias stands for the container it links to."""
        return self.links.get(qname.rstrip(".").lower(), qname) if self.links else qname


@dataclass
class _Listener:
    udp: socket.socket | None = None
    tcp: asyncio.AbstractServer | None = None
    view: View = field(default_factory=lambda: View([], False))


class Resolver:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        records: Records,
        host_upstreams: Callable[[], list[str]],
        stats: Stats,
        timeout: float = 4.0,
        cache: AnswerCache | None = None,
    ) -> None:
        self._loop = loop
        self.records = records
        self._host_upstreams = host_upstreams
        self.stats = stats
        self.timeout = timeout
        self.cache = cache  # None: every forwarded query goes upstream, as in Docker
        self._listeners: dict[str, _Listener] = {}
        self._forwards = asyncio.Semaphore(MAX_FORWARDS)  # TCP forwards
        self._replying: set[asyncio.Task[None]] = set()  # queries on the full (dnslib) path
        self.forwarder = Forwarder(loop, stats, timeout, MAX_FORWARDS)

    # ---------------------------------------------------------------- thread side

    def attach(self, sandbox_id: str, key: str, view: View) -> tuple[int, int]:
        """Listen inside the sandbox and redirect its 127.0.0.11:53; return the ports."""
        udp_sock, tcp_sock = netns.run(key, _open_sockets)
        udp_port, tcp_port = udp_sock.getsockname()[1], tcp_sock.getsockname()[1]
        try:
            netns.run(key, nft.apply_in_process, dnsrules.redirect(udp_port, tcp_port), "embedded DNS redirect")
            asyncio.run_coroutine_threadsafe(self._serve(sandbox_id, udp_sock, tcp_sock, view), self._loop).result()
        except BaseException:
            udp_sock.close()
            tcp_sock.close()
            raise
        return udp_port, tcp_port

    def set_view(self, sandbox_id: str, view: View) -> None:
        listener = self._listeners.get(sandbox_id)
        if listener is not None:
            listener.view = view  # one reference swap: queries see the old or the new view

    def detach(self, sandbox_id: str) -> None:
        listener = self._listeners.get(sandbox_id)
        if listener is not None:
            asyncio.run_coroutine_threadsafe(self._close(sandbox_id), self._loop).result()

    def attached(self, sandbox_id: str) -> bool:
        return sandbox_id in self._listeners

    # ---------------------------------------------------------------- loop side

    async def _serve(self, sandbox_id: str, udp_sock: socket.socket, tcp_sock: socket.socket, view: View) -> None:
        listener = _Listener(view=view)
        self._listeners[sandbox_id] = listener
        listener.udp = udp_sock
        self._loop.add_reader(udp_sock.fileno(), self._readable, listener)
        listener.tcp = await asyncio.start_server(lambda r, w: self._tcp_client(listener, r, w), sock=tcp_sock)

    async def _close(self, sandbox_id: str) -> None:
        listener = self._listeners.pop(sandbox_id, None)
        if listener is None:
            return
        if listener.udp is not None:
            self._loop.remove_reader(listener.udp.fileno())
            listener.udp.close()
            listener.udp = None
        if listener.tcp is not None:
            listener.tcp.close()

    async def close_all(self) -> None:
        for sandbox_id in list(self._listeners):
            await self._close(sandbox_id)
        self.forwarder.close()

    async def _tcp_client(
        self, listener: _Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                head = await reader.readexactly(2)
                query = await reader.readexactly(struct.unpack("!H", head)[0])
                reply = await self.answer(query, listener.view, tcp=True)
                if reply is not None:
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _readable(self, listener: _Listener) -> None:
        """The listener's UDP socket has datagrams: read a few, answer what can be on the spot."""
        sock = listener.udp
        for _ in range(DRAIN):
            if sock is None:  # closed by an earlier datagram's work
                return
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("embedded DNS: %s", exc)
                return
            if not self._on_the_wire(listener, sock, data, addr):
                task = self._loop.create_task(self._reply(listener, sock, data, addr))
                self._replying.add(task)  # a reference until done: the loop keeps only weak ones
                task.add_done_callback(self._replying.discard)
            sock = listener.udp

    def _on_the_wire(self, listener: _Listener, sock: socket.socket, data: bytes, addr: tuple[str, int]) -> bool:
        """The common queries over UDP, without message objects: a known A/AAAA name
        (answered here) or a name to forward (relayed). False: take the full path."""
        started = time.perf_counter_ns()
        question = wire.parse_question(data)
        if question is None:
            return False
        view = listener.view
        result = self.records.lookup(view.networks, view.name_of(question.name), question.qtype)
        if result.outcome is Outcome.FORWARD:
            if not view.may_forward or (
                view.keep_single_labels and "." not in question.name and question.qtype in ("A", "AAAA")
            ):
                return False
            self._forward_on_the_wire(sock, data, addr, question, self.upstreams(view), started)
            return True
        if question.qtype not in ("A", "AAAA"):
            return False
        addresses = list(result.addresses)
        random.shuffle(addresses)
        reply = wire.answer(data, question, addresses, TTL)
        if len(reply) > UDP_LIMIT:
            return False
        _send(sock, reply, addr)
        self.stats.answered("NOERROR", (time.perf_counter_ns() - started) // 1000)
        return True

    def _forward_on_the_wire(
        self,
        sock: socket.socket,
        data: bytes,
        addr: tuple[str, int],
        question: wire.Question,
        servers: tuple[str, ...],
        started: int,
    ) -> None:
        cache = self.cache
        key = None
        if cache is not None:
            qkey = wire.cache_key(data, question)
            if qkey is not None:
                key = (servers, qkey)
                kept = cache.get(key, data, question, self._loop.time())
                if kept is not None:
                    _send(sock, kept, addr)
                    latency = (time.perf_counter_ns() - started) // 1000
                    self.stats.answered(_rcode_name(kept), latency, cached=True)
                    return

        def done(reply: bytes | None) -> None:
            if reply is None:
                reply = wire.rcode_reply(data, question, RCODE.SERVFAIL)
            elif key is not None:
                cache.put(key, reply, self._loop.time())  # type: ignore[union-attr]
            _send(sock, reply, addr)
            self.stats.answered(_rcode_name(reply), (time.perf_counter_ns() - started) // 1000)

        self.forwarder.forward(data, question.end, servers, done)

    async def _reply(self, listener: _Listener, sock: socket.socket, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.answer(data, listener.view, tcp=False)
        if reply is not None and listener.udp is sock:
            _send(sock, reply, addr)

    async def answer(self, data: bytes, view: View, tcp: bool) -> bytes | None:
        started = time.perf_counter_ns()
        try:
            request = DNSRecord.parse(data)
        except Exception:  # not DNS: say nothing, as a server would
            return None
        if not request.questions:
            return None
        reply = await self._resolve(request, data, view, tcp)
        if reply is None:
            reply = _rcode(request, RCODE.SERVFAIL)
        self.stats.answered(_rcode_name(reply), (time.perf_counter_ns() - started) // 1000)
        return reply

    async def _resolve(self, request: DNSRecord, raw: bytes, view: View, tcp: bool) -> bytes | None:
        q = request.q
        qname, qtype = str(q.qname), QTYPE.get(q.qtype)
        result = self.records.lookup(view.networks, view.name_of(qname), str(qtype))
        single = "." not in qname.rstrip(".") and str(qtype) in ("A", "AAAA")
        if result.outcome is Outcome.FORWARD and view.keep_single_labels and single:
            return request.reply().pack()  # type: ignore[no-any-return]
        if result.outcome is Outcome.FORWARD:
            if not view.may_forward:  # attached only to internal networks: no way out
                return _rcode(request, RCODE.SERVFAIL)
            return await self._forward(raw, view, tcp)
        reply = request.reply()
        if result.outcome is Outcome.ANSWER:
            if result.ptr:
                reply.add_answer(RR(q.qname, QTYPE.PTR, rdata=PTR(result.ptr), ttl=TTL))
            addresses = list(result.addresses)
            random.shuffle(addresses)
            for address in addresses:
                rdata = A(str(address)) if address.version == 4 else AAAA(str(address))
                reply.add_answer(RR(q.qname, QTYPE.A if address.version == 4 else QTYPE.AAAA, rdata=rdata, ttl=TTL))
        packed = reply.pack()
        limit = _udp_limit(request)
        if not tcp and len(packed) > limit:
            truncated = request.reply()
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed

    def upstreams(self, view: View) -> tuple[str, ...]:
        return tuple(view.upstreams or self._host_upstreams())[:3]

    async def _forward(self, raw: bytes, view: View, tcp: bool) -> bytes | None:
        if not tcp:
            done: asyncio.Future[bytes | None] = self._loop.create_future()
            self.forwarder.forward(
                raw, wire.question_end(raw), self.upstreams(view), lambda r: done.done() or done.set_result(r)
            )
            return await done
        async with self._forwards:
            for server in self.upstreams(view):
                try:
                    reply = await asyncio.wait_for(_ask_tcp(server, raw), self.timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    log.debug("upstream %s: %s", server, exc or type(exc).__name__)
                    self.stats.forward(False)
                    continue
                if len(reply) > 3 and (reply[3] & 0x0F) in (RCODE.SERVFAIL, RCODE.REFUSED):
                    self.stats.forward(False)
                    continue
                self.stats.forward(True)
                return reply
        return None


async def _ask_tcp(server: str, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server, 53)
    try:
        writer.write(struct.pack("!H", len(raw)) + raw)
        await writer.drain()
        size = struct.unpack("!H", await reader.readexactly(2))[0]
        return await reader.readexactly(size)
    finally:
        writer.close()


def _open_sockets() -> tuple[socket.socket, socket.socket]:
    """Run inside the container's namespace: UDP and TCP on 127.0.0.11:<random>."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind((dnsrules.ADDRESS, 0))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((dnsrules.ADDRESS, 0))
        tcp.listen(128)
        udp.setblocking(False)
        tcp.setblocking(False)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


def _send(sock: socket.socket, reply: bytes, addr: tuple[str, int]) -> None:
    try:
        sock.sendto(reply, addr)
    except OSError as exc:  # a full buffer or a vanished client: UDP may drop, the client asks again
        log.debug("embedded DNS reply to %s: %s", addr, exc)


_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def _rcode_name(reply: bytes) -> str:
    if len(reply) < 4:
        return "SERVFAIL"
    return _RCODES.get(reply[3] & 0x0F) or str(RCODE.get(reply[3] & 0x0F))


def _rcode(request: DNSRecord, rcode: int) -> bytes:
    reply = request.reply()
    reply.header.rcode = rcode
    return reply.pack()  # type: ignore[no-any-return]


def _udp_limit(request: DNSRecord) -> int:
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(UDP_LIMIT, int(rr.rclass))
    return UDP_LIMIT
