"""A container's stdin through conmon's attach socket (``docker run -i``).

conmon, started with ``--stdin``, listens on ``<bundle>/attach`` (a SOCK_SEQPACKET unix
socket): what a client writes there goes to the container's stdin, and when that client
goes away conmon closes the stdin (Docker's ``StdinOnce``). ``docker run -i`` attaches
before the container starts, so the bytes that arrive before the socket exists are kept
and sent once the container runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import struct
import termios
from pathlib import Path

log = logging.getLogger(__name__)

SOCKET_NAME = "attach"
CHUNK = 8192  # conmon reads its attach socket in buffers of this size


def socket_path(bundle: Path) -> Path:
    return bundle / SOCKET_NAME


class AttachStdin:
    """A sink for a hijacked connection's bytes, fed into conmon's attach socket."""

    def __init__(self, bundle: Path) -> None:
        self._path = socket_path(bundle)
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def feed(self, data: bytes) -> None:
        self._queue.put_nowait(data)

    def close(self) -> None:
        self._queue.put_nowait(None)

    def start(self) -> None:
        """The container runs: connect and send what came and what comes."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.setblocking(False)
        drain: asyncio.Task[None] | None = None
        # the socket's path is longer than a unix socket address may be (108 bytes):
        # reach it through a descriptor of its directory, as conmon itself binds it
        dir_fd = -1
        try:
            dir_fd = os.open(self._path.parent, os.O_PATH)
            await loop.sock_connect(sock, f"/proc/self/fd/{dir_fd}/{self._path.name}")
            # conmon also copies the output to attached clients: read it away (the
            # output reaches the client from the log), so conmon never waits on us
            drain = loop.create_task(_discard(loop, sock))
            while (data := await self._queue.get()) is not None:
                for i in range(0, len(data), CHUNK):
                    await loop.sock_sendall(sock, data[i : i + CHUNK])
            await _drained(sock)
        except OSError as exc:  # the container ended (or never listened): stdin is gone
            log.debug("stdin of %s: %s", self._path.parent.name[:12], exc)
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
            if drain is not None:
                drain.cancel()
            sock.close()  # conmon closes the container's stdin (StdinOnce)


async def _drained(sock: socket.socket, limit: float = 5.0) -> None:
    """Wait (bounded) until conmon has read everything sent: conmon misses the end of
    input when it comes in the same wake-up as the last bytes, and keeps stdin open."""
    waited = 0.0
    while waited < limit and _unread(sock) > 0:
        await asyncio.sleep(0.01)
        waited += 0.01
    await asyncio.sleep(0.05)  # and let it finish writing them to the container


def _unread(sock: socket.socket) -> int:
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return 0


async def _discard(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while await loop.sock_recv(sock, 65536):
            pass
