"""Crash-safety torture: seawayd SIGKILLed at random moments of a random workload, many
times; after each restart the doctor must find no difference between store, kernel,
nftables, IPAM, DNS and container processes.

Bounded here (``SEAWAY_TORTURE_KILLS``, default 12, and at most ~150 s); the long run is
``SEAWAY_TORTURE_KILLS=200 ./run tests tests/integration/test_torture.py -s`` or
``python -m seaway.testing.torture --kills 200``. The seed is printed; replay a failure
with ``SEAWAY_TORTURE_SEED=<seed>``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from seaway.testing.daemon import SeawayDaemon
from seaway.testing.torture import Torture, import_image

pytestmark = pytest.mark.netns

KILLS = int(os.environ.get("SEAWAY_TORTURE_KILLS", "12"))
#: the bounded (CI) run stops starting new rounds after this; a long run has no bound
MAX_SECONDS = 150.0 if "SEAWAY_TORTURE_KILLS" not in os.environ else 1e9


def test_sigkilled_daemon_always_comes_back_consistent(fake_host, busybox_tar: Path) -> None:  # type: ignore[no-untyped-def]
    seed = int(os.environ.get("SEAWAY_TORTURE_SEED", random.randrange(1 << 30)))
    print(f"torture seed: {seed} (replay with SEAWAY_TORTURE_SEED={seed})")
    daemon = SeawayDaemon(fake_host, "--repair-interval", "0")
    try:
        daemon.start()
        import_image(daemon, busybox_tar)

        report = Torture(daemon, seed).run(KILLS, MAX_SECONDS)

        print(report.summary())
        assert report.failed_at_kill is None, (
            f"seed {seed}: after kill {report.failed_at_kill} the doctor found {report.differences}\n"
            f"daemon log tail:\n{daemon.log.read_text()[-1500:]}"
        )
        assert report.server_errors == [], f"seed {seed}: {report.server_errors}"
        assert report.kills >= min(KILLS, 3)
        assert report.operations > report.kills
    finally:
        daemon.close()
