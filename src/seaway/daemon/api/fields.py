"""Typed reads of Docker JSON bodies and query parameters: a wrong type is a 400 that
names the field, never a crash."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from seaway.errors import InvalidParameter


def _wrong(key: str, expected: str, value: Any) -> InvalidParameter:
    return InvalidParameter(f"json: cannot unmarshal {type(value).__name__} into field {key} of type {expected}")


def _get(body: dict[str, Any], key: str) -> Any:
    """``body[key]``, matched without regard to case when not exact, as Go's JSON decoder
    matches Docker's fields (docker-py sends ``CPURealtimePeriod`` for ``CpuRealtimePeriod``)."""
    if key in body:
        return body[key]
    lowered = key.lower()
    return next((v for k, v in body.items() if k.lower() == lowered), None)


def string(body: dict[str, Any], key: str, default: str = "") -> str:
    value = _get(body, key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _wrong(key, "string", value)
    return value


def boolean(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = _get(body, key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong(key, "bool", value)
    return value


def integer(body: dict[str, Any], key: str, default: int = 0) -> int:
    value = _get(body, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(key, "int", value)
    return value


def obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = _get(body, key)
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
    value = _get(body, key)
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


def until(text: str, key: str = "until") -> float:
    """Docker's time arguments (``until``, ``since``): a Unix timestamp (with a fraction),
    an RFC 3339 time, or a duration before now like ``10m``; as a Unix timestamp."""
    now = datetime.now(UTC)
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
            return (now - timedelta(seconds=float(text[:-1]) * units[text[-1]])).timestamp()
        if text.replace(".", "", 1).isdigit():
            return float(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidParameter(f"invalid filter '{key}={text}'") from None


def given(body: dict[str, Any], key: str) -> bool:
    """The body sets ``key`` (to something other than null), matched as ``_get`` does."""
    return _get(body, key) is not None
