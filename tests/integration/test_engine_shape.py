"""What the engine's shape promises users: reads never wait for kernel work (a repair
holding the engine busy does not stall ``GET /networks`` or the embedded DNS), start-up
reconciliation removes only the local engine's own stale objects, and a driver the
engine was never told about plugs in through the open contract."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import pytest

from seaway.engine import Engine
from seaway.kernel import netns
from seaway.kernel.sandbox import Interface
from seaway.lab.fakehost import FakeHost, in_ns
from seaway.model.endpoint import Endpoint
from seaway.model.expected import NOTHING, Expected
from seaway.model.network import DriverOptions, Network, NetworkSpec
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def ok(daemon: SeawayDaemon, *args: str, timeout: float = 60) -> str:
    result = daemon.docker(*args, timeout=timeout)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_reads_and_dns_answer_while_a_repair_holds_the_engine(fake_host: FakeHost, busybox_tar: Path) -> None:
    """A repair that has many endpoints to remake holds the engine for a while; during
    it, ``GET /networks`` and a DNS query from a container are answered (the old engine
    made both wait on its lock, on the event loop the resolver shares)."""
    daemon = SeawayDaemon(fake_host, "--repair-interval", "0")
    try:
        daemon.start()
        ok(daemon, "import", str(busybox_tar), "busybox")
        ok(daemon, "network", "create", "--subnet", "10.73.0.0/24", "busy")
        names = [f"c{i}" for i in range(24)]
        for name in names:
            ok(daemon, "run", "-d", "--name", name, "--network", "busy", "busybox", "sleep", "600")
        keys = {n: json.loads(ok(daemon, "inspect", n))[0]["NetworkSettings"]["SandboxKey"] for n in names}
        # damage every endpoint by hand: the repair has to remake 24 of them
        for name in names:
            in_ns(keys[name], "ip", "link", "del", "eth0", check=True)

        timeline: dict[str, tuple[float, float]] = {}

        def repair() -> None:
            start = time.monotonic()
            status, _ = daemon.request("POST", "/seaway/system/repair")
            timeline["repair"] = (start, time.monotonic())
            assert status == 200

        reads: list[tuple[str, float, float]] = []
        worker = threading.Thread(target=repair)
        worker.start()
        while worker.is_alive():
            start = time.monotonic()
            status, body = daemon.request("GET", "/networks")
            assert status == 200 and any(n["Name"] == "busy" for n in body)
            reads.append(("api", start, time.monotonic()))
            start = time.monotonic()
            answer = in_ns(keys["c0"], "busybox", "nslookup", "c1", "127.0.0.11", timeout=10)
            if answer.returncode == 0 and "10.73.0." in answer.stdout:
                reads.append(("dns", start, time.monotonic()))
        worker.join()

        begin, end = timeline["repair"]
        length = end - begin
        assert length > 0.3, f"the repair took {length:.2f} s: too short to show anything; give it more to do"
        inside = [(kind, s, e) for kind, s, e in reads if s > begin + 0.1 * length and e < end - 0.1 * length]
        kinds = {kind for kind, _, _ in inside}
        assert kinds == {"api", "dns"}, f"answered during the {length:.2f} s repair: {inside} (all reads: {reads})"
        # and the repair did its job
        for name in names:
            assert in_ns(keys[name], "ip", "link", "show", "eth0").returncode == 0
    finally:
        daemon.close()


def test_start_up_reconcile_removes_only_the_local_engines_stale_objects(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory()
    netns_dir = engine.config.netns_dir
    engine.close()
    # another owner's objects (what the cluster agent will make) ...
    foreign_ns = netns_dir / "cluster-lb-0123456789ab"
    netns.create(foreign_ns)
    in_ns(fake_host.host_ns, "ip", "link", "add", "lbveth0", "type", "veth", "peer", "name", "lbveth1", check=True)
    in_ns(fake_host.host_ns, "ip", "link", "set", "lbveth0", "alias", "seaway:cluster:lb:0123456789ab", check=True)
    # ... and the local engine's own stale ones, in today's and in the older form
    stale_ns = netns_dir / "00112233aabb"
    netns.create(stale_ns)
    for name, alias in (("oldveth0", "seaway:local:ep:" + "f" * 64), ("olderveth0", "seaway:ep:" + "e" * 64)):
        in_ns(fake_host.host_ns, "ip", "link", "add", name, "type", "veth", "peer", "name", name[:-1] + "1", check=True)
        in_ns(fake_host.host_ns, "ip", "link", "set", name, "alias", alias, check=True)

    engine = engine_factory()  # start-up reconcile

    assert netns.is_pinned(foreign_ns), "another owner's namespace was removed"
    assert in_ns(fake_host.host_ns, "ip", "link", "show", "lbveth0").returncode == 0, "another owner's link was removed"
    assert not stale_ns.exists(), "the local engine's stale namespace survived"
    for name in ("oldveth0", "olderveth0"):
        assert in_ns(fake_host.host_ns, "ip", "link", "show", name).returncode != 0, f"stale link {name} survived"
    netns.remove(foreign_ns)
    in_ns(fake_host.host_ns, "ip", "link", "del", "lbveth0", check=True)


class LazyDriver:
    """A driver the engine was never told about: no kernel objects of its own, made on
    the first local endpoint and removed with the last (as an overlay will be)."""

    name = "lazytest"
    has_interfaces = False
    on_host_segment = False
    single_instance = False
    lazy = True
    own_mac = False
    host_veth = False

    def __init__(self) -> None:
        self.calls: list[str] = []

    def parse_options(self, spec: NetworkSpec, network_id: str) -> DriverOptions | None:
        return None

    def check_capacity(self, net: Network, members: int) -> None:
        return None

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        return None

    def plan_subnets(self, net: Network) -> Network:
        return net

    def names_members(self, net: Network) -> bool:
        return False

    def interface_prefix(self, net: Network) -> str:
        return ""

    def create_network(self, net: Network, undo: ExitStack) -> None:
        self.calls.append("create")

    def delete_network(self, net: Network) -> None:
        self.calls.append("delete")

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface | None:
        self.calls.append("join")
        return None

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None:
        self.calls.append("leave")

    def expect_network(self, net: Network) -> Expected:
        return NOTHING

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        return NOTHING


def test_a_new_driver_plugs_in_and_a_lazy_network_lives_with_its_local_endpoints(engine: Engine) -> None:
    driver = LazyDriver()
    engine.register_driver(driver)
    engine.create_network(NetworkSpec(name="lazy", driver="lazytest"))
    assert driver.calls == []  # nothing made before a local endpoint needs it

    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "lazy")
    engine.connect(b.id, "lazy")
    assert driver.calls == ["create", "join", "join"]
    engine.disconnect(a.id, "lazy")
    engine.disconnect(b.id, "lazy")
    assert driver.calls[-3:] == ["leave", "leave", "delete"]
    engine.remove_network("lazy")
    assert driver.calls.count("delete") == 1


def test_the_callers_membership_record_and_the_endpoint_change_together(engine: Engine, fake_host: FakeHost) -> None:
    """The container manager's record of a membership is written in the engine's own
    transaction: when it cannot be written, the endpoint does not exist either (no
    alignment step after a crash is needed: the two are never apart)."""
    engine.create_network(NetworkSpec(name="n"))
    sb = engine.create_sandbox("c")

    def failing_record() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        engine.connect(sb.id, "n", record=failing_record)
    assert engine.endpoints_of_sandbox(sb.id) == []
    assert [ep for ep, _ in engine.store.endpoints()] == []
    assert in_ns(sb.key, "ip", "link", "show", "eth0").returncode != 0
    assert engine.leases()[engine.network("n").id] == frozenset()

    written: list[str] = []
    ep = engine.connect(sb.id, "n", record=lambda: written.append("joined"))
    assert written == ["joined"] and [e.id for e, state in engine.store.endpoints() if state == "ready"] == [ep.id]
    engine.disconnect(sb.id, "n", record=lambda: written.append("left"))
    assert written == ["joined", "left"] and engine.store.endpoints() == []
