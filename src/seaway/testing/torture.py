"""The crash-safety torture: a seeded random workload against a seawayd that is SIGKILLed
at random moments and started again; after every restart the invariant checker
(``/seaway/system/doctor``) must find no difference.

``Torture(daemon, seed).run(kills)`` returns a ``Report``. The workload mixes, through
docker-py: create and remove networks (ICC on or off, internal or not), run and remove
containers (with and without a restart policy), connect, disconnect, restart and stop
them. ``OPERATIONS`` is the table of what it does; ``run_container`` asks for
published ports on half the containers it runs (``publish_ports``).

On demand: ``python -m seaway.testing.torture --kills 200 [--seed N]`` builds its own
fake host (a sandbox namespace), imports busybox, and prints the report.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seaway.testing.daemon import SeawayDaemon

IMAGE = "busybox"
MAX_NETWORKS = 5
MAX_CONTAINERS = 10
PREFIX = "t"  # names the workload gives: t-net-N, t-ctr-N


@dataclass
class Report:
    seed: int
    kills: int = 0  # SIGKILLs survived (each followed by a clean doctor)
    operations: int = 0
    refused: int = 0  # 4xx answers: the workload asked for something invalid (expected)
    server_errors: list[str] = field(default_factory=list)  # 5xx answers (bugs)
    differences: list[dict[str, Any]] = field(default_factory=list)  # the doctor's findings
    failed_at_kill: int | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        state = "ok" if self.failed_at_kill is None and not self.server_errors else "FAILED"
        return (
            f"torture {state}: seed {self.seed}, {self.kills} kills survived, {self.operations} operations "
            f"({self.refused} refused), {len(self.server_errors)} server errors, {self.seconds:.0f} s"
        )


class Torture:
    def __init__(self, daemon: SeawayDaemon, seed: int, *, publish_ports: bool = True) -> None:
        self.daemon = daemon
        self.seed = seed
        self.rng = random.Random(seed)
        self.report = Report(seed)
        self.publish_ports = publish_ports
        self._counter = 0
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- the workload

    def _name(self, kind: str) -> str:
        self._counter += 1
        return f"{PREFIX}-{kind}-{self._counter}"

    def _networks(self, client: Any) -> list[Any]:
        return [n for n in client.networks.list() if n.name.startswith(f"{PREFIX}-")]

    def _containers(self, client: Any) -> list[Any]:
        return client.containers.list(all=True)

    def create_network(self, client: Any) -> None:
        if len(self._networks(client)) >= MAX_NETWORKS:
            return
        options = {}
        if self.rng.random() < 0.25:
            options["com.docker.network.bridge.enable_icc"] = "false"
        client.networks.create(self._name("net"), driver="bridge", internal=self.rng.random() < 0.15, options=options)

    def remove_network(self, client: Any) -> None:
        nets = self._networks(client)
        if nets:
            self.rng.choice(nets).remove()

    def run_container(self, client: Any) -> None:
        if len(self._containers(client)) >= MAX_CONTAINERS:
            return
        nets = [n.name for n in self._networks(client)] + ["bridge"]
        kwargs: dict[str, Any] = {
            "detach": True,
            "name": self._name("ctr"),
            "network": self.rng.choice(nets),
            "restart_policy": {"Name": self.rng.choice(["no", "always", "unless-stopped"])},
        }
        if self.publish_ports and self.rng.random() < 0.5:
            kwargs["ports"] = self.rng.choice(
                [{"80/tcp": None}, {"53/udp": ("127.0.0.1", None)}, {"8080/tcp": None, "9090/tcp": None}]
            )
        client.containers.run(IMAGE, ["sleep", "600"], **kwargs)

    def remove_container(self, client: Any) -> None:
        ctrs = self._containers(client)
        if ctrs:
            self.rng.choice(ctrs).remove(force=True)

    def connect(self, client: Any) -> None:
        ctrs, nets = self._containers(client), self._networks(client)
        if ctrs and nets:
            self.rng.choice(nets).connect(self.rng.choice(ctrs))

    def disconnect(self, client: Any) -> None:
        ctrs = self._containers(client)
        if not ctrs:
            return
        ctr = self.rng.choice(ctrs)
        names = [n for n in ctr.attrs["NetworkSettings"]["Networks"] if n.startswith(f"{PREFIX}-")]
        if names:
            client.networks.get(self.rng.choice(names)).disconnect(ctr)

    def restart(self, client: Any) -> None:
        ctrs = self._containers(client)
        if ctrs:
            self.rng.choice(ctrs).restart(timeout=0)

    def stop_or_start(self, client: Any) -> None:
        ctrs = self._containers(client)
        if not ctrs:
            return
        ctr = self.rng.choice(ctrs)
        if ctr.status == "running":
            ctr.stop(timeout=0)
        else:
            ctr.start()

    #: (weight, operation)
    OPERATIONS: tuple[tuple[int, Callable[[Torture, Any], None]], ...] = (
        (3, create_network),
        (1, remove_network),
        (5, run_container),
        (3, remove_container),
        (2, connect),
        (2, disconnect),
        (2, restart),
        (1, stop_or_start),
    )

    def step(self, client: Any) -> None:
        import docker.errors
        import requests.exceptions

        weights = [w for w, _ in self.OPERATIONS]
        op = self.rng.choices([o for _, o in self.OPERATIONS], weights)[0]
        try:
            op(self, client)
        except docker.errors.APIError as exc:
            if exc.is_server_error() and self.daemon.proc is not None and self.daemon.proc.poll() is None:
                self.report.server_errors.append(f"{op.__name__}: {exc}")
            else:
                self.report.refused += 1
        except (requests.exceptions.RequestException, docker.errors.DockerException, OSError):
            pass  # the daemon died under the request: the point of the exercise
        self.report.operations += 1

    # ---------------------------------------------------------------- kill, restart, check

    def _work_until_dead(self, client: Any) -> None:
        proc = self.daemon.proc
        assert proc is not None
        while proc.poll() is None:
            self.step(client)

    def run(self, kills: int, max_seconds: float = 1e9) -> Report:
        start = time.monotonic()
        for kill in range(1, kills + 1):
            if time.monotonic() - start > max_seconds:
                break
            client = self.daemon.client()
            delay = self.rng.uniform(0.05, 2.0)
            timer = threading.Timer(delay, self.daemon.kill)
            timer.start()
            try:
                self._work_until_dead(client)
            finally:
                timer.cancel()
                client.close()
            self.daemon.kill()
            self.daemon.start()
            status, body = self.daemon.request("GET", "/seaway/system/doctor")
            findings = body["Findings"] if status == 200 else [{"Problem": f"doctor answered {status}: {body}"}]
            if findings:
                self.report.differences = findings
                self.report.failed_at_kill = kill
                break
            self.report.kills = kill
        self.report.seconds = time.monotonic() - start
        return self.report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    args = parser.parse_args()
    from seaway.lab.fakehost import FakeHost
    from seaway.testing.images import busybox_rootfs_tar

    print(f"torture seed {args.seed} (replay with --seed {args.seed})", flush=True)
    host = FakeHost()
    daemon = SeawayDaemon(host, "--repair-interval", "0")
    try:
        daemon.start()
        tar = busybox_rootfs_tar(host.root / "busybox.tar")
        import_image(daemon, tar)
        report = Torture(daemon, args.seed).run(args.kills)
        print(report.summary())
        for finding in report.differences:
            print(f"  {finding}")
        for error in report.server_errors:
            print(f"  server error: {error}")
        return 0 if report.failed_at_kill is None and not report.server_errors else 1
    finally:
        daemon.close()
        host.close()


def import_image(daemon: SeawayDaemon, tar: Path) -> None:
    client = daemon.client()
    try:
        with tar.open("rb") as fh:
            client.api.import_image(src=fh.read(), repository=IMAGE)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
