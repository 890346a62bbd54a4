"""``/containers/{id}/exec`` and ``/exec/{id}``: processes run inside a running container."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Protocol

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api import streams
from seaway.daemon.api.backend import Backend, ExecSession
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import Conflict, InvalidParameter, NotFound
from seaway.runtime import oci

#: an exec whose process could not start (Docker's code, whatever the reason)
EXEC_START_FAILED = 126


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    manager = backend.containers

    def session(exec_id: str) -> ExecSession:
        try:
            return backend.execs[exec_id]
        except KeyError:
            raise NotFound(f"No such exec instance: {exec_id}") from None

    async def create(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        body = await json_body(request)
        cmd = list(f.str_list(body, "Cmd"))
        if not cmd:
            raise InvalidParameter("No exec command specified")
        if not ctr.running or ctr.state.status != "running":
            raise Conflict(f"Container {ctr.id} is not running")
        exec_id = secrets.token_hex(32)
        backend.execs[exec_id] = ExecSession(
            id=exec_id,
            container_id=ctr.id,
            cmd=cmd,
            env=list(f.str_list(body, "Env")),
            tty=f.boolean(body, "Tty"),
            workdir=f.string(body, "WorkingDir"),
            attach_stdout=f.boolean(body, "AttachStdout", True),
            attach_stderr=f.boolean(body, "AttachStderr", True),
            attach_stdin=f.boolean(body, "AttachStdin"),
        )
        return json_response({"Id": exec_id}, status=201)

    async def start(request: web.Request) -> web.StreamResponse:
        ex = session(request.match_info["id"])
        body = await json_body(request)
        if ex.running or ex.exit_code is not None:
            raise Conflict(f"exec {ex.id} has already run")
        ctr = manager.get(ex.container_id)
        if ctr.state.status != "running":
            raise Conflict(f"Container {ctr.id} is not running")
        tty = f.boolean(body, "Tty", ex.tty)
        pid_file = manager.dir(ctr.id) / f"exec-{ex.id[:16]}.pid"
        argv = manager.runtime.exec_command(ctr.id, ex.cmd, ex.env, tty, ex.workdir, pid_file)
        detach = f.boolean(body, "Detach")
        with_stdin = ex.attach_stdin and not detach
        out: _Reader | None
        err: _Reader | None
        stdin: streams.StdinSink | None = None
        pty: int | None = None
        if tty:
            # runc relays between the container's terminal and its own, which must be a
            # controlling terminal: a pseudo-terminal whose other end is ours
            pty, slave = os.openpty()
            try:
                proc = await asyncio.create_subprocess_exec(
                    "setsid", "--ctty", "--wait", *argv, stdin=slave, stdout=slave, stderr=slave
                )
            except BaseException:
                os.close(pty)
                raise
            finally:
                os.close(slave)
            out, err = _PtyReader(pty), None
            stdin = _PtyStdin(pty) if with_stdin else None
        else:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if with_stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = proc.stdout, proc.stderr
            stdin = _ProcessStdin(proc.stdin) if with_stdin and proc.stdin is not None else None
        ex.running, ex.pid = True, proc.pid
        try:
            resp: web.StreamResponse | None = None
            if not detach:
                # the answer's head goes first, as dockerd's does: a client that reads the
                # head through a buffer (docker-py) would swallow output sent along with it
                resp = await streams.stream_response(request, streams.RAW if tty else streams.MULTIPLEXED, stdin)
            try:
                failure = await _start_failure(proc, pid_file, err or out)
            finally:
                pid_file.unlink(missing_ok=True)
            if failure is not None:
                # Docker: the process never ran: 126, and its error instead of output
                ex.running, ex.pid, ex.exit_code = False, 0, EXEC_START_FAILED
                if resp is None:
                    raise InvalidParameter(failure)
                text = (failure + "\r\n").encode()
                await resp.write(text if tty else streams.frame(streams.STDOUT, text))
                await resp.write_eof()
                return resp
            if resp is None:
                task = _finish(ex, proc, None, tty, out, err, pty)
                pty = None  # closed by the task
                asyncio.get_running_loop().create_task(task)
                return web.Response(status=200)
            await _finish(ex, proc, resp, tty, out, err, None)
            await resp.write_eof()
            return resp
        finally:
            if pty is not None:
                os.close(pty)

    async def inspect(request: web.Request) -> web.Response:
        ex = session(request.match_info["id"])
        return json_response(
            {
                "ID": ex.id,
                "Running": ex.running,
                "ExitCode": ex.exit_code,
                "ProcessConfig": {
                    "tty": ex.tty,
                    "entrypoint": ex.cmd[0],
                    "arguments": ex.cmd[1:],
                    "privileged": False,
                    "user": "",
                },
                "OpenStdin": ex.attach_stdin,
                "OpenStderr": ex.attach_stderr,
                "OpenStdout": ex.attach_stdout,
                "CanRemove": False,
                "ContainerID": ex.container_id,
                "DetachKeys": "",
                "Pid": ex.pid,
            }
        )

    async def resize(request: web.Request) -> web.Response:
        session(request.match_info["id"])
        return web.Response(status=201)

    add("POST", "/containers/{id}/exec", create)
    add("POST", "/exec/{id}/start", start)
    add("POST", "/exec/{id}/resize", resize)
    add("GET", "/exec/{id}/json", inspect)


class _Reader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


async def _start_failure(proc: asyncio.subprocess.Process, pid_file: Path, errors: _Reader | None) -> str | None:
    """Wait until runc has started the process (its pid file) or given up; runc's error in
    Docker's words if the process never ran. Output waits in the pipes meanwhile."""
    while not pid_file.exists():
        if proc.returncode is not None:
            if pid_file.exists() or proc.returncode != oci.EXEC_FAILED:
                return None
            err = b""
            while errors is not None and (chunk := await errors.read(65536)):
                err += chunk
            return oci.exec_error(err)
        await asyncio.sleep(0.005)
    return None


class _PtyReader:
    """Reads the daemon's end of an exec's pseudo-terminal; ``b""`` once the other end
    is closed by everyone (the kernel's EIO)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def read(self, n: int = 65536) -> bytes:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        loop.add_reader(self._fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)
        try:
            return os.read(self._fd, n if n > 0 else 65536)
        except OSError:
            return b""


class _PtyStdin:
    """The client's keystrokes into the exec's terminal."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def feed(self, data: bytes) -> None:
        try:
            os.write(self._fd, data)
        except OSError:
            pass

    def close(self) -> None:
        """The terminal stays: its process ends by itself (or with the connection)."""


class _ProcessStdin:
    """The client's stdin (from the hijacked connection) into the exec'd process; its
    end closes the process's stdin, as ``docker exec -i`` does."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def feed(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()


async def _finish(
    ex: ExecSession,
    proc: asyncio.subprocess.Process,
    resp: web.StreamResponse | None,
    tty: bool,
    out: _Reader | None,
    err: _Reader | None,
    pty: int | None,
) -> None:
    async def pump(reader: _Reader | None, stream: int, wanted: bool) -> None:
        if reader is None:
            return
        while chunk := await reader.read(65536):
            if resp is not None and wanted:
                await resp.write(chunk if tty else streams.frame(stream, chunk))

    try:
        await asyncio.gather(
            pump(out, streams.STDOUT, ex.attach_stdout),
            pump(err, streams.STDERR, ex.attach_stderr),
        )
    except BaseException:  # the client went away (or the daemon stops): end the process too
        if proc.returncode is None:
            proc.kill()
        raise
    finally:
        ex.exit_code = await proc.wait()
        ex.running = False
        if pty is not None:
            os.close(pty)
