"""``/containers/{id}/exec`` and ``/exec/{id}``: processes run inside a running container."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api import streams
from seaway.daemon.api.backend import Backend, ExecSession
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import Conflict, InvalidParameter, NotFound


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
        # TTY sessions are run without a terminal (output merged, raw stream)
        argv = manager.runtime.exec_command(ctr.id, ex.cmd, ex.env, False, ex.workdir)
        detach = f.boolean(body, "Detach")
        with_stdin = ex.attach_stdin and not detach
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if with_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if tty else asyncio.subprocess.PIPE,
        )
        ex.running, ex.pid = True, proc.pid
        if detach:
            asyncio.get_running_loop().create_task(_finish(ex, proc, None, tty))
            return web.Response(status=200)
        stdin = _ProcessStdin(proc.stdin) if with_stdin and proc.stdin is not None else None
        resp = await streams.stream_response(request, streams.RAW if tty else streams.MULTIPLEXED, stdin)
        await _finish(ex, proc, resp, tty)
        await resp.write_eof()
        return resp

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
    ex: ExecSession, proc: asyncio.subprocess.Process, resp: web.StreamResponse | None, tty: bool
) -> None:
    async def pump(reader: asyncio.StreamReader | None, stream: int, wanted: bool) -> None:
        if reader is None:
            return
        while chunk := await reader.read(65536):
            if resp is not None and wanted:
                await resp.write(chunk if tty else streams.frame(stream, chunk))

    try:
        await asyncio.gather(
            pump(proc.stdout, streams.STDOUT, ex.attach_stdout),
            pump(proc.stderr, streams.STDERR, ex.attach_stderr),
        )
    except BaseException:  # the client went away (or the daemon stops): end the process too
        if proc.returncode is None:
            proc.kill()
        raise
    finally:
        ex.exit_code = await proc.wait()
        ex.running = False
