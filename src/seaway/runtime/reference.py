"""Image references (``name[:tag]``) as Docker parses them for ``docker tag``. Pure.

The grammar is distribution/reference's: an optional registry host (``host[:port]/``),
path components of lowercase letters and digits joined by ``.``, ``_``, ``__`` or dashes,
and a tag of up to 128 word characters, dots and dashes. Errors carry dockerd's texts.
"""

from __future__ import annotations

import re

from seaway.errors import InvalidParameter

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
_NAME = re.compile(rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")


def parse_tag_target(repo: str, tag: str) -> str:
    """``POST /images/{name}/tag?repo=…&tag=…``: the normalized ``repo:tag`` to add."""
    name, embedded = _split(repo)
    if name == "sha256":
        raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")
    if embedded and tag:
        raise InvalidParameter("invalid reference format")
    tag = tag or embedded or "latest"
    if not _NAME.fullmatch(name):
        if _NAME.fullmatch(name.lower()):
            raise InvalidParameter("invalid reference format: repository name must be lowercase")
        raise InvalidParameter("invalid reference format")
    if not _TAG.fullmatch(tag):
        raise InvalidParameter("invalid tag format")
    return f"{familiar(name)}:{tag}"


def familiar(name: str) -> str:
    """Docker Hub's long form as users see it: ``docker.io/library/alpine`` -> ``alpine``."""
    for hub in ("docker.io/", "index.docker.io/"):
        if name.startswith(hub):
            name = name.removeprefix(hub)
            rest = name.removeprefix("library/")
            return rest if "/" not in rest else name
    return name


def _split(reference: str) -> tuple[str, str]:
    """``host:5000/a/b:tag`` -> (``host:5000/a/b``, ``tag``): a colon after the last ``/``."""
    head, sep, last = reference.rpartition("/")
    if ":" in last:
        bare, tag = last.split(":", 1)
        return (f"{head}{sep}{bare}", tag)
    return (reference, "")


_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


def is_reference(reference: str) -> bool:
    """Whether ``name[:tag][@digest]`` parses as a normalized named reference (what a
    swarm service's image must be)."""
    named, _, digest = reference.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        return False
    name, tag = _split(named)
    if ":" in named.rpartition("/")[2] and not _TAG.fullmatch(tag):
        return False
    return bool(_NAME.fullmatch(name))
