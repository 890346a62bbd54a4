"""The pytest plugin: ``fake_host``, ``engine`` and ``lab`` fixtures and the session leak check.

Use with ``pytest_plugins = ["seaway.testing.plugin"]``. Tests that touch the kernel need
root; they run inside a fresh fake host each and never in the machine's own namespace.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seaway.engine import Engine
from seaway.engine.config import EngineConfig
from seaway.lab import Lab, Topology, load
from seaway.lab.demo import DEMO_FILE
from seaway.lab.fakehost import FakeHost, leftovers
from seaway.lab.topology import to_data
from seaway.testing import vmtests
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.images import busybox_rootfs_tar


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "netns: needs root and network namespaces (a fake host)")
    config.addinivalue_line(
        "markers", "lab_topology(data): the topology (dict, Topology or file path) the lab fixture builds"
    )
    vmtests.register(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: builds network namespaces (CAP_SYS_ADMIN, CAP_NET_ADMIN)")
    for item in items:
        if "netns" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _made_here() -> Iterator[set[str]]:
    """Prefixes of the fake hosts this session made. At the end, nothing of theirs may
    remain, and nothing Seaway-like may have appeared in the machine's own namespace.
    (Namespaces and mounts of *other* test runs on the machine are not this session's
    business, so they are filtered out rather than raced with.)"""
    made: set[str] = set()
    before = set(leftovers()) if os.geteuid() == 0 else set()
    yield made
    if os.geteuid() == 0:
        new = sorted(set(leftovers()) - before)
        ours = [item for item in new if not item.startswith(("netns ", "mount ")) or any(p in item for p in made)]
        assert not ours, f"tests left objects in the machine's own namespace: {ours}"


@pytest.fixture
def fake_host(_made_here: set[str]) -> Iterator[FakeHost]:
    host = FakeHost()
    _made_here.add(host.prefix)
    try:
        yield host
    finally:
        host.close()


EngineFactory = Callable[..., Engine]

#: seconds a plugin call may take in tests (Docker's 30 would make a dead plugin's test slow)
TEST_PLUGIN_TIMEOUT = 4.0


def plugin_dirs(host: FakeHost) -> dict[str, Any]:
    """Plugin directories inside the fake host's own directory: a test never looks at
    the machine's /run/docker/plugins or /etc/docker/plugins."""
    return {
        "plugin_socket_dirs": (host.root / "plugins",),
        "plugin_spec_dirs": (host.root / "plugin-specs",),
        "plugin_timeout": TEST_PLUGIN_TIMEOUT,
    }


@pytest.fixture
def engine_factory(fake_host: FakeHost) -> Iterator[EngineFactory]:
    """Start engines inside the fake host; the test's thread stays in the fake host
    until the test ends, so every call it makes on an engine happens there."""
    started: list[Engine] = []

    def start(**overrides: object) -> Engine:
        overrides = {**plugin_dirs(fake_host), **overrides}
        config = EngineConfig(data_root=fake_host.data_root, exec_root=fake_host.exec_root, **overrides)  # type: ignore[arg-type]
        engine = Engine.start(config)
        started.append(engine)
        return engine

    with fake_host.entered():
        try:
            yield start
        finally:
            for engine in started:
                engine.close()


@pytest.fixture
def engine(engine_factory: EngineFactory) -> Engine:
    return engine_factory()


@pytest.fixture
def seawayd(fake_host: FakeHost) -> Iterator[SeawayDaemon]:
    """A running seawayd inside the fake host (docker CLI: ``seawayd.docker(...)``;
    docker-py: ``seawayd.client()``); stopped, with its containers, at the end."""
    daemon = SeawayDaemon(fake_host)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.close()


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox root filesystem tarball for ``docker import``."""
    return busybox_rootfs_tar(tmp_path_factory.mktemp("images") / "busybox.tar")


@pytest.fixture
def lab_topology(request: pytest.FixtureRequest) -> Any:
    """The topology the ``lab`` fixture builds: ``@pytest.mark.lab_topology(...)`` (a dict
    as in the YAML file, a Topology, or a file path); override this fixture to share one.
    Without either, the demo lab."""
    marker = request.node.get_closest_marker("lab_topology")
    return marker.args[0] if marker else DEMO_FILE


@pytest.fixture
def lab(lab_topology: Any, _made_here: set[str]) -> Iterator[Lab]:
    """A lab built from ``lab_topology`` under a unique name and a private directory,
    up for the test and taken down (everything it made) afterwards."""
    yield from lab_session(lab_topology, _made_here)


#: labs that are up (``lab_session``): a failing test's report carries their daemons' logs
_LIVE_LABS: list[Lab] = []
LOG_TAIL = 4000  # characters of each host's seawayd log in a failure report


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test in a lab shows the end of each host's ``seawayd.log`` (in CI the lab
    is gone by the time anyone looks)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.when == "teardown":
        return
    for lab in list(_LIVE_LABS):
        for host in lab.hosts:
            path = host.files.log
            try:
                text = path.read_text(errors="replace")[-LOG_TAIL:]
            except OSError:
                continue
            report.sections.append((f"seawayd.log of {host.name} (last {LOG_TAIL} characters)", text))


def lab_session(topology: Any, made: set[str]) -> Iterator[Lab]:
    """Up a lab under a unique name in a private run directory; down at the end."""
    if isinstance(topology, (str, Path)):
        topology = load(Path(topology).read_text())
    data = to_data(topology) if isinstance(topology, Topology) else dict(topology)
    name = "t" + secrets.token_hex(4)
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    made.update({f"swl-{name}-", str(run_dir)})
    lab = Lab({**data, "name": name}, run_dir=run_dir)
    try:
        lab.up()
        _LIVE_LABS.append(lab)
        yield lab
    finally:
        if lab in _LIVE_LABS:
            _LIVE_LABS.remove(lab)
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)
