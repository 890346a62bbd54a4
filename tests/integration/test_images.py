"""Image names through the docker CLI and docker-py: ``docker tag``, ``docker rmi`` of one
name among several, and Docker's conflict texts."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def names(daemon: SeawayDaemon) -> list[str]:
    return sorted(ok(daemon, "images", "--format", "{{.Repository}}:{{.Tag}}").split())


def test_tag_gives_a_second_name_both_run_and_rmi_of_one_name_leaves_the_other(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    image_id = ok(seawayd, "import", str(busybox_tar), "bb").strip()
    ok(seawayd, "tag", "bb:latest", "alpine:3.10")
    assert names(seawayd) == ["alpine:3.10", "bb:latest", "seaway/host:latest"]
    assert ok(seawayd, "run", "--rm", "alpine:3.10", "echo", "one") == "one\n"
    assert ok(seawayd, "run", "--rm", "bb", "echo", "two") == "two\n"

    client = seawayd.client()
    assert client.images.get("bb").tag("registry.example:5000/team/app", "v1") is True
    assert client.images.get("registry.example:5000/team/app:v1").id == image_id

    assert ok(seawayd, "rmi", "alpine:3.10") == "Untagged: alpine:3.10\n"
    assert ok(seawayd, "rmi", "registry.example:5000/team/app:v1") == "Untagged: registry.example:5000/team/app:v1\n"
    assert names(seawayd) == ["bb:latest", "seaway/host:latest"]
    assert ok(seawayd, "run", "--rm", "bb", "echo", "three") == "three\n"


def test_tag_moves_a_name_and_rmi_answers_dockers_conflicts(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    first = ok(seawayd, "import", str(busybox_tar), "one").strip().removeprefix("sha256:")[:12]
    second = ok(seawayd, "import", str(busybox_tar), "two").strip().removeprefix("sha256:")[:12]
    ok(seawayd, "tag", "one", "shared")
    ok(seawayd, "tag", "two", "shared")  # the name moves to the other image
    assert ok(seawayd, "images", "-q", "shared").strip() == second
    assert ok(seawayd, "images", "-q", "one").strip() == first

    refused = seawayd.docker("rmi", second)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"Error response from daemon: conflict: unable to delete {second} (must be forced) - "
        "image is referenced in multiple repositories\n"
    )
    cid = ok(seawayd, "create", "one", "true").strip()
    refused = seawayd.docker("rmi", "one")
    assert refused.stderr == (
        'Error response from daemon: conflict: unable to remove repository reference "one" (must force) - '
        f"container {cid[:12]} is using its referenced image {first}\n"
    )
    status, body = seawayd.request("POST", "/v1.41/images/two/tag?repo=Bad&tag=x")
    assert (status, body) == (400, {"message": "invalid reference format: repository name must be lowercase"})
    status, body = seawayd.request("POST", "/v1.41/images/two/tag?repo=good&tag=no:pe")
    assert (status, body) == (400, {"message": "invalid tag format"})
    with pytest.raises(docker.errors.ImageNotFound, match="No such image: nosuch:latest"):
        seawayd.client().api.tag("nosuch", "x")

    full = ok(seawayd, "inspect", "-f", "{{.Id}}", "two").strip()
    assert ok(seawayd, "rmi", "-f", second).splitlines() == [
        "Untagged: two:latest",
        "Untagged: shared:latest",
        f"Deleted: {full}",
    ]
    assert names(seawayd) == ["one:latest", "seaway/host:latest"]
