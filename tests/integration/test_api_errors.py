"""Bad input through the Engine API: Docker's status and message, nothing half-made."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def containers(daemon: SeawayDaemon) -> list[str]:
    status, body = daemon.request("GET", "/containers/json?all=1")
    assert status == 200
    return sorted(c["Names"][0] for c in body)


def networks(daemon: SeawayDaemon) -> list[str]:
    return sorted(n["Name"] for n in daemon.request("GET", "/networks")[1])


@pytest.fixture
def daemon(seawayd: SeawayDaemon, busybox_tar: Path) -> SeawayDaemon:
    assert seawayd.docker("import", str(busybox_tar), "busybox").returncode == 0
    assert seawayd.docker("network", "create", "--subnet", "10.80.0.0/24", "front").returncode == 0
    return seawayd


CASES = [
    ("GET", "/networks/nope", None, 404, "network nope not found"),
    ("DELETE", "/v1.41/networks/nope", None, 404, "network nope not found"),
    ("GET", "/containers/ghost/json", None, 404, "No such container: ghost"),
    ("POST", "/containers/ghost/start", None, 404, "No such container: ghost"),
    ("POST", "/networks/front/connect", {"Container": "ghost"}, 404, "No such container: ghost"),
    ("POST", "/networks/create", {"Name": "front"}, 409, "network with name front already exists"),
    ("POST", "/networks/create", {"Name": "x", "Driver": 5}, 400, "Driver"),
    ("POST", "/networks/create", {"Name": "x", "Internal": "yes"}, 400, "Internal"),
    ("POST", "/networks/create", b"{not json", 400, "invalid JSON"),
    ("POST", "/networks/create", {"Name": "x", "IPAM": {"Config": [{"Subnet": "10.80.0.0/16"}]}}, 403,
     "Pool overlaps with other one on this address space"),
    ("POST", "/networks/create", {"Name": "bridge"}, 403, "operation is not permitted on predefined bridge network"),
    ("DELETE", "/networks/host", None, 403, "host is a pre-defined network and cannot be removed"),
    ("POST", "/containers/create", {"Image": "nope", "Cmd": ["true"]}, 404, "No such image: nope:latest"),
    ("POST", "/containers/create", {"Image": "busybox", "Cmd": "true", "Env": {"A": 1}}, 400, "Env"),
    ("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "nope"}},
     404, "network nope not found"),
    ("POST", "/containers/create",
     {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "host"},
      "NetworkingConfig": {"EndpointsConfig": {"front": {}}}},
     403, "container cannot be disconnected from host network or connected to host network"),
    ("POST", "/containers/create",
     {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"},
      "NetworkingConfig": {"EndpointsConfig": {"front": {}}}},
     403, "with one of the networks in private (none) mode"),
    ("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"RestartPolicy": {"Name": "often"}}},
     400, "invalid restart policy"),
    ("POST", "/containers/create", {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "asdf"}}},
     400, 'error looking up logging plugin asdf: plugin "asdf" not found'),
    ("POST", "/containers/create",
     {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"bogus": "1"}}}},
     400, "unknown log opt 'bogus' for json-file log driver"),
    ("POST", "/containers/create",
     {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "local", "Config": {"tag": "x"}}}},
     400, "unknown log opt 'tag' for log driver local"),
    ("POST", "/containers/create", {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "syslog"}}},
     501, "logging driver syslog is not supported by Seaway"),
    ("GET", "/services", None, 503, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join"'),
    ("GET", "/v1.44/services/x/logs", None, 503, "This node is not a swarm manager"),
    ("GET", "/swarm", None, 503, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join"'),
    ("POST", "/swarm/leave", None, 503, "This node is not part of a swarm"),
    ("POST", "/swarm/join", {"JoinToken": "nope", "RemoteAddrs": ["192.0.2.1"]}, 400, "invalid join token"),
    ("POST", "/swarm/init", {"AdvertiseAddr": "203.0.113.9"}, 400, "advertise address 203.0.113.9 is not an address of this node"),
    ("POST", "/swarm/init", {"AdvertiseAddr": "nosuchif0"}, 400, "failed to parse address or interface name 'nosuchif0'"),
    ("POST", "/v1.44/build", None, 501, "is not implemented by Seaway"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), CASES)
def test_bad_requests_get_dockers_status_and_message_and_change_nothing(
    daemon: SeawayDaemon, method: str, path: str, body: object, status: int, message: str
) -> None:
    before = (containers(daemon), networks(daemon))

    got_status, got = daemon.request(method, path, body)

    assert got_status == status
    assert message in got["message"]
    assert (containers(daemon), networks(daemon)) == before


def test_name_conflict_is_409_with_dockers_text(daemon: SeawayDaemon) -> None:
    assert daemon.request("POST", "/containers/create?name=app", {"Image": "busybox", "Cmd": ["true"]})[0] == 201

    status, body = daemon.request("POST", "/containers/create?name=app", {"Image": "busybox", "Cmd": ["true"]})

    assert status == 409
    assert body["message"].startswith('Conflict. The container name "/app" is already in use by container')
    assert containers(daemon) == ["/app"]


def test_removing_a_running_container_needs_force(daemon: SeawayDaemon) -> None:
    assert daemon.docker("run", "-d", "--name", "busy", "--network", "front", "busybox", "sleep", "300").returncode == 0

    status, body = daemon.request("DELETE", "/containers/busy")

    assert status == 409
    assert "You cannot remove a running container" in body["message"]
    assert "Stop the container before attempting removal or force remove" in body["message"]
    assert daemon.request("GET", "/containers/busy/json")[1]["State"]["Running"] is True
    assert daemon.request("DELETE", "/containers/busy?force=1")[0] == 204
    assert daemon.request("GET", "/networks/front")[1]["Containers"] == {}


def test_removing_a_network_in_use_is_refused(daemon: SeawayDaemon) -> None:
    assert daemon.docker("run", "-d", "--name", "web", "--network", "front", "busybox", "sleep", "300").returncode == 0

    status, body = daemon.request("DELETE", "/networks/front")

    assert status == 403
    front = daemon.request("GET", "/networks/front")[1]["Id"]
    assert body["message"] == f"error while removing network: network front id {front} has active endpoints"


def test_a_failed_start_leaves_no_sandbox_behind(daemon: SeawayDaemon) -> None:
    spec = {"Image": "busybox", "Cmd": ["/no/such/program"], "HostConfig": {"NetworkMode": "front"}}
    assert daemon.request("POST", "/containers/create?name=broken", spec)[0] == 201

    status, body = daemon.request("POST", "/containers/broken/start")

    assert status == 400  # dockerd 20.10: a program that cannot run is the request's fault
    assert "/no/such/program" in body["message"]
    assert daemon.request("GET", "/containers/broken/json")[1]["State"]["ExitCode"] == 127
    spec = {"Image": "busybox", "Cmd": ["/etc"], "HostConfig": {"NetworkMode": "none"}}
    assert daemon.request("POST", "/containers/create?name=dir", spec)[0] == 201
    assert daemon.request("POST", "/containers/dir/start")[0] == 400
    assert daemon.request("GET", "/containers/dir/json")[1]["State"]["ExitCode"] == 126
    assert daemon.request("GET", "/networks/front")[1]["Containers"] == {}
    assert daemon.request("GET", "/containers/broken/json")[1]["State"]["Running"] is False
    # the address is free again: the next container gets the first one
    assert daemon.docker("run", "-d", "--name", "next", "--network", "front", "busybox", "sleep", "300").returncode == 0
    assert (
        daemon.request("GET", "/containers/next/json")[1]["NetworkSettings"]["Networks"]["front"]["IPAddress"]
        == "10.80.0.2"
    )
