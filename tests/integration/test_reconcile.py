"""Start-up reconciliation: crashes, hand-made damage, stale and foreign objects."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from tests.integration import checks

from seaway.engine import Engine
from seaway.kernel import links, netns
from seaway.lab.fakehost import OUTSIDE_ADDR, FakeHost, in_ns, ping
from seaway.model.network import NetworkSpec

pytestmark = pytest.mark.netns


def _run_workload_and_kill(host: FakeHost, after: int, count: int) -> list[tuple[str, str]]:
    """Attach sandboxes in a separate engine process; SIGKILL it after ``after`` attaches
    (while it is doing the next one). Returns the (sandbox id, address) pairs completed."""
    cmd = [
        "nsenter",
        f"--net={host.host_ns}",
        sys.executable,
        "-m",
        "seaway.testing.workload",
        "--data-root",
        str(host.data_root),
        "--exec-root",
        str(host.exec_root),
        "--network",
        "work",
        "--count",
        str(count),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    done: list[tuple[str, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("attached"):
                _, sandbox_id, address = line.split()
                done.append((sandbox_id, address))
                if len(done) >= after:
                    break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    return done


def _assert_store_and_kernel_agree(engine: Engine, host: FakeHost) -> None:
    endpoints = [ep for sb in engine.sandboxes() for ep in engine.endpoints_of_sandbox(sb.id)]
    addresses = [ep.ipv4 for ep in endpoints if ep.ipv4 is not None]
    assert len(addresses) == len(set(addresses)), "an address was given twice"
    veths = {name for name in checks.host_links(host) if name.startswith("veth")}
    assert veths == {ep.host_ifname for ep in endpoints if ep.host_ifname}
    expected_keys = {os.path.basename(sb.key) for sb in engine.sandboxes()} | {"default"}
    assert {p.name for p in (host.exec_root / "netns").iterdir()} == expected_keys
    for ep in endpoints:
        sb = engine.sandbox(ep.sandbox_id)
        if ep.ifname:
            assert checks.addresses_in(sb.key, ep.ifname) == [f"{ep.ipv4}/{ep.ipv4_prefixlen}"]


def test_engine_killed_during_attaches_recovers_with_nothing_leaked(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    seed = int(os.environ.get("SEAWAY_CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash test seed: {seed} (replay with SEAWAY_CRASH_SEED={seed})")
    rng = random.Random(seed)
    completed: list[tuple[str, str]] = []
    for _ in range(3):
        completed += _run_workload_and_kill(fake_host, after=rng.randrange(2, 12), count=40)

    engine = engine_factory()

    _assert_store_and_kernel_agree(engine, fake_host)
    known = {sb.id for sb in engine.sandboxes()}
    assert {sid for sid, _ in completed} <= known, "a completed attach was lost"
    for sandbox_id, address in completed:
        ep = engine.endpoints_of_sandbox(sandbox_id)[0]
        assert str(ep.ipv4) == address
    first, last = engine.sandbox(completed[0][0]), completed[-1][1]
    assert ping(first.key, last)
    assert ping(first.key, OUTSIDE_ADDR)
    fresh = engine.connect(engine.create_sandbox("after").id, "work")
    assert str(fresh.ipv4) not in {a for _, a in completed}


def test_bridge_deleted_by_hand_is_rebuilt_with_its_endpoints_on_restart(
    engine_factory,
    fake_host: FakeHost,  # type: ignore[no-untyped-def]
) -> None:
    engine = engine_factory()
    net = engine.create_network(NetworkSpec(name="n1"))
    s1, s2 = engine.create_sandbox("s1"), engine.create_sandbox("s2")
    engine.connect(s1.id, "n1")
    ep2 = engine.connect(s2.id, "n1")
    engine.close()
    assert net.driver_options is not None
    in_ns(fake_host.host_ns, "ip", "link", "del", net.driver_options.bridge_name, check=True)
    assert not ping(s1.key, str(ep2.ipv4))

    engine = engine_factory()

    assert ping(s1.key, str(ep2.ipv4))
    assert ping(s1.key, OUTSIDE_ADDR)
    _assert_store_and_kernel_agree(engine, fake_host)


def test_veth_deleted_by_hand_is_recreated_on_restart(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory()
    engine.create_network(NetworkSpec(name="n1"))
    sb = engine.create_sandbox("s1")
    ep = engine.connect(sb.id, "n1")
    engine.close()
    in_ns(fake_host.host_ns, "ip", "link", "del", ep.host_ifname, check=True)

    engine = engine_factory()

    assert checks.addresses_in(sb.key, "eth0") == [f"{ep.ipv4}/16"]
    assert checks.default_route(sb.key) == "172.18.0.1 dev eth0"
    assert ping(sb.key, OUTSIDE_ADDR)


def test_restart_removes_stale_seaway_objects_and_leaves_foreign_ones(
    engine_factory,
    fake_host: FakeHost,  # type: ignore[no-untyped-def]
) -> None:
    engine_factory().close()
    ipr = netns.route_socket(fake_host.host_ns)
    try:
        links.ensure_bridge(ipr, "br-0123456789ab", mtu=0, alias=links.alias_for("net", "0" * 64))
        in_ns(fake_host.host_ns, "ip", "link", "add", "br-foreign", "type", "bridge", check=True)
    finally:
        ipr.close()
    stale_ns = fake_host.exec_root / "netns" / "feedfacecafe"
    netns.create(stale_ns)

    engine_factory()

    names = checks.host_links(fake_host)
    assert "br-0123456789ab" not in names
    assert "br-foreign" in names
    assert not stale_ns.exists()


def test_flushed_ruleset_is_restored_on_restart(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory()
    engine.create_network(NetworkSpec(name="a"))
    engine.create_network(NetworkSpec(name="b"))
    sa, sb = engine.create_sandbox("sa"), engine.create_sandbox("sb")
    engine.connect(sa.id, "a")
    ep_b = engine.connect(sb.id, "b")
    rules = checks.rule_count(fake_host)
    engine.close()
    in_ns(fake_host.host_ns, "nft", "flush", "ruleset", check=True)

    engine_factory()

    assert checks.rule_count(fake_host) == rules
    assert not ping(sa.key, str(ep_b.ipv4))
    assert fake_host.udp_source_seen_outside(sa.key) == "203.0.113.2"


def test_user_chain_survives_restart(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory()
    engine.create_network(NetworkSpec(name="a"))
    sa = engine.create_sandbox("sa")
    engine.connect(sa.id, "a")
    in_ns(
        fake_host.host_ns,
        "nft",
        "add",
        "rule",
        "inet",
        "seaway",
        "user",
        "ip",
        "daddr",
        OUTSIDE_ADDR,
        "drop",
        check=True,
    )
    assert not ping(sa.key, OUTSIDE_ADDR)
    engine.close()

    engine_factory()

    assert not ping(sa.key, OUTSIDE_ADDR)
    assert ping(sa.key, "198.51.100.1")


def test_rule_count_does_not_grow_with_networks_or_endpoints(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="first", options={"com.docker.network.bridge.enable_icc": "false"}))
    one = checks.rule_count(fake_host)
    for i in range(12):
        engine.create_network(
            NetworkSpec(name=f"n{i}", internal=bool(i % 2), options={"com.docker.network.bridge.enable_icc": "false"})
        )
        sb = engine.create_sandbox(f"c{i}")
        engine.connect(sb.id, f"n{i}")

    assert checks.rule_count(fake_host) == one
