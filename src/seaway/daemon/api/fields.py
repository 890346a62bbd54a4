"""Typed reads of Docker JSON bodies and query parameters: a wrong type is a 400 that
names the field, never a crash."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from seaway.errors import InvalidParameter


def _wrong(key: str, expected: str, value: Any) -> InvalidParameter:
    return InvalidParameter(f"json: cannot unmarshal {type(value).__name__} into field {key} of type {expected}")


def string(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(key, "string", value)
    return value


def boolean(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(key, "bool", value)
    return value


def integer(body: dict[str, Any], key: str, default: int = 0) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(key, "int", value)
    return value


def obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(key, "object", value)
    return value


def str_map(body: dict[str, Any], key: str) -> dict[str, str]:
    value = obj(body, key)
    for k, v in value.items():
        if not isinstance(v, str):
            raise _wrong(f"{key}.{k}", "string", v)
    return dict(value)


def str_list(body: dict[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if isinstance(value, str):  # Docker accepts a string for Cmd/Entrypoint
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong(key, "[]string", value)
    return tuple(value)


def query_bool(request: web.Request, key: str, default: bool = False) -> bool:
    value = request.query.get(key)
    if value is None or value == "":
        return default
    return value.lower() not in ("0", "false", "no")


def query_int(request: web.Request, key: str, default: int | None = None) -> int | None:
    value = request.query.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(f"invalid value for {key}: {value!r} is not a number") from None


#: the API version of a request without a ``/vX.Y`` prefix: the newest Seaway speaks
LATEST = (9999, 0)


def api_version(request: web.Request) -> tuple[int, int]:
    """The version the client negotiated (its ``/vX.Y/`` prefix), for answers whose shape
    changed between API versions."""
    raw = request.match_info.get("version")
    if not raw:
        return LATEST
    major, _, minor = raw.partition(".")
    return (int(major), int(minor))


def matches(pattern: str, value: str) -> bool:
    """Docker's filter match for names (and network IDs): the pattern is a regular
    expression searched anywhere in the value (``^x$`` anchors it); an invalid one
    matches nothing, as in dockerd."""
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def filters(request: web.Request, accepted: tuple[str, ...] | None) -> dict[str, list[str]]:
    """Docker's ``filters`` query parameter: ``{"k": {"v": true}}`` or ``{"k": ["v"]}``
    (``accepted`` None: every name, for callers that check them with their own text)."""
    raw = request.query.get("filters")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise InvalidParameter(f"invalid filter: {raw}") from None
    if not isinstance(parsed, dict):
        raise InvalidParameter(f"invalid filter: {raw}")
    out: dict[str, list[str]] = {}
    for key, value in parsed.items():
        if accepted is not None and key not in accepted:
            raise InvalidParameter(f"invalid filter '{key}'")
        if isinstance(value, dict):
            out[key] = [k for k, v in value.items() if v]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            raise InvalidParameter(f"invalid filter: {raw}")
    return out
