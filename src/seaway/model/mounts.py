"""A container's mounts: ``HostConfig.Binds``, ``HostConfig.Mounts`` and the anonymous
volumes of ``Config.Volumes``, typed and checked with Docker's texts. Pure.

A bind mounts a host path; a volume mounts a named volume's directory (made when first
used, as Docker's ``local`` driver does; an anonymous one gets a random name at create).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from seaway.errors import InvalidParameter

PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
VOLUME_NAME_RULE = "[a-zA-Z0-9][a-zA-Z0-9_.-]"


@dataclass(frozen=True, slots=True)
class MountSpec:
    """One mount. ``source``: the host path (bind) or the volume's name (volume)."""

    type: str  # bind | volume
    source: str
    target: str
    read_only: bool = False
    #: a bind's propagation as given ("" shows as rprivate)
    propagation: str = ""
    #: the Binds entry's mode text ("ro", "z", ...), shown as inspect's Mode
    mode: str = ""
    #: given in HostConfig.Binds (else Mounts or Config.Volumes)
    from_binds: bool = False
    #: a volume's labels (Mounts' VolumeOptions), used when the mount creates it
    labels: tuple[tuple[str, str], ...] = ()
    anonymous: bool = False
    #: copied from this container's mounts (HostConfig.VolumesFrom)
    from_container: str = ""


def check_volume_name(name: str) -> None:
    if not VOLUME_NAME.match(name):
        raise InvalidParameter(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            f'only "{VOLUME_NAME_RULE}" are allowed. If you intended to pass a host directory, use absolute path'
        )


def parse_bind(text: str) -> MountSpec:
    """``src:dst[:opts]``: src an absolute host path (a bind) or a volume name."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        raise InvalidParameter(f"invalid volume specification: '{text}'")
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if not target.startswith("/"):
        raise InvalidParameter(f"invalid volume specification: '{text}': invalid mount config for type "
                               f'"bind": invalid mount path: \'{target}\' mount path must be absolute')  # fmt: skip
    options = [o for o in mode.split(",") if o]
    propagation = next((o for o in options if o in PROPAGATIONS), "")
    unknown = [
        o
        for o in options
        if o not in (*PROPAGATIONS, "ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated")
    ]
    if unknown or ("ro" in options and "rw" in options):
        raise InvalidParameter(f"invalid mode: {mode}")
    kind = "bind" if source.startswith("/") else "volume"
    if kind == "volume":
        check_volume_name(source)
    return MountSpec(
        type=kind,
        source=source,
        target=target.rstrip("/") or "/",
        read_only="ro" in options,
        propagation=propagation,
        mode=mode,
        from_binds=True,
    )


def check_targets(mounts: list[MountSpec]) -> None:
    seen: set[str] = set()
    for m in mounts:
        if m.target in seen:
            raise InvalidParameter(f"Duplicate mount point: {m.target}")
        seen.add(m.target)


def shown_propagation(m: MountSpec) -> str:
    """Inspect's ``Propagation``: a bind's, rprivate by default; "" for a volume."""
    return (m.propagation or "rprivate") if m.type == "bind" else ""


def parse_volumes_from(text: str) -> tuple[str, str]:
    """``container[:ro|rw]`` -> (container, mode)."""
    name, _, mode = text.partition(":")
    if not name or mode not in ("", "ro", "rw"):
        raise InvalidParameter(f"invalid mode: {mode}")
    return name, mode
