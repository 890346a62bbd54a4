"""``/nodes``: list, inspect, update (availability, labels), delete."""

from __future__ import annotations

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import InvalidParameter

FILTERS = ("id", "label", "membership", "name", "node.label", "role")


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    swarm = backend.swarm

    async def list_nodes(request: web.Request) -> web.Response:
        return json_response(await swarm.nodes(f.filters(request, FILTERS)))

    async def inspect(request: web.Request) -> web.Response:
        return json_response(await swarm.node(request.match_info["id"]))

    async def update(request: web.Request) -> web.Response:
        try:
            version = int(request.query.get("version", ""))
        except ValueError:
            raise InvalidParameter("invalid node version") from None
        await swarm.update_node(request.match_info["id"], version, await json_body(request))
        return web.Response(status=200)

    async def delete(request: web.Request) -> web.Response:
        force = request.query.get("force", "").lower() in ("1", "true")
        await swarm.remove_node(request.match_info["id"], force)
        return web.Response(status=200)

    add("GET", "/nodes", list_nodes)
    add("GET", "/nodes/{id}", inspect)
    add("POST", "/nodes/{id}/update", update)
    add("DELETE", "/nodes/{id}", delete)
