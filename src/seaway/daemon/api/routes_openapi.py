"""``GET /openapi.json``: the OpenAPI (Swagger 2.0) description of the API seawayd
implements, derived from Docker's (``python -m seaway.testing.openapi`` regenerates it)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from seaway.daemon.api.backend import Backend

SPEC = Path(__file__).with_name("openapi.json")


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    body = SPEC.read_bytes() if SPEC.exists() else json.dumps({"swagger": "2.0", "paths": {}}).encode()

    async def describe(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": "application/json"})

    add("GET", "/openapi.json", describe)
