"""The ``seaway`` CLI against a running seawayd: what a user types and what they see
(stdout, stderr, exit status), docker's formats and messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from seaway.testing.daemon import SeawayDaemon
from seaway.testing.probes import client_command, server_command

pytestmark = pytest.mark.netns

FULL_ID = re.compile(r"^[0-9a-f]{64}$")


def seaway(
    daemon: SeawayDaemon | None, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m seaway.cli.main [-H unix://…] ARGS`` with its output captured."""
    host = ["-H", f"unix://{daemon.socket}"] if daemon else []
    environ = {k: v for k, v in os.environ.items() if k != "SEAWAY_HOST"}
    return subprocess.run(
        [sys.executable, "-m", "seaway.cli.main", *host, *args],
        capture_output=True,
        text=stdin is None,
        input=stdin,
        env={**environ, **(env or {})},
        timeout=90,
    )


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = seaway(daemon, *args)
    assert result.returncode == 0, f"seaway {' '.join(args)}: {result.returncode}\n{result.stderr}"
    return result.stdout


def wait_for(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {predicate}")
        time.sleep(0.05)


def table_rows(text: str) -> list[list[str]]:
    """A docker table's lines split on runs of 2+ spaces (cells never hold those)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


@pytest.fixture
def busybox(seawayd: SeawayDaemon, busybox_tar: Path) -> str:
    out = ok(seawayd, "image", "import", str(busybox_tar), "busybox:latest")
    assert out.startswith("sha256:"), out
    return "busybox"


# ------------------------------------------------------------------ networks


def test_network_create_ls_inspect_rm(seawayd: SeawayDaemon) -> None:
    out = ok(
        seawayd,
        "network", "create", "-d", "bridge", "--subnet", "10.71.0.0/24", "--gateway", "10.71.0.254",
        "--ip-range", "10.71.0.128/25", "--aux-address", "router=10.71.0.2", "--internal", "--attachable",
        "--label", "team=blue", "-o", "com.docker.network.bridge.enable_icc=false", "front",
    )  # fmt: skip
    net_id = out.strip()
    assert FULL_ID.match(net_id), out

    rows = table_rows(ok(seawayd, "network", "ls"))
    assert rows[0] == ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]
    assert [net_id[:12], "front", "bridge", "local"] in rows[1:]
    assert {r[1] for r in rows[1:]} >= {"bridge", "host", "none"}
    assert ok(seawayd, "network", "ls", "-q", "--filter", "label=team=blue").split() == [net_id[:12]]

    (inspected,) = json.loads(ok(seawayd, "network", "inspect", "front"))
    assert inspected["Id"] == net_id
    assert inspected["Internal"] is True and inspected["Attachable"] is True
    assert inspected["Labels"] == {"team": "blue"}
    assert inspected["Options"] == {"com.docker.network.bridge.enable_icc": "false"}
    assert inspected["IPAM"]["Config"] == [
        {
            "Subnet": "10.71.0.0/24",
            "Gateway": "10.71.0.254",
            "IPRange": "10.71.0.128/25",
            "AuxiliaryAddresses": {"router": "10.71.0.2"},
        }
    ]

    assert ok(seawayd, "network", "rm", "front") == "front\n"
    assert "front" not in ok(seawayd, "network", "ls")
    gone = seaway(seawayd, "network", "inspect", "front")
    assert gone.returncode == 1
    assert gone.stderr == "Error response from daemon: network front not found\n"
    assert json.loads(gone.stdout) == []


def test_network_create_rejects_a_gateway_outside_every_subnet(seawayd: SeawayDaemon) -> None:
    result = seaway(seawayd, "network", "create", "--subnet", "10.72.0.0/24", "--gateway", "10.99.0.1", "x")

    assert result.returncode == 1
    assert result.stderr == "no matching subnet for gateway 10.99.0.1\n"
    assert "x" not in ok(seawayd, "network", "ls", "--format", "json")


def test_network_ls_format_json_is_one_object_per_line(seawayd: SeawayDaemon) -> None:
    ok(seawayd, "network", "create", "--label", "a=b", "back")

    lines = [json.loads(line) for line in ok(seawayd, "network", "ls", "--format", "json").splitlines()]

    by_name = {n["Name"]: n for n in lines}
    assert set(by_name) == {"back", "bridge", "host", "none"}
    assert by_name["back"]["Driver"] == "bridge"
    assert by_name["back"]["Labels"] == "a=b"
    assert by_name["none"]["Driver"] == "null"


def test_network_connect_disconnect_and_prune(seawayd: SeawayDaemon, busybox: str) -> None:
    ok(seawayd, "network", "create", "--subnet", "10.73.0.0/24", "side")
    ok(seawayd, "network", "create", "unused")
    ok(seawayd, "run", "-d", "--name", "web", busybox, "sleep", "300")

    ok(seawayd, "network", "connect", "--ip", "10.73.0.40", "--alias", "www", "side", "web")
    (ctr,) = json.loads(ok(seawayd, "inspect", "web"))
    side = ctr["NetworkSettings"]["Networks"]["side"]
    assert side["IPAddress"] == "10.73.0.40"
    assert side["Aliases"] == ["www"]

    ok(seawayd, "network", "disconnect", "side", "web")
    (ctr,) = json.loads(ok(seawayd, "inspect", "web"))
    assert set(ctr["NetworkSettings"]["Networks"]) == {"bridge"}

    pruned = ok(seawayd, "network", "prune", "-f")
    assert pruned.splitlines()[0] == "Deleted Networks:"
    assert sorted(pruned.splitlines()[1:]) == ["side", "unused"]
    ok(seawayd, "rm", "-f", "web")


# ------------------------------------------------------------------ images and run


def test_image_import_ls_rm(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    image_id = ok(seawayd, "image", "import", str(busybox_tar), "tools:v1").strip()
    assert image_id.startswith("sha256:")

    rows = table_rows(ok(seawayd, "image", "ls"))
    assert rows[0] == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    (row,) = [r for r in rows if r[0] == "tools"]
    assert row[1:3] == ["v1", image_id.removeprefix("sha256:")[:12]]
    assert row[4].endswith("MB")

    assert ok(seawayd, "image", "rm", "tools:v1").splitlines() == ["Untagged: tools:v1", f"Deleted: {image_id}"]
    assert "tools" not in ok(seawayd, "image", "ls")


def test_run_rm_prints_the_output_and_exits_with_the_containers_status(seawayd: SeawayDaemon, busybox: str) -> None:
    result = seaway(seawayd, "run", "--rm", busybox, "sh", "-c", "echo to-out; echo to-err >&2; exit 3")

    assert result.returncode == 3
    assert result.stdout == "to-out\n"
    assert result.stderr == "to-err\n"
    assert ok(seawayd, "ps", "-a", "-q") == ""  # --rm: gone when run returns


def test_run_on_a_network_with_an_address_hostname_env_and_extra_host(seawayd: SeawayDaemon, busybox: str) -> None:
    ok(seawayd, "network", "create", "--subnet", "10.74.0.0/24", "front")
    script = 'hostname; echo "$GREETING"; grep db /etc/hosts; ip -4 -o addr show eth0'

    out = ok(
        seawayd, "run", "--rm", "--network", "front", "--ip", "10.74.0.50", "-h", "box", "-e", "GREETING=hi",
        "--add-host", "db:192.0.2.7", busybox, "sh", "-c", script,
    )  # fmt: skip

    lines = out.splitlines()
    assert lines[:2] == ["box", "hi"]
    assert re.match(r"^192\.0\.2\.7\s+db$", lines[2]), out
    assert "inet 10.74.0.50/24" in lines[3]


def test_run_of_an_unknown_image_is_a_daemon_error(seawayd: SeawayDaemon) -> None:
    result = seaway(seawayd, "run", "--rm", "nosuch", "true")

    assert result.returncode == 125  # docker run's status for a daemon error
    assert result.stderr == "Error response from daemon: No such image: nosuch:latest\n"


# ------------------------------------------------------------------ a detached container


def test_detached_container_ps_exec_logs_stop_rm(seawayd: SeawayDaemon, busybox: str) -> None:
    cid = ok(seawayd, "run", "-d", "--name", "web", busybox, "sh", "-c", "echo started; exec sleep 300").strip()
    assert FULL_ID.match(cid)

    rows = table_rows(ok(seawayd, "ps"))
    assert rows[0] == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    (row,) = rows[1:]
    assert row[0] == cid[:12] and row[1] == "busybox" and row[-1] == "web"  # (empty PORTS cell)
    assert row[2] == '"sh -c echo started;…"'
    assert row[4].startswith("Up ")

    exec_result = seaway(seawayd, "exec", "-e", "X=42", "web", "sh", "-c", 'echo "x=$X"; echo e >&2; exit 7')
    assert (exec_result.returncode, exec_result.stdout, exec_result.stderr) == (7, "x=42\n", "e\n")

    wait_for(lambda: ok(seawayd, "logs", "web") == "started\n")
    assert re.match(r"^\S+ started\n$", ok(seawayd, "logs", "-t", "--tail", "1", "web"))

    assert ok(seawayd, "stop", "-t", "1", "web") == "web\n"
    assert ok(seawayd, "ps", "-q") == ""
    (row,) = table_rows(ok(seawayd, "ps", "-a"))[1:]
    assert row[4].startswith("Exited (137)")

    assert ok(seawayd, "rm", "-f", "web") == "web\n"
    assert ok(seawayd, "ps", "-a", "-q") == ""


def test_ps_format_json_is_one_object_per_line(seawayd: SeawayDaemon, busybox: str) -> None:
    ok(seawayd, "run", "-d", "--name", "a", busybox, "sleep", "300")
    ok(seawayd, "run", "-d", "--name", "b", busybox, "sleep", "300")

    lines = [json.loads(line) for line in ok(seawayd, "ps", "--format", "json").splitlines()]

    assert sorted(c["Names"] for c in lines) == ["a", "b"]
    assert {c["State"] for c in lines} == {"running"}
    assert {c["Command"] for c in lines} == {'"sleep 300"'}
    assert {c["Networks"] for c in lines} == {"bridge"}
    ok(seawayd, "rm", "-f", "a", "b")


def test_run_publish_port_and_ps_show_published_ports(seawayd: SeawayDaemon) -> None:
    ok(
        seawayd, "run", "-d", "--name", "web", "-p", "8080:80", "-p", "127.0.0.1::81", "-p", "20000-20002:20000-20002",
        "seaway/host", *server_command("web", "tcp:80-81", "tcp:20000-20002"),
    )  # fmt: skip
    wait_for(lambda: "serving" in ok(seawayd, "logs", "web"))
    lines = ok(seawayd, "port", "web").splitlines()
    assert lines[0] == "80/tcp -> 0.0.0.0:8080"
    assert re.fullmatch(r"81/tcp -> 127\.0\.0\.1:\d+", lines[1])
    loopback_port = lines[1].rsplit(":", 1)[1]
    assert ok(seawayd, "port", "web", "80") == "0.0.0.0:8080\n"
    missing = seaway(seawayd, "port", "web", "443/tcp")
    assert (missing.returncode, missing.stderr) == (1, "Error: No public port '443/tcp' published for web\n")
    (row,) = table_rows(ok(seawayd, "ps"))[1:]
    assert row[5] == f"0.0.0.0:8080->80/tcp, 0.0.0.0:20000-20002->20000-20002/tcp, 127.0.0.1:{loopback_port}->81/tcp"
    answer = subprocess.run(
        ["nsenter", f"--net={seawayd.host.host_ns}", *client_command("tcp", "127.0.0.1", int(loopback_port))],
        capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    assert answer.startswith("web ")

    bad = seaway(seawayd, "run", "-d", "-p", "8080:abc", "seaway/host", "true")
    assert (bad.returncode, bad.stderr) == (125, "seaway: Invalid containerPort: abc.\n")


# ------------------------------------------------------------------ errors and the daemon's address


def test_rm_of_an_unknown_container_prints_the_daemons_error(seawayd: SeawayDaemon) -> None:
    result = seaway(seawayd, "rm", "nope")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "Error response from daemon: No such container: nope\n"


def test_seaway_host_picks_the_daemon_and_h_overrides_it(seawayd: SeawayDaemon, tmp_path: Path) -> None:
    via_env = seaway(None, "network", "ls", "-q", env={"SEAWAY_HOST": f"unix://{seawayd.socket}"})
    assert via_env.returncode == 0, via_env.stderr
    assert len(via_env.stdout.split()) == 3  # bridge, host, none

    missing = tmp_path / "missing.sock"
    unreachable = seaway(None, "ps", env={"SEAWAY_HOST": f"unix://{missing}"})
    assert unreachable.returncode == 1
    assert f"Cannot connect to the Seaway daemon at unix://{missing}" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    overridden = seaway(seawayd, "network", "ls", "-q", env={"SEAWAY_HOST": f"unix://{missing}"})
    assert overridden.returncode == 0, overridden.stderr
