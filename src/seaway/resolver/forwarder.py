"""UDP forwarding over a few long-lived upstream sockets, multiplexed by query ID.

A socket per query (what Docker and the first Seaway did) costs a socket, a bind, a
connect, an epoll registration and a conntrack entry on every query: most of a
forward's time (docs/dns.md, "Where the time goes"). Here each upstream server has
``POOL`` connected UDP sockets, made in the daemon's own namespace and used round-robin;
a query goes out as it came with a fresh random ID (``wire.with_id``), and the reply is
matched by that ID *and* its question (``wire.same_question``), then given the client's
ID back. A connected socket only takes datagrams from its server's address and port.

Spoofing: a reply must guess the ID (16 random bits, from ``os.urandom``), one of the
``POOL`` source ports, and repeat the question. Since the ports are fixed for a while,
each socket is replaced by a fresh one (a new random port) after ``ROTATE_AFTER``
queries; the old one stays open until its last query is answered or times out.

Per query, servers are tried in order: SERVFAIL or REFUSED, a send error, a refused port
(ICMP) or no reply within ``timeout`` moves to the next; when none is left the caller's
``done`` gets None (it answers SERVFAIL). At most ``limit`` queries are in flight; past
that ``done(None)`` at once. Time-outs are swept every ``tick`` seconds from the queries
in flight (no timer per query). Runs on the loop thread only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from collections.abc import Callable

from seaway.dns import wire
from seaway.resolver.stats import Stats

log = logging.getLogger(__name__)

POOL = 4
ROTATE_AFTER = 2000
DRAIN = 64  # datagrams read per wake-up of one socket, before others get a turn

Done = Callable[[bytes | None], None]


class _Query:
    __slots__ = ("data", "deadline", "done", "end", "index", "servers", "sock", "upid")

    def __init__(self, data: bytes, end: int, servers: tuple[str, ...], done: Done) -> None:
        self.data = data
        self.end = end
        self.servers = servers
        self.index = 0
        self.done = done
        self.deadline = 0.0
        self.upid = 0
        self.sock: _Socket | None = None


class _Socket:
    __slots__ = ("fd", "pending", "retired", "server", "sock", "uses")

    def __init__(self, sock: socket.socket, server: str) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.server = server
        self.pending: dict[int, _Query] = {}
        self.uses = 0
        self.retired = False


class Forwarder:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        stats: Stats,
        timeout: float,
        limit: int,
        tick: float | None = None,
        rotate_after: int = ROTATE_AFTER,
    ) -> None:
        self._loop = loop
        self._stats = stats
        self.timeout = timeout
        self._limit = limit
        self._tick = tick if tick is not None else min(0.1, timeout / 4)
        self._pools: dict[str, list[_Socket]] = {}
        self._turn = 0
        self._sockets: set[_Socket] = set()  # every open one, retired or not
        self.in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._ids: list[int] = []
        self._rotate_after = rotate_after

    def forward(self, data: bytes, end: int, servers: tuple[str, ...], done: Done) -> None:
        """Send the query ``data`` (its question ends at ``end``) to ``servers`` in turn;
        ``done`` gets the reply with the query's own ID, or None."""
        if self.in_flight >= self._limit or not servers:
            done(None)
            return
        self.in_flight += 1
        self._send(_Query(data, end, servers, done))

    def close(self) -> None:
        """Close every socket; queries in flight get None."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for s in list(self._sockets):
            for query in list(s.pending.values()):
                self._finish(query, None)
            s.pending.clear()
            self._close(s)
        self._pools.clear()

    # ---------------------------------------------------------------- sending

    def _send(self, query: _Query) -> None:
        while query.index < len(query.servers):
            server = query.servers[query.index]
            try:
                s = self._socket(server)
                upid = self._free_id(s)
                s.sock.send(wire.with_id(query.data, upid))
            except OSError as exc:  # unreachable, a full buffer: the next server
                log.debug("upstream %s: %s", server, exc)
                self._stats.forward(False)
                query.index += 1
                continue
            s.pending[upid] = query
            s.uses += 1
            query.sock, query.upid = s, upid
            query.deadline = self._loop.time() + self.timeout
            if self._timer is None:
                self._timer = self._loop.call_later(self._tick, self._sweep)
            if s.uses >= self._rotate_after:
                self._retire(s)
            return
        self._finish(query, None)

    def _socket(self, server: str) -> _Socket:
        pool = self._pools.get(server)
        if pool is None:
            pool = self._pools[server] = []
        if len(pool) < POOL:
            s = self._open(server)
            pool.append(s)
            return s
        self._turn += 1
        return pool[self._turn % POOL]

    def _open(self, server: str) -> _Socket:
        """A connected UDP socket to ``server``:53, in the loop thread's (the host's) namespace."""
        sock = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect((server, 53))
        except OSError:
            sock.close()
            raise
        s = _Socket(sock, server)
        self._sockets.add(s)
        self._loop.add_reader(s.fd, self._readable, s)
        return s

    def _retire(self, s: _Socket) -> None:
        s.retired = True
        pool = self._pools.get(s.server, [])
        if s in pool:
            pool.remove(s)
        if not s.pending:
            self._close(s)

    def _close(self, s: _Socket) -> None:
        if s in self._sockets:
            self._sockets.discard(s)
            self._loop.remove_reader(s.fd)
            s.sock.close()
        pool = self._pools.get(s.server)
        if pool is not None and s in pool:
            pool.remove(s)

    def _free_id(self, s: _Socket) -> int:
        while True:
            if not self._ids:
                self._ids = list(struct.unpack("!1024H", os.urandom(2048)))
            upid = self._ids.pop()
            if upid not in s.pending:
                return upid

    # ---------------------------------------------------------------- receiving

    def _readable(self, s: _Socket) -> None:
        for _ in range(DRAIN):
            try:
                data = s.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionRefusedError:  # ICMP port unreachable: nobody serves there
                self._fail_all(s, "port unreachable")
                break
            except OSError as exc:
                log.debug("upstream %s: %s", s.server, exc)
                break
            if len(data) < 12:
                continue
            query = s.pending.get((data[0] << 8) | data[1])
            if query is None or not wire.same_question(data, query.data, query.end):
                continue  # late, or not the answer to what we asked
            del s.pending[query.upid]
            if (data[3] & 0x0F) in (2, 5):  # SERVFAIL, REFUSED: the next server
                self._stats.forward(False)
                query.index += 1
                self._send(query)
                continue
            self._stats.forward(True)
            self._finish(query, query.data[:2] + data[2:])
        if s.retired and not s.pending:
            self._close(s)

    def _fail_all(self, s: _Socket, why: str) -> None:
        log.debug("upstream %s: %s", s.server, why)
        waiting = list(s.pending.values())
        s.pending.clear()
        for query in waiting:
            self._stats.forward(False)
            query.index += 1
            self._send(query)

    def _finish(self, query: _Query, reply: bytes | None) -> None:
        self.in_flight -= 1
        query.sock = None
        query.done(reply)

    def _sweep(self) -> None:
        self._timer = None
        now = self._loop.time()
        for s in list(self._sockets):
            late = [q for q in s.pending.values() if q.deadline <= now]
            for query in late:
                del s.pending[query.upid]
                log.debug("upstream %s: no answer within %ss", s.server, self.timeout)
                self._stats.forward(False)
                query.index += 1
                self._send(query)
            if s.retired and not s.pending:
                self._close(s)
        if self.in_flight > 0:
            self._timer = self._loop.call_later(self._tick, self._sweep)
