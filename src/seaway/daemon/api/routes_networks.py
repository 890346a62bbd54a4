"""``/networks``: list, inspect, create, connect, disconnect, delete, prune."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from seaway.daemon.api import fields as f
from seaway.daemon.api import schemas
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_body, json_response
from seaway.engine.networks import SWARM_DRIVERS
from seaway.errors import InvalidParameter, NotFound
from seaway.model.network import Network

FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")


def _matches(net: Network, filters: dict[str, list[str]], in_use: bool) -> bool:
    for key, values in filters.items():
        if key == "driver" and net.driver not in values:
            return False
        if key == "id" and not any(f.matches(v, net.id) for v in values):
            return False
        if key == "name" and not any(f.matches(v, net.name) for v in values):
            return False
        if key == "scope" and net.scope not in values:
            return False
        if key == "type":
            kinds = {"builtin" if net.predefined else "custom"}
            if not kinds & set(values):
                return False
        if key == "dangling":
            want = values[0].lower() in ("true", "1")
            if (not in_use and not net.predefined) != want:
                return False
        if key == "label":
            for label in values:
                k, sep, v = label.partition("=")
                if k not in net.labels or (sep and net.labels[k] != v):
                    return False
    return True


def _created_before(net: Network, until: str) -> bool:
    """Docker's ``until``: a Unix timestamp, an RFC 3339 time, or a duration like ``10m``."""
    created = datetime.fromisoformat(net.created.replace("Z", "+00:00"))
    return created.timestamp() < f.until(until)


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    engine = backend.engine

    def visible(net: Network) -> bool:
        """A worker knows a swarm-scoped network only once it has an endpoint on it
        (and always ``ingress``), as Docker's workers; managers know them all."""
        if net.scope != "swarm" or backend.swarm.is_manager or net.ingress:
            return True
        return bool(engine.endpoints_of_network(net.id))

    def network_of(term: str) -> Network:
        net = engine.network(term)
        if not visible(net):
            raise NotFound(f"network {term} not found")
        return net

    async def list_networks(request: web.Request) -> web.Response:
        filters = f.filters(request, FILTERS)
        out = [
            schemas.network_json(n, None)
            for n in engine.networks()
            if visible(n) and _matches(n, filters, bool(engine.endpoints_of_network(n.id)))
        ]
        return json_response(out)

    async def inspect(request: web.Request) -> web.Response:
        net = network_of(request.match_info["id"])
        scope = request.query.get("scope", "")
        if scope and scope != net.scope:  # Docker looks only among networks of that scope (any other word: none)
            raise NotFound(f"network {request.match_info['id']} not found")
        body = schemas.network_json(net, backend.network_containers(net.id))
        if net.scope == "swarm":
            body["Peers"] = backend.network_peers(net)
            lb = backend.network_balancer(net)
            if lb is not None:
                body["Containers"] = {**(body.get("Containers") or {}), lb[0]: lb[1]}
        return json_response({**body, "SeawayStatus": backend.network_status(net)})

    async def create(request: web.Request) -> web.Response:
        spec = schemas.parse_network_create(await json_body(request))
        if backend.swarm.local_state == "active" and (spec.driver in SWARM_DRIVERS or spec.scope == "swarm"):
            record = await backend.swarm.create_network(spec)
            return json_response({"Id": record["ID"], "Warning": ""}, status=201)
        net = await backend.run(engine.create_network, spec)
        return json_response({"Id": net.id, "Warning": ""}, status=201)

    async def connect(request: web.Request) -> web.Response:
        body = await json_body(request)
        net = network_of(request.match_info["id"])
        container = f.string(body, "Container")
        if not container:
            raise InvalidParameter("a container name or ID is required")
        endpoint = schemas.parse_endpoint(f.obj(body, "EndpointConfig"))
        await backend.run(backend.containers.connect, container, net.id, endpoint)
        return web.Response(status=200)

    async def disconnect(request: web.Request) -> web.Response:
        body = await json_body(request)
        net = engine.network(request.match_info["id"])
        container = f.string(body, "Container")
        await backend.run(backend.containers.disconnect, container, net.id, f.boolean(body, "Force"))
        return web.Response(status=200)

    async def delete(request: web.Request) -> web.Response:
        term = request.match_info["id"]
        net = network_of(term)
        if net.ingress and term == net.name and not backend.swarm.is_manager:
            raise NotFound(f"network {term} not found")  # dockerd 20.10's worker finds ingress by ID only
        if net.scope == "swarm":
            await backend.swarm.remove_network(net.id)
            return web.Response(status=204)
        await backend.run(engine.remove_network, net.id)
        await backend.run(backend.containers.forget_network, net.id)
        return web.Response(status=204)

    async def prune(request: web.Request) -> web.Response:
        filters = f.filters(request, ("label", "label!", "until"))
        deleted = []
        for net in engine.networks():
            if net.predefined or net.scope == "swarm" or engine.endpoints_of_network(net.id):
                continue
            if "label" in filters and not _matches(net, {"label": filters["label"]}, False):
                continue
            if "label!" in filters and any(_matches(net, {"label": [v]}, False) for v in filters["label!"]):
                continue
            if "until" in filters and not _created_before(net, filters["until"][0]):
                continue
            try:
                await backend.run(engine.remove_network, net.id)
            except NotFound:
                continue
            await backend.run(backend.containers.forget_network, net.id)
            deleted.append(net.name)
        return json_response({"NetworksDeleted": deleted})

    add("GET", "/networks", list_networks)
    add("GET", "/networks/{id}", inspect)
    add("POST", "/networks/create", create)
    add("POST", "/networks/prune", prune)
    add("POST", "/networks/{id}/connect", connect)
    add("POST", "/networks/{id}/disconnect", disconnect)
    add("DELETE", "/networks/{id}", delete)
