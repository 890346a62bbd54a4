"""The FRR processes of one BGP speaker: started, watched, restarted, reconfigured, stopped.

One speaker is ``zebra`` (installs the routes ``bgpd`` learns in the kernel of the
namespace it runs in, and removes them when it stops) and ``bgpd``, with every file of
their own under ``root`` (seawayd: ``<data-root>/bgp``; a lab router:
``<lab dir>/<router>/frr``), never ``/etc/frr`` or ``/run/frr``:

======================  ===========================================================
``bgpd.conf``           rendered by ``seaway.bgp.frrconf``, rewritten on every change
``zebra.conf``          rendered, nearly empty
``zebra.pid``, ...      each daemon's PID file (``-i``)
``zserv.api``           zebra's socket for bgpd (``-z``)
``zebra.vty``, ...      the vty sockets vtysh talks to (``--vty_socket``); no TCP vty (``-P 0``)
``frr.log``             both daemons' log (``--log file:``); their stdout/stderr in ``<daemon>.out``
======================  ===========================================================

The daemons run as root in group ``frrvty`` (FRR refuses a user outside its vty group;
naming the group with ``-g`` makes it one), each started by PID with ``root`` in its
command line: the marker checked before a PID is signalled. They are started in the
caller's namespace, or in ``netns``. FRR keeps a crash-log buffer in the fixed place
``/var/tmp/frr/<daemon>.<pid>/``: it removes it when it exits cleanly, and ``stop``
removes it (by that exact name) when a daemon was killed.

Prefixes are changed in the running bgpd through ``vtysh -c`` lines
(``frrconf.changes``); the file is rewritten first, so a restarted bgpd starts from the
same set.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seaway.bgp import frrconf
from seaway.bgp.frrconf import IPNetwork, SpeakerConfig
from seaway.errors import InternalError, Unsupported
from seaway.kernel import process

log = logging.getLogger(__name__)

FRR_BIN = Path("/usr/lib/frr")
FRR_TMP = Path("/var/tmp/frr")
DAEMONS = ("zebra", "bgpd")
START_TIMEOUT = 20.0
VTY_GROUP = "frrvty"


class Speaker:
    """zebra + bgpd under ``root`` (see the module docstring)."""

    def __init__(self, root: Path, config: SpeakerConfig, netns: str | None = None) -> None:
        self.root = root
        self.config = config
        self.netns = netns
        self._announced: frozenset[IPNetwork] = frozenset()
        self.restarts = 0

    @property
    def announced(self) -> frozenset[IPNetwork]:
        return self._announced

    def _pidfile(self, daemon: str) -> Path:
        return self.root / f"{daemon}.pid"

    def _argv(self, daemon: str) -> list[str]:
        argv = [
            str(FRR_BIN / daemon), "-u", "root", "-g", VTY_GROUP,
            "-f", str(self.root / f"{daemon}.conf"), "-i", str(self._pidfile(daemon)),
            "-z", str(self.root / "zserv.api"), "--vty_socket", str(self.root), "-P", "0",
            "--limit-fds", "1024", "--log", f"file:{self.root / 'frr.log'}",
        ]  # fmt: skip
        return argv

    def start(self, prefixes: Iterable[IPNetwork] = ()) -> None:
        """Start both daemons announcing ``prefixes`` (stopping any left by an earlier run
        first); returns once both answer on their vty sockets."""
        if not (FRR_BIN / "bgpd").exists():
            raise Unsupported(f"BGP needs FRR (Debian package frr): {FRR_BIN / 'bgpd'} is missing")
        self.root.mkdir(parents=True, exist_ok=True)
        self.stop()
        self._announced = frozenset(prefixes)
        self._write()
        for daemon in DAEMONS:
            self._spawn(daemon)

    def _write(self) -> None:
        for name, text in (
            ("zebra.conf", frrconf.render_zebra()),
            ("bgpd.conf", frrconf.render_bgpd(self.config, self._announced)),
        ):
            tmp = self.root / f".{name}.tmp"
            tmp.write_text(text)
            tmp.rename(self.root / name)

    def _spawn(self, daemon: str) -> int:
        self._pidfile(daemon).unlink(missing_ok=True)
        pid = process.spawn(self.netns, self._argv(daemon), self.root / f"{daemon}.out")
        vty = self.root / f"{daemon}.vty"
        deadline = time.monotonic() + START_TIMEOUT
        while not (vty.exists() and self._pidfile(daemon).exists()):
            if process.exited(pid) is not None or process.gone(pid) or time.monotonic() > deadline:
                out = (self.root / f"{daemon}.out").read_text(errors="replace")[-1500:]
                raise InternalError(f"FRR {daemon} did not start: {out.strip() or 'no output'}")
            time.sleep(0.02)
        log.debug("FRR %s started pid=%d root=%s", daemon, pid, self.root)
        return pid

    def pid(self, daemon: str) -> int | None:
        """The PID of ``daemon`` if it runs."""
        try:
            pid = int(self._pidfile(daemon).read_text().strip())
        except (OSError, ValueError):
            return None
        process.exited(pid)  # reap it if it was our child and died
        return pid if process.runs(pid, str(self.root)) else None

    def supervise(self) -> list[str]:
        """Start again whichever daemon has died (bgpd too when zebra did: its routes
        went with zebra); the names started."""
        dead = [d for d in DAEMONS if self.pid(d) is None]
        if "zebra" in dead and "bgpd" not in dead:
            self._stop_one("bgpd")
            dead.append("bgpd")
        for daemon in DAEMONS:
            if daemon in dead:
                self._forget(daemon)
                log.warning("FRR %s is not running; starting it again", daemon)
                self._spawn(daemon)
                self.restarts += 1
        return [d for d in DAEMONS if d in dead]

    def announce(self, prefixes: Iterable[IPNetwork]) -> bool:
        """Announce exactly ``prefixes`` from now on; whether anything changed."""
        new = frozenset(prefixes)
        lines = frrconf.changes(self.config, self._announced, new)
        if new == self._announced:
            return False
        self._announced = new
        self._write()
        if lines:
            try:
                self.vtysh(lines)
            except InternalError as exc:  # bgpd then starts again from the file, which is right
                log.warning("changing FRR's announcements failed (%s); restarting bgpd", exc)
                self._stop_one("bgpd")
        return True

    def vtysh(self, lines: list[str]) -> str:
        """Run ``vtysh -c`` lines against this speaker's daemons; their output."""
        return vtysh(self.root, self.netns, lines)

    def summary(self) -> dict[str, Any]:
        """``show bgp summary json``: per address family, the peers and their state."""
        return summary(self.root, self.netns)

    def stop(self) -> None:
        """Stop bgpd, then zebra (which takes its routes out of the kernel); nothing if
        neither runs. Removes the PID files, sockets and FRR's crash-log buffers."""
        for daemon in reversed(DAEMONS):
            self._stop_one(daemon)
        (self.root / "zserv.api").unlink(missing_ok=True)

    def _stop_one(self, daemon: str) -> None:
        pid = self.pid(daemon)
        if pid is not None:
            process.stop(pid, str(self.root), timeout=10)
        self._forget(daemon, pid)

    def _forget(self, daemon: str, pid: int | None = None) -> None:
        """Remove what a daemon that is gone left: its PID file, vty socket and
        ``/var/tmp/frr/<daemon>.<pid>``."""
        if pid is None:
            try:
                pid = int(self._pidfile(daemon).read_text().strip())
            except (OSError, ValueError):
                pid = None
        if pid is not None:
            shutil.rmtree(FRR_TMP / f"{daemon}.{pid}", ignore_errors=True)
        self._pidfile(daemon).unlink(missing_ok=True)
        (self.root / f"{daemon}.vty").unlink(missing_ok=True)


def vtysh(root: Path, netns: str | None, lines: list[str]) -> str:
    """Run ``vtysh -c`` lines against the speaker under ``root`` (in ``netns``); the output."""
    argv = ["vtysh", "--vty_socket", str(root)]
    for line in lines:
        argv += ["-c", line]
    return process.run(netns, argv, timeout=20).stdout


def summary(root: Path, netns: str | None) -> dict[str, Any]:
    """``show bgp summary json`` of the speaker under ``root``."""
    return json.loads(vtysh(root, netns, ["show bgp summary json"]) or "{}")


def sessions(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per (address family, peer) of a ``show bgp summary json``: peer,
    remote AS, state, prefixes received and sent."""
    found = []
    for family, body in sorted(summary.items()):
        for peer, info in sorted((body.get("peers") or {}).items()):
            found.append(
                {
                    "family": family,
                    "peer": peer,
                    "remote_as": info.get("remoteAs"),
                    "state": info.get("state", "?"),
                    "received": info.get("pfxRcd", 0),
                    "sent": info.get("pfxSnt", 0),
                }
            )
    return found
