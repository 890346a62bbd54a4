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
the daemon's ``--dns``, else the host's resolv.conf, re-read when it changes.

``attach``/``detach``/``set_view`` are called from worker threads (never from the loop).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord

from seaway.dns import wire
from seaway.dns.records import TTL, Outcome, Records
from seaway.firewall import dns as dnsrules
from seaway.kernel import netns, nft
from seaway.resolver.stats import Stats

log = logging.getLogger(__name__)

MAX_FORWARDS = 1024
UDP_LIMIT = 512


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
    udp: asyncio.DatagramTransport | None = None
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
    ) -> None:
        self._loop = loop
        self.records = records
        self._host_upstreams = host_upstreams
        self.stats = stats
        self.timeout = timeout
        self._listeners: dict[str, _Listener] = {}
        self._forwards = asyncio.Semaphore(MAX_FORWARDS)

    # ---------------------------------------------------------------- thread side

    def attach(self, sandbox_id: str, key: str, view: View) -> tuple[int, int]:
        """Listen inside the sandbox and redirect its 127.0.0.11:53; return the ports."""
        udp_sock, tcp_sock = netns.run(key, _open_sockets)
        udp_port, tcp_port = udp_sock.getsockname()[1], tcp_sock.getsockname()[1]
        try:
            netns.run(key, nft.apply, dnsrules.redirect(udp_port, tcp_port), "embedded DNS redirect")
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
        listener.udp, _ = await self._loop.create_datagram_endpoint(lambda: _UdpServer(self, listener), sock=udp_sock)
        listener.tcp = await asyncio.start_server(lambda r, w: self._tcp_client(listener, r, w), sock=tcp_sock)

    async def _close(self, sandbox_id: str) -> None:
        listener = self._listeners.pop(sandbox_id, None)
        if listener is None:
            return
        if listener.udp is not None:
            listener.udp.close()
        if listener.tcp is not None:
            listener.tcp.close()

    async def close_all(self) -> None:
        for sandbox_id in list(self._listeners):
            await self._close(sandbox_id)

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

    def answer_fast(self, data: bytes, view: View) -> bytes | None:
        """The common case over UDP: an A/AAAA query for a known name. None: take the full path."""
        started = time.perf_counter_ns()
        question = wire.parse_question(data)
        if question is None or question.qtype not in ("A", "AAAA"):
            return None
        result = self.records.lookup(view.networks, view.name_of(question.name), question.qtype)
        if result.outcome is Outcome.FORWARD and not (view.keep_single_labels and "." not in question.name):
            return None
        addresses = list(result.addresses)
        random.shuffle(addresses)
        reply = wire.answer(data, question, addresses, TTL)
        if len(reply) > UDP_LIMIT:
            return None
        self.stats.answered("NOERROR", (time.perf_counter_ns() - started) // 1000)
        return reply

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
        rcode = RCODE.get(reply[3] & 0x0F) if len(reply) > 3 else "SERVFAIL"
        self.stats.answered(str(rcode), (time.perf_counter_ns() - started) // 1000)
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

    def upstreams(self, view: View) -> list[str]:
        return list(view.upstreams or self._host_upstreams())[:3]

    async def _forward(self, raw: bytes, view: View, tcp: bool) -> bytes | None:
        async with self._forwards:
            for server in self.upstreams(view):
                try:
                    reply = await asyncio.wait_for(
                        _ask_tcp(server, raw) if tcp else _ask_udp(self._loop, server, raw), self.timeout
                    )
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


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver, listener: _Listener) -> None:
        self._resolver = resolver
        self._listener = listener
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self._resolver.answer_fast(data, self._listener.view)
        if reply is not None:  # answered on the spot: no task, no message objects
            if self._transport is not None:
                self._transport.sendto(reply, addr)
            return
        asyncio.get_running_loop().create_task(self._reply(data, addr))

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self._resolver.answer(data, self._listener.view, tcp=False)
        if reply is not None and self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(reply, addr)


class _UdpClient(asyncio.DatagramProtocol):
    def __init__(self, done: asyncio.Future[bytes]) -> None:
        self._done = done

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self._done.done():
            self._done.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self._done.done():
            self._done.set_exception(exc)


async def _ask_udp(loop: asyncio.AbstractEventLoop, server: str, raw: bytes) -> bytes:
    done: asyncio.Future[bytes] = loop.create_future()
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _UdpClient(done), remote_addr=(server, 53), family=family
    )
    try:
        transport.sendto(raw)
        return await done
    finally:
        transport.close()


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


def _rcode(request: DNSRecord, rcode: int) -> bytes:
    reply = request.reply()
    reply.header.rcode = rcode
    return reply.pack()  # type: ignore[no-any-return]


def _udp_limit(request: DNSRecord) -> int:
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(UDP_LIMIT, int(rr.rclass))
    return UDP_LIMIT
