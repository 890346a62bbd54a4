"""Held host ports (kernel.portholds) against other programs' binds, in a fake host."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from seaway.errors import Conflict
from seaway.kernel.portholds import PortHolds
from seaway.lab.fakehost import FakeHost

ANY = ipaddress.ip_address("0.0.0.0")


def _binds(port: int, *, reuse: bool, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as other:
        if reuse:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            other.bind(("0.0.0.0", port))
            if kind == socket.SOCK_STREAM:
                other.listen(1)
        except OSError:
            return False
        return True


def test_held_ports_refuse_other_binds_and_a_time_wait_leftover_does_not_stop_a_hold(fake_host: FakeHost) -> None:
    holds = PortHolds()
    with fake_host.entered():
        try:
            holds.hold_many("tcp", ANY, [24001, 24002])
            holds.hold_many("udp", ANY, [24001])
            for port in (24001, 24002):
                assert not _binds(port, reuse=False) and not _binds(port, reuse=True)
            assert not _binds(24001, reuse=True, kind=socket.SOCK_DGRAM)

            # an earlier program's connection on 24003, closed by its side first: TIME_WAIT
            with socket.socket() as server:
                server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind(("127.0.0.1", 24003))
                server.listen(1)
                client = socket.create_connection(("127.0.0.1", 24003))
                accepted, _ = server.accept()
                accepted.close()
            client.close()
            holds.hold_many("tcp", ANY, [24003])  # held all the same (a listener with SO_REUSEADDR)
            assert not _binds(24003, reuse=True) and not _binds(24003, reuse=False)

            # a real holder: refused in Docker's words, nothing of the request kept
            with socket.socket() as holder:
                holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                holder.bind(("0.0.0.0", 24005))
                holder.listen(1)
                with pytest.raises(
                    Conflict, match=r"failed to bind host port 0.0.0.0:24005/tcp: address already in use"
                ):
                    holds.hold_many("tcp", ANY, [24004, 24005])
            assert _binds(24004, reuse=False)

            holds.release("tcp", ANY, 24001)
            assert _binds(24001, reuse=False)
        finally:
            holds.close()
