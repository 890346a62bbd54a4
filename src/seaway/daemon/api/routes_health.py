"""Seaway extensions for health: ``/seaway/system/doctor`` (GET), ``/seaway/system/gc``
and ``/seaway/system/repair`` (POST). Each answers ``{"Findings": [...]}`` with one
object per difference (Kind, Subject, Problem, ID, Leftover); gc adds ``"Removed"``."""

from __future__ import annotations

from aiohttp import web

from seaway.daemon import doctor
from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_response
from seaway.invariants import Finding


def _listing(findings: list[Finding]) -> list[dict[str, object]]:
    return [f.as_dict() for f in findings]


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    async def examine(request: web.Request) -> web.Response:
        findings = await backend.run(doctor.examine, backend.engine, backend.containers)
        return json_response({"Findings": _listing(findings)})

    async def gc(request: web.Request) -> web.Response:
        removed, remaining = await backend.run(doctor.collect_garbage, backend.engine, backend.containers)
        return json_response({"Removed": _listing(removed), "Findings": _listing(remaining)})

    async def repair(request: web.Request) -> web.Response:
        remaining = await backend.run(doctor.repair, backend.engine, backend.containers)
        return json_response({"Findings": _listing(remaining)})

    add("GET", "/seaway/system/doctor", examine)
    add("POST", "/seaway/system/gc", gc)
    add("POST", "/seaway/system/repair", repair)
