"""docker-py (7.x) against seawayd: the same scenarios as the CLI."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def test_networks_containers_exec_logs_through_docker_py(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    client = seawayd.client()
    with busybox_tar.open("rb") as fh:
        client.api.import_image(src=fh.read(), repository="busybox")
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.61.0.0/24", gateway="10.61.0.1")])
    net = client.networks.create("pynet", driver="bridge", ipam=ipam, labels={"k": "v"})
    assert client.networks.get("pynet").attrs["Labels"] == {"k": "v"}

    out = client.containers.run("busybox", ["sh", "-c", "echo hello"], remove=True, network="pynet")
    assert out == b"hello\n"

    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True, name="pyc", network="pynet")
    ctr.reload()
    assert ctr.status == "running"
    assert ctr.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"] == "10.61.0.2"
    code, output = ctr.exec_run(["sh", "-c", "echo in-container; exit 4"])
    assert (code, output) == (4, b"in-container\n")
    assert [c.name for c in client.containers.list()] == ["pyc"]
    net.reload()
    assert list(net.attrs["Containers"]) == [ctr.id]

    ctr.stop(timeout=1)
    ctr.reload()
    assert ctr.status == "exited"
    ctr.remove(force=True)
    net.remove()
    assert [n.name for n in client.networks.list()] == ["bridge", "host", "none"]


def test_docker_py_errors_carry_dockers_status_and_message(seawayd: SeawayDaemon) -> None:
    client = seawayd.client()

    with pytest.raises(docker.errors.NotFound, match="network nope not found"):
        client.networks.get("nope")
    with pytest.raises(docker.errors.NotFound, match="No such container: ghost"):
        client.containers.get("ghost")
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image", ["true"])


def test_inspect_with_a_scope_finds_only_networks_of_that_scope(seawayd: SeawayDaemon) -> None:
    """docker-py's test_create_inspect_network_with_scope (its local half; dockerd 20.10 alike)."""
    client = seawayd.client()
    net = client.networks.create("scoped")
    assert client.api.inspect_network("scoped", scope="local")["Id"] == net.id
    with pytest.raises(docker.errors.NotFound, match="network scoped not found"):
        client.api.inspect_network("scoped", scope="global")
    with pytest.raises(docker.errors.NotFound):
        client.api.inspect_network("scoped", scope="swarm")
    with pytest.raises(docker.errors.NotFound, match="network scoped not found"):  # dockerd 20.10: no 400
        client.api.inspect_network("scoped", scope="nope")


EXEC_NOT_FOUND = (
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "nonexist": '
    "executable file not found in $PATH: unknown"
)


def test_kill_exec_failures_and_log_drivers_as_dockerd(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    """What docker-py's own tests found (texts and codes from dockerd 20.10): a kill
    returns once the container has exited, so a remove right after it works; an exec of
    a program that cannot run exits 126 with Docker's text on stdout (a detached one is
    a 400); LogConfig is kept, and the ``none`` driver's logs cannot be read."""
    client = seawayd.client()
    with busybox_tar.open("rb") as fh:
        client.api.import_image(src=fh.read(), repository="busybox")
    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True)
    ctr.kill()
    ctr.reload()
    assert (ctr.status, ctr.attrs["State"]["ExitCode"]) == ("exited", 137)
    ctr.remove()

    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True)
    assert ctr.exec_run("nonexist", demux=True) == (126, ((EXEC_NOT_FOUND + "\r\n").encode(), None))
    code, output = ctr.exec_run(["/etc"])
    assert (code, output) == (
        126,
        b'OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc": permission denied: unknown\r\n',
    )
    assert ctr.exec_run(["sh", "-c", "echo out; echo err >&2; exit 255"], demux=True) == (255, (b"out\n", b"err\n"))
    exec_id = client.api.exec_create(ctr.id, "nonexist")["Id"]
    with pytest.raises(docker.errors.APIError) as refused:
        client.api.exec_start(exec_id, detach=True)
    assert (refused.value.status_code, refused.value.explanation) == (400, EXEC_NOT_FOUND)
    assert client.api.exec_inspect(exec_id)["ExitCode"] == 126

    assert client.containers.run("busybox", "echo hello", log_config={"type": "none"}) is None
    quiet = client.containers.run("busybox", "echo hello", log_config={"type": "none"}, detach=True)
    with pytest.raises(docker.errors.APIError) as unread:
        quiet.logs()
    assert (unread.value.status_code, unread.value.explanation) == (
        501,
        "configured logging driver does not support reading",
    )
    kept = client.api.create_container(
        "busybox",
        ["true"],
        host_config=client.api.create_host_config(log_config={"type": "", "config": {"max-file": "100"}}),
    )
    assert client.api.inspect_container(kept)["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-file": "100"},
    }


def test_the_last_output_is_in_the_logs_once_wait_returns(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    """docker-py's test_attach_no_stream, repeated: docker-py reads a hijacked answer's
    head through a buffer and then the raw socket, so the backlog must not arrive along
    with the head (it got b'' about one time in five)."""
    api = seawayd.client().api
    with busybox_tar.open("rb") as fh:
        api.import_image(src=fh.read(), repository="busybox")
    for _ in range(10):
        ctr = api.create_container("busybox", "echo hello")
        api.start(ctr)
        api.wait(ctr, condition="not-running")
        assert api.attach(ctr, stream=False, logs=True) == b"hello\n"
        assert api.logs(ctr) == b"hello\n"
        api.remove_container(ctr)
