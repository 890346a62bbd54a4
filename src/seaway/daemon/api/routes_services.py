"""``/services`` and ``/tasks``: swarm services (create, list, inspect, update, roll back,
delete) and their tasks, answered by a manager from the store (``seaway.cluster``).
Filter names are checked by ``seaway.cluster.servicedoc`` (dockerd's text)."""

from __future__ import annotations

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import InvalidParameter, Unsupported


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    swarm = backend.swarm

    async def create(request: web.Request) -> web.Response:
        return json_response(await swarm.create_service(await json_body(request)), status=201)

    async def list_services(request: web.Request) -> web.Response:
        status = request.query.get("status", "").lower() in ("1", "true")
        return json_response(await swarm.services(f.filters(request, None), status))

    async def inspect(request: web.Request) -> web.Response:
        defaults = request.query.get("insertDefaults", "").lower() in ("1", "true")
        return json_response(await swarm.service(request.match_info["id"], defaults))

    async def update(request: web.Request) -> web.Response:
        try:
            version = int(request.query.get("version", ""))
        except ValueError:
            raise InvalidParameter("invalid service version") from None
        rollback = request.query.get("rollback", "") == "previous"
        body = await json_body(request)
        return json_response(await swarm.update_service(request.match_info["id"], version, body, rollback))

    async def delete(request: web.Request) -> web.Response:
        await swarm.remove_service(request.match_info["id"])
        return web.Response(status=200)

    async def logs(request: web.Request) -> web.Response:
        await swarm.service(request.match_info["id"])  # 404 for an unknown service first
        raise Unsupported("service logs are not supported yet: use docker logs on the node running the task")

    async def list_tasks(request: web.Request) -> web.Response:
        return json_response(await swarm.tasks(f.filters(request, None)))

    async def inspect_task(request: web.Request) -> web.Response:
        return json_response(await swarm.task(request.match_info["id"]))

    add("POST", "/services/create", create)
    add("GET", "/services", list_services)
    add("GET", "/services/{id}", inspect)
    add("POST", "/services/{id}/update", update)
    add("DELETE", "/services/{id}", delete)
    add("GET", "/services/{id}/logs", logs)
    add("GET", "/tasks", list_tasks)
    add("GET", "/tasks/{id}", inspect_task)
