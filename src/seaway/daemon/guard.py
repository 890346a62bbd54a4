"""The firewall guard: puts Seaway's rules back when someone removes them.

``nft flush ruleset``, a firewall reload (firewalld, ``systemctl restart nftables``) or
a hand-deleted chain drops Seaway's tables, and with them published ports, masquerade
and isolation. The guard follows the kernel's ruleset events (nftables netlink notifications); when a
table, chain, set or rule of Seaway's is deleted it waits a moment for the rest of the
batch, checks whether the tables are still whole, and if not rebuilds them in one
transaction from what the engine knows. Containers are not touched.

Seaway's own transactions also delete rules (a start-up rebuild flushes its chains);
the check after the event finds the tables whole and does nothing.
"""

from __future__ import annotations

import logging
import threading
import time

from seaway.engine import Engine
from seaway.errors import SeawayError
from seaway.firewall import naming
from seaway.kernel import nft

log = logging.getLogger(__name__)

SETTLE = 0.05  # seconds to let the rest of a batch of events arrive before checking


def _is_ours(event: nft.Event) -> bool:
    return event.kind == "overrun" or (event.verb == "delete" and event.table == naming.TABLE)


def _is_foreign(event: nft.Event) -> bool:
    return event.kind == "overrun" or event.table != naming.TABLE


class FirewallGuard:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.restores = 0
        self._monitor: nft.Monitor | None = None
        self._thread: threading.Thread | None = None
        self._due = threading.Event()
        self._copy_due = False
        self._stopping = threading.Event()
        self._checker: threading.Thread | None = None

    def start(self) -> None:
        """Start following events (in the calling thread's namespace: the host's)."""
        self._monitor = nft.Monitor()
        self._thread = threading.Thread(target=self._follow, name="firewall-guard", daemon=True)
        self._thread.start()
        self._checker = threading.Thread(target=self._check_loop, name="firewall-check", daemon=True)
        self._checker.start()
        # anything removed between the engine's start-up rebuild and now
        self._due.set()

    def _follow(self) -> None:
        assert self._monitor is not None
        for event in self._monitor:
            if _is_ours(event):
                self._due.set()
            if _is_foreign(event):  # the host's rules changed: host-firewall mode follows
                log.debug("ruleset event in another table: %s", event)
                self._copy_due = True
                self._due.set()

    def _check_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._due.wait(timeout=1.0):
                continue
            time.sleep(SETTLE)
            self._due.clear()
            if self._stopping.is_set():
                return
            if not self.check() and self._copy_due:
                self._copy_due = False
                try:
                    mirror = self.engine.refresh_host_firewall()
                    log.debug("host input rules copied: %d rules", len(mirror.rules))
                except SeawayError as exc:
                    log.error("could not copy the host's input rules: %s", exc)

    def check(self) -> bool:
        """Restore the tables if they are not whole; True when it restored them."""
        try:
            if self.engine.firewall_intact():
                return False
            started = time.monotonic()
            self.engine.restore_firewall()
        except SeawayError as exc:
            log.error("could not restore Seaway's firewall rules: %s", exc)
            return False
        self.restores += 1
        log.warning(
            "Seaway's nftables rules were removed (flush or firewall reload); restored in %.0f ms",
            (time.monotonic() - started) * 1000,
        )
        return True

    def stop(self) -> None:
        self._stopping.set()
        self._due.set()
        if self._monitor is not None:
            self._monitor.close()
        for thread in (self._thread, self._checker):
            if thread is not None:
                thread.join(timeout=5)
