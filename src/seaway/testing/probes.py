"""Tiny TCP/UDP servers and clients for reachability tests, in plain ``python3``.

The server runs in a container of the built-in ``seaway/host`` image (the host's own
programs) and answers every TCP connection or UDP datagram with ``<name> <peer address>``,
so a test sees both who answered and which source address reached it. The client runs
in any namespace (``nsenter``) or container (``docker exec``) and prints the answer, or
``FAIL <reason>`` within its timeout.
"""

from __future__ import annotations

SERVER = r"""
import socket, sys, threading
name = sys.argv[1]
def serve_tcp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(128)
    while True:
        c, a = s.accept()
        c.sendall(f"{name} {a[0].removeprefix('::ffff:')}\n".encode()); c.close()
def serve_udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        d, a = s.recvfrom(512)
        s.sendto(f"{name} {a[0].removeprefix('::ffff:')}\n".encode(), a)
threads = []
for spec in sys.argv[2:]:
    proto, _, ports = spec.partition(":")
    low, _, high = ports.partition("-")
    for port in range(int(low), int(high or low) + 1):
        t = threading.Thread(target=serve_tcp if proto == "tcp" else serve_udp, args=(port,), daemon=True)
        t.start(); threads.append(t)
print("serving", flush=True)
for t in threads:
    t.join()
"""

CLIENT = r"""
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
family = socket.AF_INET6 if ":" in host else socket.AF_INET
try:
    if proto == "tcp":
        s = socket.create_connection((host, port), timeout=timeout)
        print(s.recv(512).decode().strip())
    else:
        s = socket.socket(family, socket.SOCK_DGRAM); s.settimeout(timeout)
        s.sendto(b"?", (host, port))
        print(s.recv(512).decode().strip())
except OSError as exc:
    print(f"FAIL {exc.__class__.__name__}")
"""


def server_command(name: str, *specs: str) -> list[str]:
    """``python3 -c SERVER name tcp:80 udp:53 tcp:20000-20009``."""
    return ["python3", "-c", SERVER, name, *specs]


def client_command(proto: str, host: str, port: int, timeout: float = 2.0) -> list[str]:
    return ["python3", "-c", CLIENT, proto, host, str(port), str(timeout)]
