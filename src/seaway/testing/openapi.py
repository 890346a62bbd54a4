"""Derive Seaway's OpenAPI description from Docker's, keeping only what Seaway serves.

``python -m seaway.testing.openapi [REFERENCE.yaml]`` reads Docker's Engine API
description (Swagger 2.0; default: ``../shared/reference/docker-engine-api-latest.yaml``
next to the repository), keeps the operations of the routes seawayd registers, the
definitions they reference, adds Seaway's own ``/seaway/...`` operations, and writes
``src/seaway/daemon/api/openapi.json``, which seawayd serves at ``GET /openapi.json``.
A unit test checks the committed file is what this derivation gives.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference" / "docker-engine-api-latest.yaml"
OUTPUT = REPO / "src" / "seaway" / "daemon" / "api" / "openapi.json"

_FINDINGS = {
    "type": "object",
    "properties": {
        "Findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "Kind": {"type": "string"},
                    "Subject": {"type": "string"},
                    "Problem": {"type": "string"},
                    "ID": {"type": "string"},
                    "Leftover": {"type": "boolean"},
                },
            },
        }
    },
}
SEAWAY_PATHS: dict[str, dict[str, Any]] = {
    "/seaway/system/doctor": {
        "get": {"summary": "Every difference between store, kernel, IPAM, DNS and processes",
                "operationId": "SeawayDoctor", "responses": {"200": {"description": "findings", "schema": _FINDINGS}}},
    },
    "/seaway/system/gc": {
        "post": {"summary": "Remove Seaway-owned leftovers", "operationId": "SeawayGC",
                 "responses": {"200": {"description": "what was removed and what remains", "schema": _FINDINGS}}},
    },
    "/seaway/system/repair": {
        "post": {"summary": "Reconcile the kernel with the store now", "operationId": "SeawayRepair",
                 "responses": {"200": {"description": "what remains wrong", "schema": _FINDINGS}}},
    },
    # Docker's DELETE /containers/{id} with the link's name, "<parent>/<alias>", as the id
    "/containers/{id}/{alias}": {
        "delete": {"summary": "Remove a legacy link (link=true)", "operationId": "ContainerLinkDelete",
                   "parameters": [{"in": "query", "name": "link", "type": "boolean", "default": False}],
                   "responses": {"204": {"description": "no error"}, "404": {"description": "no such link"}}},
    },
    "/seaway/dns/stats": {
        "get": {"summary": "The embedded resolver's counters", "operationId": "SeawayDNSStats",
                "responses": {"200": {"description": "counters", "schema": {"type": "object"}}}},
    },
}  # fmt: skip


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_routes() -> set[tuple[str, str]]:
    """(method, path shape) of every route seawayd registers (without the /v1.x prefix)."""
    from seaway.daemon.api import server

    routes: set[tuple[str, str]] = set()

    class Recorder:  # stands for the backend: route setup only reads attributes
        def __getattr__(self, name: str) -> Any:
            return Recorder()

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return Recorder()

    def add(method: str, path: str, handler: Any) -> None:
        routes.add((method.lower(), _shape(path)))

    for module in server.ROUTE_MODULES:
        module.setup(add, Recorder())
    return routes


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        out = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            out |= _refs(value)
        return out
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def derive(reference: dict[str, Any], routes: set[tuple[str, str]], api_version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in reference["paths"].items():
        kept = {m: op for m, op in operations.items() if (m, _shape(path)) in routes}
        if kept:
            paths[path] = kept
    for path, operations in SEAWAY_PATHS.items():
        kept = {m: op for m, op in operations.items() if (m, _shape(path)) in routes}
        if kept:
            paths[path] = kept
    needed: set[str] = set()
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo |= _refs(reference["definitions"].get(name, {})) - needed
    return {
        "swagger": "2.0",
        "info": {
            "title": "Seaway Engine API",
            "version": api_version,
            "description": "The part of the Docker Engine API that seawayd implements (derived from "
            "Docker's description, Apache-2.0, Copyright Docker, Inc.), plus Seaway's /seaway/ extensions.",
        },
        "basePath": "/",
        "schemes": ["http"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "definitions": {k: reference["definitions"][k] for k in sorted(needed) if k in reference["definitions"]},
        "paths": dict(sorted(paths.items())),
    }


def main() -> int:
    import yaml

    from seaway.daemon.api.routes_system import API_VERSION

    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REFERENCE
    spec = derive(yaml.safe_load(source.read_text()), served_routes(), API_VERSION)
    OUTPUT.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")
    print(f"{OUTPUT}: {len(spec['paths'])} paths, {len(spec['definitions'])} definitions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
