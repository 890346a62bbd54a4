"""seawayd killed with SIGKILL and started again; SIGTERM leaves containers running."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def state(daemon: SeawayDaemon, name: str) -> dict[str, object]:
    return json.loads(ok(daemon, "inspect", name))[0]["State"]  # type: ignore[no-any-return]


def wait_until(predicate, timeout: float = 15) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_sigkilled_daemon_comes_back_to_running_containers_and_real_exit_codes(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.70.0.0/24", "net")
    ok(seawayd, "run", "-d", "--name", "keeper", "--network", "net", "busybox", "sleep", "600")
    ok(seawayd, "run", "-d", "--name", "quitter", "--network", "net", "busybox", "sh", "-c", "sleep 2; exit 5")
    ok(seawayd, "run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 2; exit 1")
    keeper_pid = state(seawayd, "keeper")["Pid"]

    seawayd.kill()
    time.sleep(3)  # quitter and phoenix exit while no daemon is watching
    seawayd.start()

    keeper = state(seawayd, "keeper")
    assert (keeper["Status"], keeper["Pid"]) == ("running", keeper_pid)
    assert ok(seawayd, "exec", "keeper", "ip", "-o", "-4", "addr", "show", "eth0").split()[3] == "10.70.0.2/24"
    assert seawayd.docker("exec", "keeper", "ping", "-c", "1", "-W", "1", "10.70.0.1").returncode == 0
    quitter = state(seawayd, "quitter")
    assert (quitter["Status"], quitter["ExitCode"]) == ("exited", 5)
    assert wait_until(lambda: state(seawayd, "phoenix")["Status"] == "running")
    assert json.loads(ok(seawayd, "inspect", "phoenix"))[0]["RestartCount"] >= 1
    # the address of the exited container was released and can be reused
    ok(seawayd, "run", "-d", "--name", "late", "--network", "net", "busybox", "sleep", "600")
    assert (
        json.loads(ok(seawayd, "inspect", "late"))[0]["NetworkSettings"]["Networks"]["net"]["IPAddress"] == "10.70.0.3"
    )


def test_sigterm_stops_the_daemon_and_leaves_containers_running(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "run", "-d", "--name", "stayer", "busybox", "sleep", "600")
    pid = state(seawayd, "stayer")["Pid"]

    seawayd.stop()
    assert seawayd.proc is not None and seawayd.proc.returncode == 0
    assert Path(f"/proc/{pid}").exists()
    assert not seawayd.socket.exists()

    seawayd.start()
    assert state(seawayd, "stayer")["Status"] == "running"


def test_restart_policies_follow_docker(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "run", "-d", "--name", "twice", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
    ok(seawayd, "run", "-d", "--name", "clean", "--restart", "on-failure", "busybox", "true")

    assert wait_until(lambda: state(seawayd, "twice")["Status"] == "exited" and json.loads(
        ok(seawayd, "inspect", "twice"))[0]["RestartCount"] == 2)  # fmt: skip
    assert state(seawayd, "twice")["ExitCode"] == 3
    assert wait_until(lambda: state(seawayd, "clean")["Status"] == "exited")
    assert json.loads(ok(seawayd, "inspect", "clean"))[0]["RestartCount"] == 0


def test_a_second_daemon_on_the_same_data_root_is_refused(seawayd: SeawayDaemon) -> None:
    other = SeawayDaemon(seawayd.host)
    other.socket = seawayd.host.root / "other.sock"
    with pytest.raises(RuntimeError, match=r"another seawayd \(pid \d+\) is using the data root"):
        other.start(timeout=10)


def test_a_socket_in_use_is_refused_before_anything_is_touched(seawayd: SeawayDaemon, tmp_path: Path) -> None:
    seawayd_bin = Path(sys.executable).with_name("seawayd")
    result = subprocess.run(
        ["nsenter", f"--net={seawayd.host.host_ns}", str(seawayd_bin), "--data-root", str(tmp_path / "d2"),
         "--exec-root", str(tmp_path / "e2"), "-H", seawayd.docker_host],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode == 1
    assert f"the API socket {seawayd.socket} is in use by another process" in result.stderr
    assert seawayd.ping()


def test_kill_ends_a_crash_loop_and_rm_force_removes_it(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "run", "-d", "--name", "looper", "--restart", "always", "busybox", "sh", "-c", "exit 1")
    count = lambda: json.loads(ok(seawayd, "inspect", "looper"))[0]["RestartCount"]  # noqa: E731
    assert wait_until(lambda: count() >= 2)

    seawayd.docker("kill", "looper")  # it may be between runs: Docker accepts that too
    assert wait_until(lambda: state(seawayd, "looper")["Status"] == "exited")
    settled = count()
    time.sleep(1.5)

    assert state(seawayd, "looper")["Status"] == "exited"
    assert count() == settled
    ok(seawayd, "run", "-d", "--name", "looper2", "--restart", "always", "busybox", "sh", "-c", "exit 1")
    assert wait_until(lambda: json.loads(ok(seawayd, "inspect", "looper2"))[0]["RestartCount"] >= 1)
    ok(seawayd, "rm", "-f", "looper2")
    assert "looper2" not in ok(seawayd, "ps", "-a", "--format", "{{.Names}}")


def test_wait_not_running_returns_when_a_restarting_container_exits(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "run", "-d", "--name", "flappy", "--restart", "on-failure", "busybox", "sh", "-c", "sleep 1; exit 3")

    result = seawayd.docker("wait", "flappy", timeout=30)

    assert result.returncode == 0
    assert result.stdout.strip() == "3"
