"""A tiny authoritative DNS server for the outside world of a fake host (tests only).

Serves UDP and TCP on ``FAR_ADDR:53`` inside the outside namespace, from a thread of the
test process: ``A`` records from a dict, a large ``TXT`` answer for truncation tests,
NXDOMAIN for everything else. ``queries`` counts what arrived. UDP replies are
memoized by the query's bytes after its ID (the answer depends on nothing else), so a
benchmark's load measures the resolver under test, not this server's dnslib work.
"""

from __future__ import annotations

import socket
import struct
import threading

from dnslib import QTYPE, RCODE, RR, TXT, A, DNSRecord

from seaway.kernel import netns
from seaway.lab.fakehost import FAR_ADDR, FakeHost


class OutsideDns:
    def __init__(self, host: FakeHost, records: dict[str, str], address: str = FAR_ADDR) -> None:
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.queries = 0
        self.address = address
        self._udp, self._tcp = netns.run(host.outside_ns, self._sockets)
        self._udp_replies: dict[bytes, bytes] = {}  # query[2:] -> reply[2:]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _sockets(self) -> tuple[socket.socket, socket.socket]:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((self.address, 53))
        udp.settimeout(0.2)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((self.address, 53))
        tcp.listen(16)
        tcp.settimeout(0.2)
        return udp, tcp

    def answer(self, data: bytes) -> bytes:
        self.queries += 1
        request = DNSRecord.parse(data)
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if request.q.qtype == QTYPE.A and name in self.records:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.records[name]), ttl=60))
        elif request.q.qtype == QTYPE.TXT and name.startswith("big."):
            for i in range(40):
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(f"chunk {i:02d} " + "x" * 40), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply.pack()  # type: ignore[no-any-return]

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._udp.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            try:
                reply = self._udp_reply(data)
            except Exception:  # not DNS (dnslib's own errors): say nothing
                continue
            self._udp.sendto(reply, peer)

    def _udp_reply(self, data: bytes) -> bytes:
        known = self._udp_replies.get(data[2:])
        if known is not None:
            self.queries += 1
            return data[:2] + known
        reply = self.answer(data)
        if len(reply) > 512:  # honest UDP: truncate
            short = DNSRecord.parse(data).reply()
            short.header.tc = 1
            reply = short.pack()
        self._udp_replies[data[2:]] = reply[2:]
        return reply  # type: ignore[no-any-return]

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    size = struct.unpack("!H", conn.recv(2))[0]
                    data = b""
                    while len(data) < size:
                        data += conn.recv(size - len(data))
                    reply = self.answer(data)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, struct.error):
                    pass

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self._udp.close()
        self._tcp.close()


def query(key: str, name: str, qtype: str = "A", tcp: bool = False, timeout: float = 6.0) -> DNSRecord:
    """Ask 127.0.0.11 from inside the namespace at ``key`` (a container's), as its
    programs do; the reply parsed."""
    packet = DNSRecord.question(name, qtype).pack()

    def ask() -> bytes:
        if tcp:
            with socket.create_connection(("127.0.0.11", 53), timeout=timeout) as s:
                s.sendall(struct.pack("!H", len(packet)) + packet)
                size = struct.unpack("!H", _recv_exactly(s, 2))[0]
                return _recv_exactly(s, size)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(packet, ("127.0.0.11", 53))
            return s.recv(65535)

    return DNSRecord.parse(netns.run(key, ask))


def _recv_exactly(s: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = s.recv(size - len(data))
        if not chunk:
            raise ConnectionError("short read")
        data += chunk
    return data
