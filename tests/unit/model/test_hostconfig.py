"""HostConfig's limits, process settings and mounts: Docker's checks and texts, and
the OCI runtime spec they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaway.errors import InvalidParameter
from seaway.model.hostconfig import ProcessOptions, Resources, check_process, check_resources, updated
from seaway.model.mounts import parse_bind
from seaway.runtime import rootfs
from seaway.runtime import spec as ocispec


def test_memory_without_swap_gets_twice_as_docker_keeps_it() -> None:
    assert check_resources(Resources(memory=64 << 20)).memory_swap == 128 << 20
    assert check_resources(Resources(memory=64 << 20, memory_swap=-1)).memory_swap == -1


@pytest.mark.parametrize(
    ("resources", "text"),
    [
        (Resources(memory=1 << 20), "Minimum memory limit allowed is 6MB"),
        (Resources(memory=64 << 20, memory_swap=32 << 20), "Minimum memoryswap limit should be larger than memory"),
        (Resources(memory_swap=64 << 20), "You should always set the Memory limit when using Memoryswap limit"),
        (Resources(memory_swappiness=101), "Invalid value: 101, valid memory swappiness range is 0-100"),
        (Resources(nano_cpus=10**9, cpu_quota=5000), "Conflicting options: Nano CPUs and CPU Quota cannot both"),
        (Resources(device_cgroup_rules=("c 7 rwm",)), "invalid device cgroup format 'c 7 rwm'"),
    ],
)
def test_bad_limits_are_refused_with_dockers_text(resources: Resources, text: str) -> None:
    with pytest.raises(InvalidParameter, match=text):
        check_resources(resources)


def test_an_update_keeps_what_it_does_not_name() -> None:
    current = check_resources(Resources(memory=64 << 20, cpu_shares=512))
    new = updated(current, {"cpu_shares": 256, "memory": 0})
    assert (new.memory, new.memory_swap, new.cpu_shares) == (64 << 20, 128 << 20, 256)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        (ProcessOptions(runtime="crun"), "Unknown runtime specified crun"),
        (ProcessOptions(isolation="hyperv"), "Invalid isolation: 'hyperv' - Linux only supports 'default'"),
        (ProcessOptions(pid_mode="nope"), "invalid PID mode: nope"),
        (ProcessOptions(uts_mode="private"), "invalid UTS mode: private"),
    ],
)
def test_bad_process_settings_are_refused(options: ProcessOptions, text: str) -> None:
    with pytest.raises(InvalidParameter, match=text):
        check_process(options)


def test_runtime_spec_applies_limits_namespaces_and_privileges() -> None:
    process = ocispec.ProcessSpec(args=("sh",), env=(), cwd="/", tty=False, uid=5, gid=6, additional_gids=(7,))
    iso = ocispec.Isolation(
        options=ProcessOptions(pid_mode="host", uts_mode="host", cap_add=("NET_ADMIN",), cap_drop=("CHOWN",),
                               tmpfs={"/t": "size=1m"}, cgroupns_mode="private"),
        resources=check_resources(Resources(memory=64 << 20, nano_cpus=500_000_000, device_cgroup_rules=("c 7:* rw",))),
        init_program="/usr/bin/tini-static",
    )  # fmt: skip
    config = ocispec.runtime_spec(process, rootfs="/r", hostname="h", netns_path="/n", extra_mounts=[], isolation=iso)
    kinds = [ns["type"] for ns in config["linux"]["namespaces"]]
    assert kinds == ["ipc", "mount", "network", "cgroup"]
    assert "hostname" not in config  # runc refuses one without a UTS namespace
    caps = config["process"]["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in caps and "CAP_CHOWN" not in caps
    assert config["process"]["user"] == {"uid": 5, "gid": 6, "additionalGids": [7]}
    assert config["process"]["args"] == ["/sbin/docker-init", "--", "sh"]
    assert config["linux"]["resources"] == {
        "memory": {"limit": 64 << 20, "swap": 128 << 20},
        "cpu": {"period": 100_000, "quota": 50_000},
        "devices": [{"allow": True, "type": "c", "major": 7, "access": "rw"}],
    }
    tmpfs = next(m for m in config["mounts"] if m["destination"] == "/t")
    assert tmpfs["options"] == ["noexec", "nosuid", "nodev", "size=1m"]


def test_binds_parse_as_docker_reads_them() -> None:
    m = parse_bind("/srv/data:/data:ro,rshared")
    assert (m.type, m.source, m.target, m.read_only, m.propagation) == ("bind", "/srv/data", "/data", True, "rshared")
    assert parse_bind("cache:/c").type == "volume"
    with pytest.raises(InvalidParameter, match="invalid volume specification: '/only'"):
        parse_bind("/only")
    with pytest.raises(InvalidParameter, match='"bad name" includes invalid characters for a local volume name'):
        parse_bind("bad name:/x")


def test_users_and_groups_resolve_against_the_images_files(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nwww:x:33:\nstaff:x:50:web\naudio:x:29:\n")
    assert rootfs.resolve_user(tmp_path, "web", ("audio", "1234")) == (33, 33, (50, 29, 1234))
    assert rootfs.resolve_user(tmp_path, "1000:staff", ()) == (1000, 50, ())
    assert rootfs.resolve_user(tmp_path, "", ()) == (0, 0, ())
    with pytest.raises(InvalidParameter, match="unable to find user nobody: no matching entries in passwd file"):
        rootfs.resolve_user(tmp_path, "nobody", ())
