"""``/volumes``: create, list, inspect, remove, prune (Docker's ``local`` driver)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.errors import Conflict
from seaway.model.ids import new_id
from seaway.runtime.volumes import DRIVER, Volume

FILTERS = ("name", "label", "dangling", "driver")


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    manager = backend.containers
    store = manager.fs.volumes

    def shown(volume: Volume) -> dict[str, Any]:
        return {
            "CreatedAt": volume.created,
            "Driver": DRIVER,
            "Labels": dict(volume.labels) or None,
            "Mountpoint": str(store.path(volume.name)),
            "Name": volume.name,
            "Options": dict(volume.options) or None,
            "Scope": "local",
        }

    def wanted(volume: Volume, filters: dict[str, list[str]]) -> bool:
        if "name" in filters and not any(f.matches(v, volume.name) for v in filters["name"]):
            return False
        if "driver" in filters and DRIVER not in filters["driver"]:
            return False
        if "dangling" in filters:
            dangling = not manager.fs.volume_users(volume.name)
            if not any(dangling == (v.lower() in ("true", "1")) for v in filters["dangling"]):
                return False
        for label in filters.get("label", []):
            k, sep, v = label.partition("=")
            if k not in volume.labels or (sep and volume.labels[k] != v):
                return False
        return True

    async def create(request: web.Request) -> web.Response:
        body = await json_body(request)
        name = f.string(body, "Name") or new_id()
        volume, _ = await backend.run(
            store.ensure, name, f.str_map(body, "Labels"), f.str_map(body, "DriverOpts"), f.string(body, "Driver")
        )
        return json_response(shown(volume), status=201)

    async def list_volumes(request: web.Request) -> web.Response:
        filters = f.filters(request, FILTERS)
        volumes = [shown(v) for v in store.list() if wanted(v, filters)]
        return json_response({"Volumes": volumes, "Warnings": None})

    async def inspect(request: web.Request) -> web.Response:
        return json_response(shown(store.get(request.match_info["name"])))

    async def delete(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        store.get(name)
        users = manager.fs.volume_users(name)
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        await backend.run(store.remove, name)
        return web.Response(status=204)

    async def prune(request: web.Request) -> web.Response:
        filters = f.filters(request, ("label", "label!", "all"))
        every = any(v.lower() in ("true", "1") for v in filters.get("all", []))
        deleted, reclaimed = [], 0
        for volume in store.list():
            if manager.fs.volume_users(volume.name) or not (
                every or volume.anonymous or f.api_version(request) < (1, 42)
            ):
                continue
            if not wanted(volume, {"label": filters.get("label", [])}):
                continue
            if any(wanted(volume, {"label": [v]}) for v in filters.get("label!", [])):
                continue
            reclaimed += store.size(volume.name)
            await backend.run(store.remove, volume.name)
            deleted.append(volume.name)
        return json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    add("POST", "/volumes/create", create)
    add("GET", "/volumes", list_volumes)
    add("POST", "/volumes/prune", prune)
    add("GET", "/volumes/{name}", inspect)
    add("DELETE", "/volumes/{name}", delete)
