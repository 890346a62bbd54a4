"""Output streams: conmon's k8s-file log, Docker's multiplexed frames, hijacked answers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from aiohttp import web

from seaway.errors import InvalidParameter

STDOUT, STDERR = 1, 2
MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def frame(stream: int, data: bytes) -> bytes:
    """Docker's stream frame: [stream, 0, 0, 0, size32 big-endian] + data."""
    return struct.pack(">BxxxL", stream, len(data)) + data


def parse_line(line: bytes) -> tuple[int, bytes, str] | None:
    """A k8s-file log line -> (stream, data, timestamp); None if malformed."""
    try:
        timestamp, stream, tag, content = line.rstrip(b"\n").split(b" ", 3)
    except ValueError:
        if line.count(b" ") == 2:  # an empty line: "<ts> <stream> F"
            timestamp, stream, tag = line.rstrip(b"\n").split(b" ")
            content = b""
        else:
            return None
    data = content + (b"\n" if tag == b"F" else b"")
    return (STDERR if stream == b"stderr" else STDOUT), data, timestamp.decode()


class Hijacked(web.StreamResponse):
    """A ``101 UPGRADED`` answer followed by a raw byte stream (Docker's hijacked
    connection); no chunked encoding, closed at the end."""

    _length_check = False

    def __init__(self, content_type: str) -> None:
        super().__init__(
            status=101,
            reason="UPGRADED",
            headers={"Content-Type": content_type, "Connection": "Upgrade", "Upgrade": "tcp"},
        )
        self.force_close()


class StdinSink(Protocol):
    """Where a hijacked connection's incoming bytes (the client's stdin) go."""

    def feed(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class _HijackedProtocol(asyncio.Protocol):
    """Stands in for aiohttp's protocol once a connection is hijacked. The docker CLI
    half-closes its side when its stdin ends: asyncio would close the whole transport on
    that EOF, so it is acknowledged and our side stays open (the sink, if any, is closed).
    Bytes from the client go to ``stdin``, or are dropped rather than parsed as HTTP."""

    def __init__(self, inner: asyncio.BaseProtocol, stdin: StdinSink | None) -> None:
        self._inner = inner
        self._stdin = stdin

    def eof_received(self) -> bool:
        if self._stdin is not None:
            self._stdin.close()
        return True

    def data_received(self, data: bytes) -> None:
        if self._stdin is not None:
            self._stdin.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stdin is not None:
            self._stdin.close()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


#: Docker's default detach keys (ctrl-p, ctrl-q)
DEFAULT_DETACH_KEYS = b"\x10\x11"
_CTRL_SPECIALS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(text: str) -> bytes:
    """Docker's ``detachKeys``: comma-separated ``ctrl-<x>`` or single characters."""
    out = bytearray()
    for key in text.split(","):
        low = key.lower()
        if len(key) == 1:
            out.append(ord(key))
        elif low.startswith("ctrl-") and len(low) == 6 and ("a" <= low[5] <= "z" or low[5] in _CTRL_SPECIALS):
            out.append(ord(low[5]) - ord("a") + 1 if "a" <= low[5] <= "z" else _CTRL_SPECIALS[low[5]])
        else:
            raise InvalidParameter(f"Invalid detach keys ({text}) provided")
    return bytes(out)


class DetachingStdin:
    """Passes a client's bytes on to ``inner`` until they spell the detach keys: then the
    keys are swallowed, and ``detach()`` ends the attach (the container keeps running).
    A partial match that goes wrong is passed on as it came."""

    def __init__(self, inner: StdinSink, keys: bytes, detach: Callable[[], None]) -> None:
        self._inner = inner
        self._keys = keys
        self._detach = detach
        self._held = b""
        self.detached = False

    def feed(self, data: bytes) -> None:
        if self.detached:
            return
        out = bytearray()
        for byte in data:
            if byte == self._keys[len(self._held)]:
                self._held += bytes([byte])
                if self._held == self._keys:
                    if out:
                        self._inner.feed(bytes(out))
                    self.detached = True
                    self._detach()
                    return
                continue
            out += self._held
            self._held = b""
            if byte == self._keys[0]:
                self._held = bytes([byte])
            else:
                out.append(byte)
        if out:
            self._inner.feed(bytes(out))

    def close(self) -> None:
        self._inner.close()


#: seconds between a hijacked answer's head and a body that is ready at once: docker-py
#: reads the head through a buffered reader, then the raw socket, so bytes that arrive
#: along with the head are lost to it (dockerd's own slowness hides this)
HEAD_PAUSE = 0.02


async def stream_response(
    request: web.Request, content_type: str, stdin: StdinSink | None = None
) -> web.StreamResponse:
    """Hijack when the client asked to upgrade (its bytes then go to ``stdin``);
    otherwise a plain streamed 200."""
    if request.headers.get("Upgrade", "").lower() == "tcp":
        resp: web.StreamResponse = Hijacked(content_type)
        transport = request.transport
        if transport is not None:
            transport.set_protocol(_HijackedProtocol(transport.get_protocol(), stdin))  # type: ignore[arg-type]
    else:
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type})
    await resp.prepare(request)
    return resp


class LogCursor:
    """A reading position in a k8s-file log that never loses a byte between reads: a
    partial last line is kept for the next read."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self._pending = b""

    async def follow(self, done: Callable[[], bool], poll: float = 0.05) -> AsyncIterator[tuple[int, bytes, str]]:
        """Lines appended from the current position, until ``done()`` and drained."""
        while True:
            finished = done()  # checked before reading, so nothing written before the end is lost
            try:
                with self.path.open("rb") as fh:
                    fh.seek(self.offset)
                    chunk = fh.read()
            except FileNotFoundError:
                chunk = b""
            self.offset += len(chunk)
            self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for line in lines:
                parsed = parse_line(line + b"\n")
                if parsed is not None:
                    yield parsed
            if finished and not chunk:
                return
            if not chunk:
                await asyncio.sleep(poll)


def follow_log(path: Path, start: int, done: Callable[[], bool]) -> AsyncIterator[tuple[int, bytes, str]]:
    """Lines appended to ``path`` from byte ``start``, until ``done()`` and drained."""
    return LogCursor(path, start).follow(done)


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
