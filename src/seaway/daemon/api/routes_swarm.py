"""``/swarm``: init, join, leave, inspect, update (token rotation); unlock refused."""

from __future__ import annotations

from aiohttp import web

from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import InvalidParameter


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    swarm = backend.swarm

    async def init(request: web.Request) -> web.Response:
        body = await json_body(request)
        if body.get("ForceNewCluster"):
            raise InvalidParameter("--force-new-cluster is not supported by Seaway yet")
        return json_response(await swarm.init(body))

    async def join(request: web.Request) -> web.Response:
        await swarm.join(await json_body(request))
        return web.Response(status=200)

    async def leave(request: web.Request) -> web.Response:
        await swarm.leave(_flag(request, "force"))
        return web.Response(status=200)

    async def inspect(request: web.Request) -> web.Response:
        return json_response(await swarm.inspect())

    async def update(request: web.Request) -> web.Response:
        try:
            version = int(request.query.get("version", ""))
        except ValueError:
            raise InvalidParameter("invalid swarm version") from None
        rotate = tuple(
            role for role, flag in (("worker", "rotateWorkerToken"), ("manager", "rotateManagerToken"))
            if _flag(request, flag)
        )  # fmt: skip
        if _flag(request, "rotateManagerUnlockKey"):
            raise InvalidParameter("autolock is not supported by Seaway: there is no unlock key to rotate")
        await swarm.update(version, await json_body(request), rotate)
        return web.Response(status=200)

    async def unlock(request: web.Request) -> web.Response:
        raise InvalidParameter("swarm is not locked: Seaway has no autolock")

    async def unlockkey(request: web.Request) -> web.Response:
        await swarm.require_manager()
        return json_response({"UnlockKey": ""})

    add("POST", "/swarm/init", init)
    add("POST", "/swarm/join", join)
    add("POST", "/swarm/leave", leave)
    add("GET", "/swarm", inspect)
    add("POST", "/swarm/update", update)
    add("POST", "/swarm/unlock", unlock)
    add("GET", "/swarm/unlockkey", unlockkey)
