"""Copying a container's output to our stdout/stderr: Docker's multiplexed frames
(8-byte header ``[stream, 0, 0, 0, size32 big-endian]`` + payload) or a TTY's raw bytes."""

from __future__ import annotations

import struct
import sys
from typing import IO

HEADER = struct.Struct(">BxxxL")
STDOUT, STDERR = 1, 2
CHUNK = 32768


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = source.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _read_some(source: IO[bytes]) -> bytes:
    read1 = getattr(source, "read1", None)
    return read1(CHUNK) if read1 else source.read(CHUNK)


def copy_output(source: IO[bytes], raw: bool, out: IO[bytes] | None = None, err: IO[bytes] | None = None) -> None:
    """Copy until the daemon closes the stream; stdin's frames (0) go to stdout."""
    out = out or sys.stdout.buffer
    err = err or sys.stderr.buffer
    if raw:
        while chunk := _read_some(source):
            out.write(chunk)
            out.flush()
        return
    while True:
        header = _read_exactly(source, HEADER.size)
        if len(header) < HEADER.size:
            return
        stream, size = HEADER.unpack(header)
        payload = _read_exactly(source, size)
        target = err if stream == STDERR else out
        target.write(payload)
        target.flush()
        if len(payload) < size:
            return
