"""The outside world's services: a web server and a DNS server, run inside the world
namespace by ``python -m seaway.lab.world`` (the lab starts it; nothing else should).

The web server answers every GET with a short text naming the world and the path. The
DNS server answers A queries for the lab's records (``--record NAME=ADDRESS``), and
NXDOMAIN for anything else; it never forwards, so a lab never asks the real internet.
"""

from __future__ import annotations

import argparse
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

GREETING = "hello from the outside world"


class _Web(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{GREETING}: {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def answer(query: bytes, records: dict[str, str]) -> bytes:
    """The reply to one DNS query (A records from ``records``; NXDOMAIN otherwise)."""
    request = DNSRecord.parse(query)
    reply = request.reply()
    name = str(request.q.qname).rstrip(".").lower()
    if name not in records:
        reply.header.rcode = RCODE.NXDOMAIN
    elif request.q.qtype in (QTYPE.A, QTYPE.ANY):
        reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(records[name]), ttl=60))
    return reply.pack()  # type: ignore[no-any-return]


def _serve_dns(sock: socket.socket, records: dict[str, str]) -> None:
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            sock.sendto(answer(data, records), peer)
        except Exception:  # a malformed query gets no answer; the server runs on
            continue


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m seaway.lab.world")
    p.add_argument("--web", required=True, help="ADDRESS:PORT of the web server")
    p.add_argument("--dns", required=True, help="ADDRESS:PORT of the DNS server")
    p.add_argument("--record", action="append", default=[], help="NAME=ADDRESS (A record)")
    p.add_argument("--lab", help="the lab's name (only marks the process)")
    args = p.parse_args(argv)
    records = dict(r.split("=", 1) for r in args.record)
    dns_host, dns_port = args.dns.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((dns_host, int(dns_port)))
    threading.Thread(target=_serve_dns, args=(sock, records), daemon=True).start()
    web_host, web_port = args.web.rsplit(":", 1)
    ThreadingHTTPServer((web_host, int(web_port)), _Web).serve_forever()


if __name__ == "__main__":
    main()
