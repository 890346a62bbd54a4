"""A container's ``NetworkSettings.Networks`` as docker-py reads them: the shape follows the
API version the client negotiated (20.10's below 1.45), and endpoint settings are shown
back as they were given."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def client_at(daemon: SeawayDaemon, version: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=daemon.docker_host, version=version, timeout=60)


def test_run_with_networking_config_at_1_45_shows_the_aliases_as_given(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    client = client_at(seawayd, "1.45")
    seawayd.docker("import", str(busybox_tar), "busybox")
    client.networks.create("dockerpy1")
    networking_config = {
        "dockerpy1": client.api.create_endpoint_config(aliases=["hello"], driver_opt={"key1": "a"})
    }  # docker-py's own test_run_with_networking_config
    container = client.containers.run(
        "busybox", "echo hello world", name="nc45", network="dockerpy1",
        networking_config=networking_config, detach=True,
    )  # fmt: skip

    settings = container.attrs["NetworkSettings"]["Networks"]
    assert list(settings) == ["dockerpy1"]
    assert settings["dockerpy1"]["Aliases"] == ["hello"]
    assert settings["dockerpy1"]["DriverOpts"] == {"key1": "a"}
    assert settings["dockerpy1"]["DNSNames"] == ["nc45", "hello", container.id[:12]]


def test_at_1_41_the_aliases_have_2010s_shape(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    client = client_at(seawayd, "1.41")
    seawayd.docker("import", str(busybox_tar), "busybox")
    client.networks.create("dockerpy2")
    config = client.api.create_networking_config({"dockerpy2": client.api.create_endpoint_config(aliases=["hello"])})
    created = client.api.create_container(
        "busybox", "sleep 300", name="nc41", hostname="other",
        host_config=client.api.create_host_config(network_mode="dockerpy2"), networking_config=config,
    )  # fmt: skip
    before = client.api.inspect_container(created["Id"])["NetworkSettings"]["Networks"]["dockerpy2"]
    assert before["Aliases"] == ["hello"]  # 20.10 adds the rest when the container starts
    assert "DNSNames" not in before and "GwPriority" not in before

    client.api.start(created["Id"])
    after = client.api.inspect_container(created["Id"])["NetworkSettings"]["Networks"]["dockerpy2"]
    assert after["Aliases"] == ["hello", created["Id"][:12], "other"]
    assert client_at(seawayd, "1.45").containers.get("nc41").attrs["NetworkSettings"]["Networks"]["dockerpy2"][
        "Aliases"
    ] == ["hello"]


def test_endpoint_settings_are_kept_and_shown_as_given(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    client = client_at(seawayd, "1.41")
    seawayd.docker("import", str(busybox_tar), "busybox")
    client.networks.create(
        "given", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.61.0.0/24")])
    )
    endpoint = client.api.create_endpoint_config(
        ipv4_address="10.61.0.7", link_local_ips=["169.254.8.8"], driver_opt={"k": "v"}
    )
    created = client.api.create_container(
        "busybox", "sleep 300", name="given1", mac_address="02:42:0a:3d:00:99",
        host_config=client.api.create_host_config(network_mode="given"),
        networking_config=client.api.create_networking_config({"given": endpoint}),
    )  # fmt: skip
    info = client.api.inspect_container(created["Id"])
    shown = info["NetworkSettings"]["Networks"]["given"]
    assert shown["IPAMConfig"] == {"IPv4Address": "10.61.0.7", "LinkLocalIPs": ["169.254.8.8"]}
    assert shown["DriverOpts"] == {"k": "v"}
    assert shown["MacAddress"] == "02:42:0a:3d:00:99"  # before start: as given
    assert info["Config"]["MacAddress"] == "02:42:0a:3d:00:99"

    client.api.start(created["Id"])
    running = client.containers.get("given1")
    assert running.attrs["NetworkSettings"]["Networks"]["given"]["MacAddress"] == "02:42:0a:3d:00:99"
    assert running.exec_run("cat /sys/class/net/eth0/address").output == b"02:42:0a:3d:00:99\n"

    docker_cli = seawayd.docker(
        "run", "-d", "--name", "given2", "--network", "given", "--mac-address", "02:42:0a:3d:00:aa", "busybox",
        "sleep", "300",
    )  # fmt: skip
    assert docker_cli.returncode == 0, docker_cli.stderr
    assert seawayd.docker("exec", "given2", "cat", "/sys/class/net/eth0/address").stdout == "02:42:0a:3d:00:aa\n"
