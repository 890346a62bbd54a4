"""Reading docker-style flag values: ``key=value`` pairs, ``--filter``, ``--restart``,
``REPO[:TAG]``. Pure; a bad value raises ``UsageError`` naming the flag."""

from __future__ import annotations

from collections.abc import Iterable

from seaway.cli.output import UsageError


def key_values(items: Iterable[str] | None, flag: str, need_value: bool = True) -> dict[str, str]:
    """``["k=v", …]`` -> ``{"k": "v"}``; ``--label k`` alone means an empty value."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not key or (need_value and not sep):
            raise UsageError(f"invalid argument {item!r} for {flag}: expected key=value")
        out[key] = value
    return out


def filters(items: Iterable[str] | None) -> dict[str, dict[str, bool]]:
    """``--filter k=v`` (repeatable) -> the daemon's ``{"k": {"v": true}}``."""
    out: dict[str, dict[str, bool]] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid argument {item!r} for --filter: expected key=value")
        out.setdefault(key.strip().lower(), {})[value] = True
    return out


def restart_policy(value: str | None) -> dict[str, object]:
    """``no``, ``always``, ``unless-stopped``, ``on-failure[:N]`` -> Docker's RestartPolicy."""
    if not value:
        return {"Name": "no", "MaximumRetryCount": 0}
    name, sep, count = value.partition(":")
    if sep:
        if name != "on-failure":
            raise UsageError(f"invalid restart policy {value!r}: only on-failure takes a retry count")
        try:
            return {"Name": name, "MaximumRetryCount": int(count)}
        except ValueError:
            raise UsageError(f"invalid restart policy {value!r}: {count!r} is not a number") from None
    return {"Name": name, "MaximumRetryCount": 0}


def reference(value: str) -> tuple[str, str]:
    """``REPO[:TAG]`` -> (repo, tag); a colon inside a registry host:port is not a tag."""
    repo, sep, tag = value.rpartition(":")
    if not sep or "/" in tag:
        return value, ""
    return repo, tag
