"""``python -m compat``: docker-py's integration tests against seawayd and dockerd 20.10.

    .venv/bin/python -m compat --docker-py-src DIR --docker-py-python PY [--only seaway|dockerd] [-k FILES]

DIR is a checkout of docker-py's 7.1.0 tag (``git clone -b 7.1.0
https://github.com/docker/docker-py``), PY a Python with docker==7.1.0, paramiko and
pytest. Each daemon runs in a fake host of its own; the two runs go at once. Writes
compat/results/<date>-dockerpy.json and prints the pass counts and every test whose
outcome differs between the daemons.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from compat import compose, dockerpy
from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.dockerd import DockerDaemon
from seaway.testing.images import busybox_rootfs_tar

RESULTS = Path(__file__).parent / "results"


def _side(
    name: str, suites: list[str], src: Path, python: Path, files: tuple[str, ...], tar: Path, out: dict[str, Any]
) -> None:
    host = FakeHost()
    daemon: Any = None
    try:
        daemon = (
            SeawayDaemon(host, "--log-level", "info") if name == "seaway" else DockerDaemon(host, default_bridge=True)
        )
        daemon.start()
        dockerpy.prepare(daemon.docker, tar)
        if "compose" in suites:
            out[f"compose_{name}"] = compose.observe(
                compose.Compose(host.host_ns, daemon.docker_host, host.root, daemon.docker)
            )
        if "dockerpy" in suites:
            started = time.monotonic()
            log = RESULTS / f"dockerpy-{name}.log"
            out[name] = dockerpy.run(host.host_ns, daemon.docker_host, src, python, files, log)
            out[f"{name}_seconds"] = round(time.monotonic() - started)
    except BaseException as exc:  # reported with the other side's results
        out[f"{name}_error"] = repr(exc)
    finally:
        if daemon is not None:
            daemon.close()
        host.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m compat")
    parser.add_argument("--suite", nargs="*", choices=("dockerpy", "compose"), default=["dockerpy", "compose"])
    parser.add_argument("--docker-py-src", type=Path)
    parser.add_argument("--docker-py-python", type=Path)
    parser.add_argument("--only", choices=("seaway", "dockerd"))
    parser.add_argument("-k", "--files", nargs="*", default=list(dockerpy.FILES))
    args = parser.parse_args()
    if "dockerpy" in args.suite and not (args.docker_py_src and args.docker_py_python):
        parser.error("--suite dockerpy needs --docker-py-src and --docker-py-python")
    RESULTS.mkdir(exist_ok=True)
    sides = [args.only] if args.only else ["seaway", "dockerd"]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tar = busybox_rootfs_tar(Path(tmp) / "busybox.tar")
        threads = [
            threading.Thread(
                target=_side,
                args=(s, args.suite, args.docker_py_src, args.docker_py_python, tuple(args.files), tar, results),
            )
            for s in sides
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    report(results, sides)
    stamp = time.strftime("%Y-%m-%d")
    (RESULTS / f"{stamp}-{'-'.join(args.suite)}.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def report(results: dict[str, Any], sides: list[str]) -> None:
    if all(f"compose_{s}" in results for s in ("seaway", "dockerd")):
        a, b = results["compose_seaway"], results["compose_dockerd"]
        same = [k for k in a if a[k] == b.get(k)]
        print(f"compose: {len(same)}/{len(a)} observations alike")
        for k in a:
            if a[k] != b.get(k):
                print(f"  differs: {k}: seaway {a[k]!r}, dockerd {b.get(k)!r}")
    for side in sides:
        if side not in results and f"{side}_error" not in results:
            continue
        if f"{side}_error" in results:
            print(f"{side}: did not run: {results[side + '_error']}")
            continue
        counts: dict[str, int] = {}
        for outcome in results[side].values():
            counts[outcome] = counts.get(outcome, 0) + 1
        print(
            f"{side}: {counts.get('passed', 0)}/{len(results[side])} passed {counts} in {results[side + '_seconds']} s"
        )
    if all(s in results for s in ("seaway", "dockerd")):
        for test in sorted(set(results["seaway"]) | set(results["dockerd"])):
            a, b = results["seaway"].get(test), results["dockerd"].get(test)
            if a != b:
                print(f"  differs: {test}: seaway {a}, dockerd {b}")


if __name__ == "__main__":
    main()
