"""Apply nftables transactions: one ``nft -j -f -`` run per operation, atomic.

The kernel applies a whole batch or none of it. This module only carries JSON commands
built by ``seaway.firewall.ruleset`` to the kernel and reads back Seaway's own tables;
it never lists or touches anyone else's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

from seaway.errors import KernelError, Unsupported

NFT = "nft"


def available() -> bool:
    return shutil.which(NFT) is not None


def apply(commands: list[dict[str, Any]], what: str) -> None:
    """Run one atomic transaction; raise ``KernelError`` naming ``what`` if it fails."""
    if not commands:
        return
    payload = json.dumps({"nftables": commands})
    try:
        proc = subprocess.run([NFT, "-j", "-f", "-"], input=payload, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise Unsupported("nftables: the nft command is not installed (Debian package nftables)") from exc
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "nft failed"
        raise KernelError("apply nftables transaction", what, None, reason)


def list_table(family: str, name: str) -> dict[str, Any] | None:
    """``nft -j list table FAMILY NAME`` parsed, or None when the table does not exist."""
    proc = subprocess.run([NFT, "-j", "list", "table", family, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def rule_count(family: str, name: str) -> int | None:
    """How many rules a table has (listed tersely: no set elements), or None without it."""
    proc = subprocess.run([NFT, "-j", "-t", "list", "table", family, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return sum(1 for item in json.loads(proc.stdout).get("nftables", []) if "rule" in item)


class Monitor:
    """``nft -j monitor`` in the calling thread's namespace: ruleset changes as they
    happen, one parsed event per iteration. ``close()`` ends it (from any thread)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [NFT, "-j", "monitor"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                yield json.loads(line)
            except ValueError:
                continue

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
