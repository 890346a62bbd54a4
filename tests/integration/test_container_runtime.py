"""The container runtime beyond networks, through docker-py, as dockerd 20.10 behaves:
HostConfig's limits and process settings (applied, shown, updated), binds, volumes and
mounts, pause, prune, logs by time. (What docker-py's own container tests found.)"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def client(busybox_tar: Path) -> Iterator[Any]:
    host = FakeHost()
    daemon = SeawayDaemon(host)
    try:
        daemon.start()
        daemon.docker("import", str(busybox_tar), "busybox", check=True)
        c = daemon.client()
        yield c
        for ctr in c.containers.list(all=True):
            ctr.remove(force=True, v=True)
    finally:
        daemon.close()
        host.close()


def _cgroup_file(pid: int, controller: str, name: str) -> str:
    """A cgroup v1 file of the process's own cgroup, read from the host."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return (Path("/sys/fs/cgroup") / controller / path.lstrip("/") / name).read_text().strip()
    raise AssertionError(f"no {controller} cgroup for pid {pid}")


def test_limits_are_applied_shown_and_updated(client: Any) -> None:
    ctr = client.containers.run(
        "busybox", ["sleep", "300"], detach=True, mem_limit="64m", cpu_shares=512, pids_limit=50, cpuset_cpus="0"
    )
    try:
        host = ctr.attrs["HostConfig"]
        assert (host["Memory"], host["MemorySwap"], host["CpuShares"], host["PidsLimit"], host["CpusetCpus"]) == (
            64 << 20, 128 << 20, 512, 50, "0",
        )  # fmt: skip
        pid = client.api.inspect_container(ctr.id)["State"]["Pid"]
        assert _cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(64 << 20)
        assert _cgroup_file(pid, "cpu", "cpu.shares") == "512"
        assert _cgroup_file(pid, "pids", "pids.max") == "50"

        ctr.update(
            mem_limit="48m",
            memswap_limit="96m",
            cpu_shares=256,
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
        )
        host = client.api.inspect_container(ctr.id)["HostConfig"]
        assert (host["Memory"], host["CpuShares"], host["RestartPolicy"]) == (
            48 << 20, 256, {"Name": "on-failure", "MaximumRetryCount": 3},
        )  # fmt: skip
        assert _cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(48 << 20)
        assert _cgroup_file(pid, "cpu", "cpu.shares") == "256"
    finally:
        ctr.remove(force=True)

    with pytest.raises(docker.errors.APIError, match="Minimum memory limit allowed is 6MB"):
        client.containers.create("busybox", ["true"], mem_limit="1m")
    with pytest.raises(docker.errors.APIError, match="Unknown runtime specified nope"):
        client.containers.create("busybox", ["true"], runtime="nope")


def test_process_settings_from_host_config(client: Any) -> None:
    out = client.containers.run(
        "busybox",
        [
            "sh",
            "-c",
            "id -u; id -G; grep ' /scratch ' /proc/mounts | cut -d' ' -f3; cat /proc/1/cmdline | tr '\\0' ' '",
        ],
        user="1000:1000",
        group_add=["2000", "3000"],
        tmpfs={"/scratch": "size=1m"},
        init=True,
        remove=True,
    ).decode()
    uid, groups, fstype, init = out.splitlines()
    assert uid == "1000"
    assert groups.split() == ["1000", "2000", "3000"]
    assert fstype == "tmpfs"
    assert init.startswith("/sbin/docker-init -- sh -c")

    # NET_ADMIN: a container may change its own interfaces only when given it
    cmd = ["ip", "link", "set", "lo", "mtu", "1400"]
    assert client.containers.run("busybox", cmd, cap_add=["NET_ADMIN"], remove=True) == b""
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run("busybox", cmd, remove=True)

    # the host's PID namespace: the container sees the daemon's processes
    ps = client.containers.run("busybox", ["ps", "-o", "comm"], pid_mode="host", remove=True).decode()
    assert "seawayd" in ps or "python" in ps

    host_config = client.api.create_host_config(uts_mode="host", cgroupns="private")
    ctr = client.api.create_container("busybox", ["true"], host_config=host_config, stop_timeout=25)
    attrs = client.api.inspect_container(ctr)
    assert (attrs["HostConfig"]["UTSMode"], attrs["HostConfig"]["CgroupnsMode"], attrs["Config"]["StopTimeout"]) == (
        "host", "private", 25,
    )  # fmt: skip
    client.api.remove_container(ctr)


def test_binds_volumes_and_mounts(client: Any, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    client.containers.run("busybox", ["sh", "-c", "echo hi > /mnt/f"], volumes=[f"{shared}:/mnt"], remove=True)
    assert (shared / "f").read_text() == "hi\n"
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run("busybox", ["touch", "/mnt/g"], volumes=[f"{shared}:/mnt:ro"], remove=True)

    # a named volume outlives its containers; one in use cannot be removed
    client.volumes.create("keep", labels={"k": "v"})
    client.containers.run("busybox", ["sh", "-c", "echo kept > /v/f"], volumes=["keep:/v"], remove=True)
    holder = client.containers.create("busybox", ["cat", "/v/f"], volumes=["keep:/v"])
    with pytest.raises(docker.errors.APIError, match=f"remove keep: volume is in use - \\[{holder.id}\\]"):
        client.volumes.get("keep").remove()
    holder.start()
    holder.wait()
    assert holder.logs() == b"kept\n"
    mount = next(m for m in client.api.inspect_container(holder.id)["Mounts"] if m["Destination"] == "/v")
    assert (mount["Type"], mount["Name"], mount["RW"], mount["Driver"]) == ("volume", "keep", True, "local")
    holder.remove()
    assert client.volumes.get("keep").attrs["Labels"] == {"k": "v"}
    client.volumes.get("keep").remove()
    with pytest.raises(docker.errors.NotFound, match="get keep: no such volume"):
        client.volumes.get("keep")

    # anonymous volumes (Config.Volumes), shared with --volumes-from, gone with rm -v
    first = client.api.create_container("busybox", ["sh", "-c", "echo anon > /data/f"], volumes=["/data"])
    client.api.start(first)
    client.api.wait(first)
    (anon,) = [m["Name"] for m in client.api.inspect_container(first)["Mounts"]]
    second = client.containers.run("busybox", ["cat", "/data/f"], volumes_from=[first["Id"]], detach=True)
    second.wait()
    assert second.logs() == b"anon\n"
    assert client.api.inspect_container(second.id)["HostConfig"]["VolumesFrom"] == [first["Id"]]
    second.remove()
    client.api.remove_container(first, v=True)
    assert anon not in [v.name for v in client.volumes.list()]

    # Mounts: a bind whose source is missing is refused at start, as Docker
    bind = docker.types.Mount(target="/m", source=str(tmp_path / "absent"), type="bind")
    ctr = client.containers.create("busybox", ["true"], mounts=[bind])
    with pytest.raises(docker.errors.APIError, match="bind source path does not exist"):
        ctr.start()
    ctr.remove()


def test_pause_prune_and_logs_until(client: Any) -> None:
    ctr = client.containers.run("busybox", ["sh", "-c", "while :; do date +%s%N; sleep 0.05; done"], detach=True)
    try:
        ctr.pause()
        ctr.reload()
        assert (ctr.status, ctr.attrs["State"]["Paused"], ctr.attrs["State"]["Running"]) == ("paused", True, True)
        frozen = ctr.logs()
        time.sleep(0.5)  # a paused container writes nothing
        assert ctr.logs() == frozen
        with pytest.raises(docker.errors.APIError, match="is paused. Unpause the container before stopping"):
            ctr.kill()
        assert [c.id for c in client.containers.list(filters={"status": "paused"})] == [ctr.id]
        ctr.unpause()
        ctr.reload()
        assert ctr.status == "running"
    finally:
        ctr.remove(force=True)

    done = client.containers.run("busybox", ["sh", "-c", "echo early; echo x > /f"], detach=True)
    done.wait()
    assert client.api.logs(done.id, until=1) == b""
    assert client.api.logs(done.id, until=int(time.time()) + 1) == b"early\n"
    running = client.containers.run("busybox", ["sleep", "300"], detach=True)
    try:
        result = client.containers.prune()
        assert done.id in result["ContainersDeleted"] and running.id not in result["ContainersDeleted"]
        assert result["SpaceReclaimed"] > 0
    finally:
        running.remove(force=True)


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_files_in_and_out_changes_and_commit(client: Any) -> None:
    api = client.api
    ctr = api.create_container(
        "busybox", ["sh", "-c", "cat /vol/in /rootin; rm /bin/true; echo made > /made"], volumes=["/vol"]
    )
    try:
        # a created container: into its volume and into its root filesystem
        assert api.put_archive(ctr, "/vol", _tar({"in": b"to-volume\n"}))
        assert api.put_archive(ctr, "/", _tar({"rootin": b"to-rootfs\n"}))
        with pytest.raises(docker.errors.NotFound, match="Could not find the file /nope in container"):
            api.put_archive(ctr, "/nope", _tar({"x": b""}))
        api.start(ctr)
        assert api.wait(ctr)["StatusCode"] == 0
        assert api.logs(ctr) == b"to-volume\nto-rootfs\n"

        stream, stat = api.get_archive(ctr, "/made")
        assert (stat["name"], stat["size"]) == ("made", 5)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            assert tar.extractfile("made").read() == b"made\n"  # type: ignore[union-attr]
        changes = {(c["Path"], c["Kind"]) for c in api.diff(ctr)}
        assert {("/made", 1), ("/bin/true", 2), ("/rootin", 1)} <= changes
        assert not any(path.startswith(("/etc/hosts", "/vol", "/proc")) for path, _ in changes)

        image = client.containers.get(ctr["Id"]).commit(repository="committed", tag="v1")
        assert client.containers.run("committed:v1", ["cat", "/made", "/rootin"], remove=True) == b"made\nto-rootfs\n"
        client.images.remove(image.id)
    finally:
        api.remove_container(ctr, v=True, force=True)


def test_top_and_stats_of_a_running_container(client: Any) -> None:
    ctr = client.containers.run(
        "busybox", ["sh", "-c", "ping -c 3 -i 0.2 127.0.0.1 >/dev/null; sleep 300"], detach=True
    )
    try:
        top = ctr.top()
        assert any("sleep 300" in row[-1] or "ping" in row[-1] for row in top["Processes"])
        assert "PID" in top["Titles"]
        stats = ctr.stats(stream=False)
        assert stats["id"] == ctr.id and stats["read"] != "0001-01-01T00:00:00Z"
        assert stats["precpu_stats"]["cpu_usage"]["total_usage"] <= stats["cpu_stats"]["cpu_usage"]["total_usage"]
        assert stats["memory_stats"]["usage"] > 0 and stats["pids_stats"]["current"] >= 1
        # the container's own interface, counted in its network namespace
        assert list(stats["networks"]) == ["eth0"]
        assert stats["networks"]["eth0"]["tx_packets"] >= 0
    finally:
        ctr.remove(force=True)


def test_detach_keys_end_the_attach_and_the_container_runs_on(client: Any) -> None:
    ctr = client.api.create_container("busybox", "cat", stdin_open=True, tty=True)
    client.api.start(ctr)
    try:
        sock = client.api.attach_socket(ctr, {"stdin": 1, "stdout": 1, "stream": 1, "detachKeys": "ctrl-x"})._sock
        sock.settimeout(10)
        sock.sendall(b"first\n")
        received = b""
        while b"first" not in received:
            received += sock.recv(4096)
        sock.sendall(b"\x18")  # ctrl-x
        while chunk := sock.recv(4096):  # the daemon hangs up after the keys
            received += chunk
        assert b"\x18" not in received
        sock.close()
        assert client.api.inspect_container(ctr)["State"]["Running"] is True
        # stdin stayed open (StdinOnce unset): a second attach still reaches cat
        again = client.api.attach_socket(ctr, {"stdin": 1, "stdout": 1, "stream": 1})._sock
        again.settimeout(10)
        again.sendall(b"second\n")
        seen = b""
        while b"second" not in seen:
            seen += again.recv(4096)
        again.close()
        with pytest.raises(docker.errors.APIError, match=r"Invalid detach keys \(ctrl-1\) provided"):
            client.api.attach_socket(ctr, {"stdin": 1, "stream": 1, "detachKeys": "ctrl-1"})
    finally:
        client.api.remove_container(ctr, force=True)
