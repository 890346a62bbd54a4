"""``/containers``: create, start, stop, kill, restart, wait, delete, inspect, list,
logs, attach, rename."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api import schemas, streams
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import Conflict, InvalidParameter, NotFound, Unsupported
from seaway.model import logconfig
from seaway.model.container import Container
from seaway.runtime import archive
from seaway.runtime.attach import AttachStdin

log = logging.getLogger(__name__)

FILTERS = ("id", "name", "status", "label", "network", "exited", "ancestor")
#: bytes of a tar kept in memory before it spills to a temporary file
ARCHIVE_SPOOL = 8 << 20
#: seconds between two stats documents (Docker's collector ticks once a second)
STATS_INTERVAL = 1.0
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _matches(backend: Backend, ctr: Container, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if key == "id" and not any(ctr.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(f.matches(v, ctr.name) or f.matches(v, f"/{ctr.name}") for v in values):
            return False
        if key == "status":
            bad = [v for v in values if v not in STATUSES]
            if bad:
                raise InvalidParameter(f"invalid filter 'status={bad[0]}'")
            if schemas.shown_status(ctr) not in values:
                return False
        if key == "exited" and (ctr.state.status != "exited" or str(ctr.state.exit_code) not in values):
            return False
        if key == "ancestor" and ctr.spec.image not in values and ctr.image_id not in values:
            return False
        if key == "network":
            names = set(backend.container_networks(ctr))
            ids = set(ctr.networks)
            if not any(v in names or any(i.startswith(v) for i in ids) for v in values):
                return False
        if key == "label":
            for label in values:
                k, sep, v = label.partition("=")
                if k not in ctr.spec.labels or (sep and ctr.spec.labels[k] != v):
                    return False
    return True


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    manager = backend.containers

    def gone(request: web.Request) -> bool:
        """The client left or the daemon is stopping: a streaming handler should end."""
        return backend.stopping.is_set() or request.transport is None or request.transport.is_closing()

    def image_cmd(ctr: Container) -> list[str]:
        try:
            return manager.images.get(ctr.image_id).cmd
        except NotFound:
            return []

    def inspect_json(ctr: Container, version: tuple[int, int]) -> dict[str, Any]:
        owner = manager.network_owner(ctr)  # container:<id>: its files are the other's
        d = manager.dir(owner.id if owner else ctr.id)
        files = {
            "resolv.conf": str(d / "resolv.conf"),
            "hostname": str(d / "hostname"),
            "hosts": str(d / "hosts"),
            "log": str(d / "ctr.log"),
        }
        key = ""
        if ctr.sandbox_id:
            try:
                key = backend.engine.sandbox(ctr.sandbox_id).key
            except NotFound:
                key = ""
        networks = backend.container_networks(ctr, version)
        mappings = backend.container_ports(ctr)
        points = [schemas.mount_point(m, source) for m, source in manager.fs.mount_points(ctr)]
        return schemas.container_inspect(
            ctr, image_cmd(ctr), files, key, networks, networks.get("bridge"), mappings, points
        )

    async def create(request: web.Request) -> web.Response:
        spec = schemas.parse_container_create(await json_body(request))
        ctr = await backend.run(manager.create, request.query.get("name", ""), spec)
        warnings = []
        if spec.network_mode == "host" and (spec.ports or spec.port_bindings):
            warnings.append("Published ports are discarded when using host network mode")
        return json_response({"Id": ctr.id, "Warnings": warnings}, status=201)

    async def list_containers(request: web.Request) -> web.Response:
        filters = f.filters(request, FILTERS)
        show_all = f.query_bool(request, "all")
        out = []
        for ctr in manager.list():
            if not show_all and ctr.state.status != "running" and "status" not in filters:
                continue
            if not _matches(backend, ctr, filters):
                continue
            networks = backend.container_networks(ctr, f.api_version(request))
            mappings = backend.container_ports(ctr)
            out.append(schemas.container_summary(ctr, ctr.spec.image, image_cmd(ctr), networks, mappings))
        limit = f.query_int(request, "limit")
        if limit is not None and limit > 0:
            out = out[:limit]
        return json_response(out)

    async def inspect(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        return json_response(
            {**inspect_json(ctr, f.api_version(request)), "SeawayStatus": backend.container_status(ctr)}
        )

    async def start(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        if ctr.state.status == "running":
            return web.Response(status=304)
        await backend.run(manager.start, ctr.id)
        return web.Response(status=204)

    async def stop(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        timeout = f.query_int(request, "t")
        stopped = await backend.run(manager.stop, ctr.id, timeout, request.query.get("signal"))
        return web.Response(status=204 if stopped else 304)

    async def restart(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        await backend.run(manager.restart, ctr.id, f.query_int(request, "t"))
        return web.Response(status=204)

    async def kill(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        await backend.run(manager.kill, ctr.id, request.query.get("signal") or "SIGKILL")
        return web.Response(status=204)

    async def delete(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        if f.query_bool(request, "link"):  # a link is <parent>/<alias>; never the container
            raise Conflict("Conflict, cannot remove the default link name of the container")
        await backend.run(manager.remove, ctr.id, f.query_bool(request, "force"), f.query_bool(request, "v"))
        return web.Response(status=204)

    async def delete_link(request: web.Request) -> web.Response:
        parent, alias = request.match_info["id"], request.match_info["alias"]
        if not f.query_bool(request, "link"):
            raise NotFound(f"No such container: {parent}/{alias}")
        await backend.run(manager.remove_link, parent, alias)
        return web.Response(status=204)

    async def wait(request: web.Request) -> web.StreamResponse:
        ctr = manager.get(request.match_info["id"])
        condition = request.query.get("condition") or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidParameter(f"invalid condition: {condition!r}")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)  # headers now, the body when the condition holds
        exits_seen = ctr.state.finished_at
        log.debug("wait %s condition=%s", ctr.name, condition)
        while True:
            if gone(request):
                return resp
            # exits are noticed by the daemon's watcher task; this only reads the state
            if condition == "removed" and manager.removed(ctr.id):
                break
            if condition == "next-exit" and ctr.state.finished_at != exits_seen:
                break
            # Docker wakes not-running waiters on every exit, restarting ones included
            if condition == "not-running" and (not ctr.running or ctr.state.finished_at != exits_seen):
                break
            await asyncio.sleep(0.05)
        # a removed container's wait carries no error (docker run --rm after a failed start
        # reports the start's error alone, as with dockerd)
        error = {"Message": ctr.state.error} if ctr.state.error and condition != "removed" else None
        await resp.write((json.dumps({"StatusCode": ctr.state.exit_code, "Error": error}) + "\n").encode())
        await resp.write_eof()
        return resp

    async def logs(request: web.Request) -> web.StreamResponse:
        ctr = manager.get(request.match_info["id"])
        if not logconfig.readable(ctr.spec.log_driver):
            raise Unsupported(logconfig.NOT_READABLE)
        want = {streams.STDOUT: f.query_bool(request, "stdout"), streams.STDERR: f.query_bool(request, "stderr")}
        if not any(want.values()):
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        follow = f.query_bool(request, "follow")
        timestamps = f.query_bool(request, "timestamps")
        tail = request.query.get("tail", "all")
        count: int | None = None
        if tail not in ("all", ""):
            try:
                count = int(tail)
            except ValueError:
                raise InvalidParameter(f"invalid value for tail: {tail!r} (a number or all)") from None
        path = manager.log_path(ctr.id)
        content_type = streams.RAW if ctr.spec.tty else streams.MULTIPLEXED
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        await resp.prepare(request)
        # one cursor: the backlog up to the last whole line, then (with follow) what comes
        cursor = streams.LogCursor(path)
        lines = [item async for item in cursor.follow(lambda: True)]
        since = f.until(request.query["since"], "since") if request.query.get("since") not in (None, "", "0") else None
        until = f.until(request.query["until"]) if request.query.get("until") not in (None, "", "0") else None
        if since is not None or until is not None:
            lines = [
                item
                for item in lines
                if (since is None or schemas.unix_time(item[2]) >= since)
                and (until is None or schemas.unix_time(item[2]) <= until)
            ]
        if count is not None and count >= 0:
            lines = lines[len(lines) - count :] if count else []
        for stream, data, ts in lines:
            await _emit(resp, ctr, want, stream, data, ts, timestamps)
        if follow and ctr.running and until is None:
            async for stream, data, ts in cursor.follow(lambda: not ctr.running or gone(request)):
                await _emit(resp, ctr, want, stream, data, ts, timestamps)
        await resp.write_eof()
        return resp

    async def attach(request: web.Request) -> web.StreamResponse:
        ctr = manager.get(request.match_info["id"])
        want = {streams.STDOUT: f.query_bool(request, "stdout"), streams.STDERR: f.query_bool(request, "stderr")}
        path = manager.log_path(ctr.id)
        start = streams.size_of(path)
        content_type = streams.RAW if ctr.spec.tty else streams.MULTIPLEXED
        stdin = AttachStdin(manager.dir(ctr.id)) if ctr.spec.open_stdin and f.query_bool(request, "stdin") else None
        keys = request.query.get("detachKeys")
        detach_keys = streams.parse_detach_keys(keys) if keys else streams.DEFAULT_DETACH_KEYS
        sink: streams.StdinSink | None = stdin
        if stdin is not None:
            sink = streams.DetachingStdin(stdin, detach_keys, lambda: _hang_up(request))
        resp = await streams.stream_response(request, content_type, sink)
        try:
            await _attached(request, resp, ctr, want, path, start, stdin)
        finally:
            if stdin is not None:
                stdin.cancel()
        await resp.write_eof()
        return resp

    async def _attached(
        request: web.Request,
        resp: web.StreamResponse,
        ctr: Container,
        want: dict[int, bool],
        path: Path,
        start: int,
        stdin: AttachStdin | None,
    ) -> None:
        if f.query_bool(request, "logs"):
            if isinstance(resp, streams.Hijacked):
                await asyncio.sleep(streams.HEAD_PAUSE)
            async for stream, data, ts in streams.follow_log(path, 0, lambda: True):
                await _emit(resp, ctr, want, stream, data, ts, False)
        if f.query_bool(request, "stream", True):
            # wait for the start that follows (docker run attaches before starting)
            was_started = ctr.state.started_at
            while not ctr.running and ctr.state.started_at == was_started and not manager.removed(ctr.id):
                if gone(request):
                    return
                await asyncio.sleep(0.02)
            if stdin is not None and ctr.running:
                stdin.start()
            async for stream, data, ts in streams.follow_log(path, start, lambda: not ctr.running or gone(request)):
                await _emit(resp, ctr, want, stream, data, ts, False)

    async def rename(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        await backend.run(manager.rename, ctr.id, request.query.get("name", ""))
        return web.Response(status=204)

    async def update(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        changes, policy = schemas.parse_update(await json_body(request))
        await backend.run(manager.update, ctr.id, changes, policy)
        return json_response({"Warnings": []})

    async def pause(request: web.Request) -> web.Response:
        await backend.run(manager.pause, manager.get(request.match_info["id"]).id)
        return web.Response(status=204)

    async def unpause(request: web.Request) -> web.Response:
        await backend.run(manager.unpause, manager.get(request.match_info["id"]).id)
        return web.Response(status=204)

    async def prune(request: web.Request) -> web.Response:
        filters = f.filters(request, ("label", "label!", "until"))
        until = f.until(filters["until"][0]) if "until" in filters else None

        def keep(ctr: Container) -> bool:
            if "label" in filters and not _matches(backend, ctr, {"label": filters["label"]}):
                return True
            if any(_matches(backend, ctr, {"label": [v]}) for v in filters.get("label!", [])):
                return True
            return until is not None and schemas.unix_time(ctr.created) >= until

        deleted, reclaimed = await backend.run(manager.prune, keep)
        return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    def stat_header(ctr: Container, path: str) -> dict[str, str]:
        with manager.fs.files(ctr.id) as root:
            stat = archive.path_stat(root, path, ctr.id)
        return {"X-Docker-Container-Path-Stat": base64.b64encode(json.dumps(stat).encode()).decode()}

    def archive_path(request: web.Request) -> str:
        path = request.query.get("path", "")
        if not path:
            raise InvalidParameter("path must not be empty")  # Docker: the same 400
        return path

    async def archive_head(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        headers = await backend.run(stat_header, ctr, archive_path(request))
        return web.Response(status=200, headers=headers)

    async def archive_get(request: web.Request) -> web.StreamResponse:
        ctr = manager.get(request.match_info["id"])
        path = archive_path(request)
        headers = await backend.run(stat_header, ctr, path)
        with tempfile.SpooledTemporaryFile(max_size=ARCHIVE_SPOOL) as spool:

            def pack() -> None:
                with manager.fs.files(ctr.id) as root:
                    archive.write_tar(root, path, ctr.id, spool)  # type: ignore[arg-type]
                spool.seek(0)

            await backend.run(pack)
            resp = web.StreamResponse(status=200, headers={**headers, "Content-Type": "application/x-tar"})
            await resp.prepare(request)
            while chunk := spool.read(65536):
                await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def archive_put(request: web.Request) -> web.Response:
        ctr = manager.get(request.match_info["id"])
        path = archive_path(request)
        with tempfile.SpooledTemporaryFile(max_size=ARCHIVE_SPOOL) as spool:
            while chunk := await request.content.read(65536):
                spool.write(chunk)
            spool.seek(0)

            def unpack() -> None:
                with manager.fs.files(ctr.id) as root:
                    archive.extract_tar(root, path, ctr.id, spool)  # type: ignore[arg-type]

            await backend.run(unpack)
        return web.Response(status=200)

    async def changes(request: web.Request) -> web.Response:
        found = await backend.run(manager.fs.changes, request.match_info["id"])
        return json_response([{"Path": path, "Kind": kind} for path, kind in found] or None)

    async def top(request: web.Request) -> web.Response:
        titles, rows = await backend.run(manager.top, request.match_info["id"], request.query.get("ps_args", ""))
        return json_response({"Titles": titles, "Processes": rows})

    async def container_stats(request: web.Request) -> web.StreamResponse:
        ctr = manager.get(request.match_info["id"])
        stream = f.query_bool(request, "stream", True)
        one_shot = f.query_bool(request, "one-shot")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        before, then = None, schemas.ZERO_TIME
        while True:
            sample = await backend.run(manager.stats_sample, ctr.id)
            now = schemas.now_text()
            if not stream and before is None and sample is not None and not one_shot:
                before, then = sample, now  # a single answer carries a CPU delta too
                await asyncio.sleep(STATS_INTERVAL)
                continue
            await resp.write((json.dumps(schemas.stats_json(ctr, now, sample, before, then)) + "\n").encode())
            if not stream or gone(request):
                break
            before, then = sample, now
            await asyncio.sleep(STATS_INTERVAL)
            if gone(request):
                break
        await resp.write_eof()
        return resp

    async def resize(request: web.Request) -> web.Response:
        manager.get(request.match_info["id"])
        return web.Response(status=200)

    add("POST", "/containers/create", create)
    add("GET", "/containers/json", list_containers)
    add("GET", "/containers/{id}/json", inspect)
    add("POST", "/containers/{id}/start", start)
    add("POST", "/containers/{id}/stop", stop)
    add("POST", "/containers/{id}/restart", restart)
    add("POST", "/containers/{id}/kill", kill)
    add("POST", "/containers/{id}/wait", wait)
    add("POST", "/containers/{id}/resize", resize)
    add("POST", "/containers/{id}/rename", rename)
    add("POST", "/containers/{id}/update", update)
    add("POST", "/containers/{id}/pause", pause)
    add("POST", "/containers/{id}/unpause", unpause)
    add("POST", "/containers/prune", prune)
    add("GET", "/containers/{id}/changes", changes)
    add("GET", "/containers/{id}/top", top)
    add("GET", "/containers/{id}/stats", container_stats)
    add("HEAD", "/containers/{id}/archive", archive_head)
    add("GET", "/containers/{id}/archive", archive_get)
    add("PUT", "/containers/{id}/archive", archive_put)
    add("DELETE", "/containers/{id}", delete)
    add("DELETE", "/containers/{id}/{alias}", delete_link)
    add("GET", "/containers/{id}/logs", logs)
    add("POST", "/containers/{id}/attach", attach)


def _hang_up(request: web.Request) -> None:
    """The client detached: the connection closes (the attach's loops see it gone)."""
    if request.transport is not None:
        request.transport.close()


async def _emit(
    resp: web.StreamResponse,
    ctr: Container,
    want: dict[int, bool],
    stream: int,
    data: bytes,
    ts: str,
    timestamps: bool,
) -> None:
    if not want.get(stream):
        return
    if timestamps:
        data = ts.encode() + b" " + data
    await resp.write(data if ctr.spec.tty else streams.frame(stream, data))
