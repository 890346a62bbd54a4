"""Named volumes (Docker's ``local`` driver): a directory per volume that containers
mount, kept across containers until removed.

Layout: ``<data-root>/volumes/<name>/_data`` (what is mounted, as Docker's path) and
``<name>/volume.json`` (labels, options, creation time). Which containers use a volume
is the caller's to know (their specs name it); this store only keeps the directories.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from seaway.errors import InvalidParameter, NotFound
from seaway.model.mounts import check_volume_name
from seaway.runtime.rootfs import tree_size

DRIVER = "local"


@dataclass(slots=True)
class Volume:
    name: str
    created: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False


class VolumeStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """The directory a container mounts."""
        return self.root / name / "_data"

    def list(self) -> list[Volume]:
        out = []
        for meta in sorted(self.root.glob("*/volume.json")):
            try:
                out.append(Volume(**json.loads(meta.read_text())))
            except (OSError, ValueError, TypeError):
                continue
        return out

    def get(self, name: str) -> Volume:
        try:
            return Volume(**json.loads((self.root / name / "volume.json").read_text()))
        except (OSError, ValueError, TypeError):
            raise NotFound(f"get {name}: no such volume") from None

    def ensure(
        self,
        name: str,
        labels: dict[str, str] | None = None,
        options: dict[str, str] | None = None,
        driver: str = DRIVER,
        anonymous: bool = False,
    ) -> tuple[Volume, bool]:
        """The volume, made if it does not exist; True when this call made it."""
        check_volume_name(name)
        if driver not in ("", DRIVER):
            raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')
        if options:
            raise InvalidParameter(f"create {name}: volume options are not supported by Seaway's local driver")
        try:
            return self.get(name), False
        except NotFound:
            pass
        volume = Volume(
            name=name,
            created=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            labels=dict(labels or {}),
            anonymous=anonymous,
        )
        self.path(name).mkdir(parents=True, exist_ok=True)
        (self.root / name / "volume.json").write_text(json.dumps(asdict(volume)))
        return volume, True

    def remove(self, name: str) -> None:
        self.get(name)
        shutil.rmtree(self.root / name, ignore_errors=True)

    def size(self, name: str) -> int:
        return tree_size(self.path(name))
