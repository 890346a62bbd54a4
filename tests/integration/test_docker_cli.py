"""The real docker CLI (28.x) against seawayd in a fake host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seaway.lab.fakehost import FAR_ADDR, HOST_UPLINK, OUTSIDE_ADDR
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_network_lifecycle_with_every_create_flag(seawayd: SeawayDaemon) -> None:
    ok(
        seawayd,
        *("network", "create", "--subnet", "10.30.0.0/24", "--gateway", "10.30.0.254"),
        *("--ip-range", "10.30.0.128/25", "--aux-address", "router=10.30.0.200", "--internal"),
        *("--label", "team=net", "-o", "com.docker.network.bridge.enable_icc=false", "back"),
    )
    ok(seawayd, "network", "create", "front")

    net = json.loads(ok(seawayd, "network", "inspect", "back"))[0]
    assert net["IPAM"]["Config"] == [
        {
            "Subnet": "10.30.0.0/24",
            "Gateway": "10.30.0.254",
            "IPRange": "10.30.0.128/25",
            "AuxiliaryAddresses": {"router": "10.30.0.200"},
        }
    ]
    assert net["Internal"] is True
    assert net["Labels"] == {"team": "net"}
    assert net["Options"] == {"com.docker.network.bridge.enable_icc": "false"}
    names = ok(seawayd, "network", "ls", "--format", "{{.Name}}").split()
    assert sorted(names) == ["back", "bridge", "front", "host", "none"]
    assert ok(seawayd, "network", "ls", "-q", "--filter", "label=team=net").split() == [net["Id"][:12]]

    ok(seawayd, "network", "rm", "back")
    assert "Deleted Networks:\nfront" in ok(seawayd, "network", "prune", "-f")
    assert sorted(ok(seawayd, "network", "ls", "--format", "{{.Name}}").split()) == ["bridge", "host", "none"]


def test_import_and_run_rm_in_the_foreground_streams_output_and_exit_code(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    image_id = ok(seawayd, "import", str(busybox_tar), "busybox").strip()
    assert image_id.startswith("sha256:")
    assert "busybox" in ok(seawayd, "images", "--format", "{{.Repository}}").split()

    result = seawayd.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")

    assert result.returncode == 7
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert ok(seawayd, "ps", "-aq") == ""


def test_detached_container_exec_logs_inspect_ps_stop_rm(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.40.0.0/24", "app")
    cid = ok(
        seawayd, "run", "-d", "--name", "web", "--network", "app", "--ip", "10.40.0.9", "busybox",
        "sh", "-c", "echo ready; trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ).strip()  # fmt: skip

    execd = seawayd.docker("exec", "web", "sh", "-c", "hostname; echo oops >&2; exit 3")
    assert execd.returncode == 3
    assert execd.stdout == cid[:12] + "\n"
    assert execd.stderr == "oops\n"
    assert ok(seawayd, "logs", "web") == "ready\n"
    info = json.loads(ok(seawayd, "inspect", "web"))[0]
    assert info["State"]["Running"] is True
    assert info["NetworkSettings"]["Networks"]["app"]["IPAddress"] == "10.40.0.9"
    assert info["NetworkSettings"]["Networks"]["app"]["Gateway"] == "10.40.0.1"
    assert ok(seawayd, "ps", "--format", "{{.Names}} {{.Status}}").startswith("web Up")

    ok(seawayd, "stop", "web")
    stopped = json.loads(ok(seawayd, "inspect", "web"))[0]["State"]
    assert (stopped["Status"], stopped["ExitCode"]) == ("exited", 0)
    ok(seawayd, "start", "web")
    ok(seawayd, "rm", "-f", "web")
    assert ok(seawayd, "ps", "-aq") == ""


def test_container_on_two_networks_sees_both_and_the_rules_hold(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.51.0.0/24", "one")
    ok(seawayd, "network", "create", "--subnet", "10.52.0.0/24", "two")
    ok(seawayd, "network", "create", "--subnet", "10.53.0.0/24", "three")
    ok(seawayd, "run", "-d", "--name", "both", "--network", "one", "busybox", "sleep", "300")
    ok(seawayd, "network", "connect", "two", "both")
    ok(seawayd, "run", "-d", "--name", "peer", "--network", "two", "busybox", "sleep", "300")
    ok(seawayd, "run", "-d", "--name", "stranger", "--network", "three", "busybox", "sleep", "300")

    addrs = ok(seawayd, "exec", "both", "ip", "-o", "-4", "addr", "show")
    assert "eth0    inet 10.51.0.2/24" in addrs
    assert "eth1    inet 10.52.0.2/24" in addrs
    assert "default via 10.51.0.1 dev eth0" in ok(seawayd, "exec", "both", "ip", "route")
    assert seawayd.docker("exec", "both", "ping", "-c", "1", "-W", "1", "10.52.0.3").returncode == 0
    assert seawayd.docker("exec", "stranger", "ping", "-c", "1", "-W", "1", "10.52.0.3").returncode != 0
    assert seawayd.docker("exec", "peer", "ping", "-c", "1", "-W", "1", FAR_ADDR).returncode == 0
    seen = seawayd.host.udp_source_seen_outside(
        json.loads(ok(seawayd, "inspect", "peer"))[0]["NetworkSettings"]["SandboxKey"], OUTSIDE_ADDR
    )
    assert seen == HOST_UPLINK

    ok(seawayd, "network", "disconnect", "two", "both")
    assert "eth1" not in ok(seawayd, "exec", "both", "ip", "-o", "link")


def test_seaway_host_image_runs_host_programs(seawayd: SeawayDaemon) -> None:
    result = seawayd.docker("run", "--rm", "seaway/host", "sh", "-c", "touch /usr/seaway-probe && ls /usr/seaway-probe")

    assert result.returncode == 0, result.stderr
    assert not Path("/usr/seaway-probe").exists()  # the write went to the container's overlay


def test_http_server_in_the_host_image_is_reached_from_another_container(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.90.0.0/24", "web")
    ok(seawayd, "run", "-d", "--name", "srv", "--network", "web", "--ip", "10.90.0.10", "seaway/host",
       "python3", "-m", "http.server", "--directory", "/etc", "8000")  # fmt: skip

    fetch = ["run", "--rm", "--network", "web", "busybox", "sh", "-c"]
    script = (
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://10.90.0.10:8000/hostname && exit 0; sleep 0.5; done; exit 1"
    )
    result = seawayd.docker(*fetch, script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == json.loads(ok(seawayd, "inspect", "srv"))[0]["Config"]["Hostname"]
