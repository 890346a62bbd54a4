"""The aiohttp application: every route under ``/…`` and ``/v<version>/…``, one error
middleware, unknown paths answered 501."""

from __future__ import annotations

from aiohttp import web

from seaway.daemon.api import (
    routes_containers,
    routes_exec,
    routes_health,
    routes_images,
    routes_networks,
    routes_nodes,
    routes_openapi,
    routes_services,
    routes_swarm,
    routes_system,
    routes_volumes,
)
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import errors_middleware

#: every module that registers routes (also read to derive the OpenAPI description)
ROUTE_MODULES = (
    routes_system,
    routes_networks,
    routes_containers,
    routes_exec,
    routes_images,
    routes_health,
    routes_swarm,
    routes_nodes,
    routes_services,
    routes_volumes,
    routes_openapi,
)
MAX_BODY = 1 << 20  # JSON bodies; image uploads are streamed


def build_app(backend: Backend) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)

    def add(method: str, path: str, handler) -> None:  # type: ignore[no-untyped-def]
        app.router.add_route(method, path, handler)
        app.router.add_route(method, r"/v{version:[0-9]+\.[0-9]+}" + path, handler)

    for module in ROUTE_MODULES:
        module.setup(add, backend)
    return app
