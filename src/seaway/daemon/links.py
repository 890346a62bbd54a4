"""Legacy links (``--link name[:alias]``), as Docker does them. Pure.

On the default bridge a link gives the linking container an ``/etc/hosts`` line for the
linked one (``IP alias shortID name``) and environment variables: ``<ALIAS>_NAME``,
``<ALIAS>_PORT`` (the lowest exposed port), ``<ALIAS>_PORT_<port>_<PROTO>`` with its
``_ADDR``, ``_PORT`` and ``_PROTO``, and ``<ALIAS>_ENV_<var>`` for the linked container's
environment (except ``HOME`` and ``PATH``). On a user-defined network a link is an alias
only the linking container resolves (by the embedded DNS server).
"""

from __future__ import annotations

from dataclasses import dataclass

from seaway.errors import InvalidParameter


@dataclass(frozen=True, slots=True)
class Link:
    target: str  # the linked container's name (or ID) as given
    alias: str


def parse(text: str) -> Link:
    """``name``, ``name:alias``, or inspect's ``/name:/parent/alias``."""
    target, _, alias = text.partition(":")
    target = target.lstrip("/")
    alias = alias.rsplit("/", 1)[-1] if alias else target
    if not target or not alias:
        raise InvalidParameter(f"invalid link format: {text!r} (expected name or name:alias)")
    return Link(target, alias)


def shown(link: Link, target_name: str, parent_name: str) -> str:
    """``HostConfig.Links`` as Docker shows them: ``/db:/web/database``."""
    return f"/{target_name}:/{parent_name}/{link.alias}"


def hosts_entry(link: Link, ip: str, target_id: str, target_name: str) -> tuple[str, str]:
    names = dict.fromkeys((link.alias, target_id[:12], target_name))
    return ip, " ".join(names)


def _port_key(port: str) -> tuple[int, int, str]:
    number, _, proto = port.partition("/")
    proto = proto or "tcp"
    return (int(number), 0 if proto == "tcp" else 1, proto)


def environment(
    link: Link, parent_name: str, ip: str, exposed_ports: tuple[str, ...], target_env: tuple[str, ...]
) -> list[str]:
    prefix = link.alias.upper().replace("-", "_")
    env = [f"{prefix}_NAME=/{parent_name}/{link.alias}"]
    ports = sorted((_port_key(p) for p in exposed_ports), key=lambda k: (k[0], k[1]))
    if ports:
        number, _, proto = ports[0]
        env.append(f"{prefix}_PORT={proto}://{ip}:{number}")
    for number, _, proto in ports:
        base = f"{prefix}_PORT_{number}_{proto.upper()}"
        env += [
            f"{base}={proto}://{ip}:{number}",
            f"{base}_ADDR={ip}",
            f"{base}_PORT={number}",
            f"{base}_PROTO={proto}",
        ]
    for item in target_env:
        key, sep, value = item.partition("=")
        if sep and key not in ("HOME", "PATH"):
            env.append(f"{prefix}_ENV_{key}={value}")
    return env
