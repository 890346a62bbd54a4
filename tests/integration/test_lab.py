"""Labs on the real kernel: the demo and every file in examples/ come up (the demo's checks
pass), down leaves nothing (also after the tool was killed mid-way), broken files create
nothing, the docker CLI drives each host, and faults change what reaches what (bounded
probes)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from tests.integration.checks import address_seen_by, wait_until

from seaway.errors import InvalidParameter, Unsupported
from seaway.kernel import process
from seaway.lab import Lab, probes
from seaway.lab.demo import print_checks, run_checks
from seaway.testing.plugin import lab_session

pytestmark = pytest.mark.netns

SEAWAY = str(Path(sys.executable).with_name("seaway"))


def leftovers_of(name: str, root: Path) -> list[str]:
    """What of lab ``name`` (directory ``root``) is still on the machine."""
    found = [f"netns {p.name}" for p in process.NETNS_DIR.glob(f"swl-{name}-*")]
    if root.exists():
        found.append(f"directory {root}")
    with open("/proc/self/mountinfo") as f:
        found += [f"mount {line.split()[4]}" for line in f if str(root) + "/" in line.split()[4]]
    return found


def lab_processes(lab: Lab) -> list[int]:
    """Every process the lab started that still runs: daemons, world, container monitors."""
    return process.marked(str(lab.plan.root) + "/")


def test_demo_lab_comes_up_its_checks_pass_and_down_leaves_nothing(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = run_checks(lab)
    print_checks(outcomes, sys.stdout)
    table = capsys.readouterr().out

    assert all(o.passed for o in outcomes), table
    assert len(outcomes) == 9, table
    assert len(lab_processes(lab)) >= 3  # two daemons, the world, the containers' monitors
    lab.down()
    assert leftovers_of(lab.name, lab.plan.root) == []
    assert lab_processes(lab) == []


def cli(*args: str, run_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEAWAY_LAB_DIR": str(run_dir)}
    return subprocess.run([SEAWAY, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


@pytest.fixture
def run_dir(_made_here: set[str]) -> Iterator[Path]:
    path = Path(f"/tmp/swl-{secrets.token_hex(4)}")  # short: unix socket paths are limited to 107 bytes
    path.mkdir()
    _made_here.add(str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def two_hosts(name: str) -> dict[str, object]:
    return {
        "name": name,
        "segments": [{"name": "lan"}],
        "hosts": [{"name": "h1", "links": ["lan"]}, {"name": "h2", "links": ["lan"]}],
    }


def test_up_of_a_broken_file_fails_with_the_error_path_and_creates_nothing(run_dir: Path) -> None:
    name = "t" + secrets.token_hex(4)
    data = two_hosts(name)
    data["hosts"].append({"name": "h3", "links": ["core"]})  # type: ignore[attr-defined]
    file = run_dir / "broken.yaml"
    file.write_text(yaml.safe_dump(data))

    result = cli("lab", "up", str(file), run_dir=run_dir)

    assert result.returncode == 1
    assert 'hosts[2].links[0]: unknown segment "core"' in result.stderr
    assert leftovers_of(name, run_dir / name) == []


def test_docker_cli_drives_each_host_through_lab_env_and_the_cli_injects_faults(run_dir: Path) -> None:
    name = "t" + secrets.token_hex(4)
    file = run_dir / "lab.yaml"
    file.write_text(yaml.safe_dump(two_hosts(name)))
    up = cli("lab", "up", str(file), run_dir=run_dir)
    assert up.returncode == 0, up.stderr
    try:
        for host in ("h1", "h2"):
            env_line = cli("lab", "env", host, "--lab", name, run_dir=run_dir).stdout.strip()
            match = re.fullmatch(r"export DOCKER_HOST=(unix://\S+)", env_line)
            assert match, env_line
            docker_env = {**os.environ, "DOCKER_HOST": match.group(1), "DOCKER_CONFIG": str(run_dir / "docker-config")}

            def docker(*args: str, env: dict[str, str] = docker_env) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ["docker", *args], capture_output=True, text=True, env=env, timeout=60, check=False
                )

            run = docker("run", "-d", "--name", f"on-{host}", "busybox", "sleep", "600")
            assert run.returncode == 0, run.stderr
            listed = docker("ps", "--format", "{{.Names}}")
            assert listed.stdout.split() == [f"on-{host}"], listed.stderr  # only this host's container
            once = docker("run", "--rm", "busybox", "echo", f"ran on {host}")
            assert once.stdout.strip() == f"ran on {host}", once.stderr
        status = cli("lab", "status", name, run_dir=run_dir)
        assert "container on-h1  running" in status.stdout and "container on-h2  running" in status.stdout, (
            status.stdout
        )
    finally:
        down = cli("lab", "down", name, run_dir=run_dir)
    assert down.returncode == 0, down.stderr
    assert leftovers_of(name, run_dir / name) == []


def test_down_after_the_tool_was_killed_during_up_removes_everything(run_dir: Path) -> None:
    name = "t" + secrets.token_hex(4)
    data = two_hosts(name)
    data["hosts"] = [{"name": f"h{i}", "links": ["lan"]} for i in range(1, 5)]
    file = run_dir / "lab.yaml"
    file.write_text(yaml.safe_dump(data))
    state = run_dir / name / "state.json"
    tool = subprocess.Popen([SEAWAY, "lab", "up", str(file)], env={**os.environ, "SEAWAY_LAB_DIR": str(run_dir)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (state.exists() and "h1" in json.loads(state.read_text())["pids"]):
            time.sleep(0.02)  # until a host's daemon runs: killed amid the hosts
        assert state.exists(), "the tool never wrote its state"
    finally:
        tool.send_signal(signal.SIGKILL)
        tool.wait()

    down = cli("lab", "down", name, run_dir=run_dir)

    assert down.returncode == 0, down.stderr
    assert leftovers_of(name, run_dir / name) == []
    assert process.marked(str(run_dir / name) + "/") == []  # no daemon survives, recorded or not


# -- faults, on one three-host lab for the module


@pytest.fixture(scope="module")
def trio(_made_here: set[str]) -> Iterator[Lab]:
    topology = {
        "name": "faults",
        "segments": [{"name": "lan"}],
        "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in (1, 2, 3)],
    }
    yield from lab_session(topology, _made_here)


def reach(lab: Lab, a: str, b: str) -> bool:
    return probes.ping(lab.host(a).netns, lab.host(b).address)


def test_partition_and_heal_change_reachability(trio: Lab) -> None:
    assert reach(trio, "h1", "h2") and reach(trio, "h2", "h1")
    trio.partition(["h1"], ["h2"])
    try:
        assert not reach(trio, "h1", "h2")
        assert not reach(trio, "h2", "h1")
        assert reach(trio, "h1", "h3") and reach(trio, "h3", "h2")  # only h1 <-> h2 is cut
    finally:
        trio.heal()
    assert reach(trio, "h1", "h2") and reach(trio, "h2", "h1")


def test_containers_are_cut_off_by_a_partition_too(trio: Lab) -> None:
    h1, h2 = trio.host("h1"), trio.host("h2")
    probe = ["ping", "-c1", "-W1", h2.address]
    ctr = h1.docker.containers.run("busybox", ["sleep", "600"], detach=True)
    try:
        assert ctr.exec_run(probe).exit_code == 0
        trio.partition(["h1"], ["h2"])
        try:
            assert ctr.exec_run(probe).exit_code != 0
        finally:
            trio.heal()
        assert ctr.exec_run(probe).exit_code == 0
    finally:
        ctr.remove(force=True)


def test_link_down_and_up(trio: Lab) -> None:
    trio.link_down("h3")
    try:
        assert not reach(trio, "h1", "h3")
        assert reach(trio, "h1", "h2")
    finally:
        trio.link_up("h3")
    deadline = time.monotonic() + 10
    while not reach(trio, "h1", "h3"):
        assert time.monotonic() < deadline, "h3 did not come back after link up"


def throughput(lab: Lab, client: str, server: str) -> float:
    """Bits per second of a 1-second iperf3 run from ``client`` to ``server`` (retried
    while the server is not listening yet, for at most 10 s)."""
    srv = subprocess.Popen(["nsenter", f"--net={process.netns_path(lab.host(server).netns)}", "iperf3", "-s"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            out = lab.host(client).run(["iperf3", "-c", lab.host(server).address, "-t", "1", "-J"], timeout=30)
            result = json.loads(out.stdout or "{}")
            if "sum_received" in result.get("end", {}):
                return float(result["end"]["sum_received"]["bits_per_second"])
            assert time.monotonic() < deadline, result.get("error", out.stderr)
            time.sleep(0.1)
    finally:
        srv.kill()
        srv.wait()


def test_rate_limit_shows_in_throughput(trio: Lab) -> None:
    before = throughput(trio, "h1", "h2")
    trio.limit_rate("h1", "20mbit")
    try:
        limited = throughput(trio, "h1", "h2")
        reverse = throughput(trio, "h2", "h1")
    finally:
        trio.clear("h1")
    after = throughput(trio, "h1", "h2")

    assert 5e6 < limited < 25e6, limited
    assert 5e6 < reverse < 25e6, reverse  # both directions of the link
    assert before > 100e6 and after > 100e6, (before, after)


def test_delay_works_or_names_the_missing_kernel_feature(trio: Lab) -> None:
    try:
        trio.impair("h3", delay_ms=50)
    except Unsupported as exc:
        assert "sch_netem (CONFIG_NET_SCH_NETEM)" in str(exc)
        return
    try:
        out = trio.host("h1").run(["ping", "-c", "3", "-i", "0.2", "-q", trio.host("h3").address]).stdout
        avg = float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))  # type: ignore[union-attr]
        assert avg >= 50, out  # 50 ms each way at h3's link
    finally:
        trio.clear("h3")


def test_a_second_lab_with_the_same_name_is_refused_and_the_first_is_untouched(trio: Lab) -> None:
    again = Lab(
        {**{"name": trio.name}, "segments": [{"name": "lan"}], "hosts": [{"name": "h1", "links": ["lan"]}]},
        run_dir=trio.plan.root.parent,
    )
    with pytest.raises(Exception, match=f"lab {trio.name} is already up"):
        again.up()
    assert reach(trio, "h1", "h2")


SERVED = {
    "segments": [{"name": "lan"}],
    "hosts": [
        {
            "name": "a",
            "links": ["lan"],
            "networks": [{"name": "app"}],
            "containers": [
                {"name": "srv", "networks": ["app"], "ports": ["8080:80"], "command": "exec httpd -f -p 80 -h /etc"}
            ],
        },
        {"name": "b", "links": ["lan"]},
    ],
}


@pytest.mark.lab_topology(SERVED)
def test_the_lab_fixture_builds_the_marked_topology(lab: Lab) -> None:
    a, b = lab.host("a"), lab.host("b")
    assert [c.name for c in a.docker.containers.list()] == ["srv"]
    assert b.docker.containers.list() == []
    deadline = time.monotonic() + 10
    while (body := probes.http_get(b.netns, f"http://{a.address}:8080/passwd")) is None:
        assert time.monotonic() < deadline, "srv never answered on a's published port"
    assert body.startswith("root:")


def test_what_a_host_refuses_fails_up_with_the_host_and_object_and_leaves_nothing(run_dir: Path) -> None:
    name = "t" + secrets.token_hex(4)
    data = two_hosts(name)
    data["hosts"][1]["containers"] = [{"name": "c", "image": "nosuchimage"}]  # type: ignore[index]
    lab = Lab(data, run_dir=run_dir)

    with pytest.raises(InvalidParameter) as info:
        lab.up()

    assert str(info.value) == "host h2: container c: No such image: nosuchimage:latest"
    assert leftovers_of(name, run_dir / name) == []
    assert lab_processes(lab) == []


# ------------------------------------------------------------------ examples/
# Every topology in examples/ comes up with ``seaway lab up``, shows its hosts, networks
# and containers in ``seaway lab status``, does what its comments promise, and goes down
# leaving nothing (under a unique lab name, so a lab a user has up is never touched).

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def address_of(lab: Lab, host: str, container: str) -> str:
    networks = lab.host(host).docker.containers.get(container).attrs["NetworkSettings"]["Networks"]
    return next(v["IPAddress"] for v in networks.values() if v["IPAddress"])


def macvlan_checks(lab: Lab) -> None:
    web = address_of(lab, "h1", "web")
    assert web.startswith("192.0.2.1"), web  # from the LAN's subnet, in ip_range 192.0.2.128/25
    fetched = lab.host("h2").run(["wget", "-qO-", "-T", "3", f"http://{web}/"])
    assert fetched.stdout == "hello from the LAN\n", fetched.stderr  # straight from the LAN
    probe = lab.host("h1").docker.containers.get("probe")
    assert probe.exec_run(["ping", "-c", "1", "-W", "2", "192.0.2.3"]).exit_code == 0  # h2, on the LAN


def nexthops(lab: Lab, node: str, prefix: str) -> list[str]:
    """The gateways of ``node``'s kernel route to ``prefix`` (several: ECMP); [] if none."""
    out = lab.node_run(node, ["ip", "-j", "-4", "route", "show", prefix]).stdout
    routes = json.loads(out or "[]")
    if not routes:
        return []
    route = routes[0]
    return sorted(h["gateway"] for h in route["nexthops"]) if "nexthops" in route else [route.get("gateway", "")]


def leaf_spine_checks(lab: Lab) -> None:
    spine1, spine2 = (str(lab.plan.node(s).interfaces[0].address.ip) for s in ("spine1", "spine2"))  # on l1s*
    both = sorted([spine1, spine2])
    wait_until(lambda: nexthops(lab, "leaf1", "10.84.0.0/24") == both, 30, "leaf1 reaches h4 over both spines")
    client = lab.host("h1").docker.containers.get("client")
    web = address_of(lab, "h4", "web")
    seen = lambda: address_seen_by(client, web)  # noqa: E731
    wait_until(lambda: seen() != "", 30, "the client fetches from the web server across the fabric")
    assert seen() == address_of(lab, "h1", "client")  # its own address: no NAT on the way
    lab.link_down("leaf1", 1)  # leaf1 -- spine1
    try:
        took = wait_until(
            lambda: nexthops(lab, "leaf1", "10.84.0.0/24") == [spine2] and seen() != "", 30, "traffic moves to spine2"
        )
        print(f"leaf1-spine1 down: reconverged over spine2 in {took:.1f} s")
    finally:
        lab.link_up("leaf1", 1)
    wait_until(lambda: nexthops(lab, "leaf1", "10.84.0.0/24") == both, 60, "both spines are used again")


#: what each example's comments promise, beyond coming up (the demo's own checks: the first test)
PROMISES: dict[str, Callable[[Lab], None]] = {"macvlan": macvlan_checks, "leaf-spine": leaf_spine_checks}


def test_docs_point_at_every_example() -> None:
    docs = (EXAMPLES.parent / "docs" / "lab.md").read_text()
    for example in sorted(EXAMPLES.glob("*.yaml")):
        assert f"examples/{example.name}" in docs, example.name


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_comes_up_shows_in_status_and_goes_down_leaving_nothing(
    example: str, run_dir: Path, _made_here: set[str]
) -> None:
    data = yaml.safe_load((EXAMPLES / example).read_text())
    name = "t" + secrets.token_hex(4)
    _made_here.add(f"swl-{name}-")
    file = run_dir / example
    file.write_text(yaml.safe_dump({**data, "name": name}))

    up = cli("lab", "up", str(file), run_dir=run_dir)
    try:
        assert up.returncode == 0, up.stderr
        status = cli("lab", "status", name, run_dir=run_dir)
        assert status.returncode == 0, status.stderr
        for host in data["hosts"]:
            assert f"host {host['name']} " in status.stdout and "seawayd pid" in status.stdout, status.stdout
            for net in host.get("networks", []):
                assert f"network {net['name']}  {net.get('driver', 'bridge')}" in status.stdout, status.stdout
            for ctr in host.get("containers", []):
                assert f"container {ctr['name']}  running" in status.stdout, status.stdout
        for router in data.get("routers", []):
            assert f"router {router['name']} " in status.stdout, status.stdout
        promise = PROMISES.get(Path(example).stem)
        if promise is not None:
            promise(Lab.attach(name, run_dir=run_dir))
        listed = cli("lab", "ls", run_dir=run_dir)
        assert name in listed.stdout, listed.stdout
    finally:
        down = cli("lab", "down", name, run_dir=run_dir)
    assert down.returncode == 0, down.stderr
    assert leftovers_of(name, run_dir / name) == []
