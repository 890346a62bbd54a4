"""Who owns a kernel object Seaway made: the marks, and how to read them. Pure.

Several reconcilers share a host: the local engine (owner ``local``), and later the
cluster's agent (overlay and load-balancer namespaces and links). Each removes only what
carries its own owner, so one's start-up never deletes the other's objects.

* Links carry an alias (``IFLA_IFALIAS``) ``seaway:<owner>:<kind>:<id>``, for example
  ``seaway:local:net:<network id>``, ``seaway:local:ep:<endpoint id>``,
  ``seaway:local:vlan:eth0.10``. The older form without an owner,
  ``seaway:<kind>:<id>``, is read as owner ``local`` (links made before owners existed).
* Namespace files in ``<exec-root>/netns/`` are named ``<owner>-<name>`` for any owner
  but the local engine, whose files have bare names: a sandbox's ``<id12>`` (what Docker
  shows as ``SandboxKey``) and ``default`` (the host's own namespace, pinned).
* nftables tables: the local engine's are named ``seaway``; another owner's
  ``seaway-<owner>`` (the lab's fault table is ``seaway-lab``).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "seaway:"
LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Mark:
    owner: str
    kind: str
    object_id: str


def mark(kind: str, object_id: str, owner: str = LOCAL) -> str:
    """The alias of a link owner ``owner`` made for object ``kind:object_id``."""
    return f"{PREFIX}{owner}:{kind}:{object_id}"


def parse(alias: str | None) -> Mark | None:
    """The mark in a link's alias; None when the link is not Seaway's."""
    if not alias or not alias.startswith(PREFIX):
        return None
    parts = alias[len(PREFIX) :].split(":", 2)
    if len(parts) == 2:  # the form without an owner
        return Mark(LOCAL, parts[0], parts[1])
    if len(parts) == 3:
        return Mark(*parts)
    return None


def owned_by(alias: str | None, owner: str) -> bool:
    found = parse(alias)
    return found is not None and found.owner == owner


def netns_owner(file_name: str) -> str:
    """The owner of a namespace file in Seaway's netns directory."""
    owner, dash, _ = file_name.partition("-")
    return owner if dash else LOCAL


def netns_file(owner: str, name: str) -> str:
    """The file name under which ``owner`` pins a namespace of its own."""
    return name if owner == LOCAL else f"{owner}-{name}"
