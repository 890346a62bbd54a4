"""The pytest plugin: ``fake_host`` and ``engine`` fixtures and the session leak check.

Use with ``pytest_plugins = ["seaway.testing.plugin"]``. Tests that touch the kernel need
root; they run inside a fresh fake host each and never in the machine's own namespace.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seaway.daemon.config import EngineConfig
from seaway.daemon.controller import Controller
from seaway.lab.fakehost import FakeHost, leftovers
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.images import busybox_rootfs_tar


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "netns: needs root and network namespaces (a fake host)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: builds network namespaces (CAP_SYS_ADMIN, CAP_NET_ADMIN)")
    for item in items:
        if "netns" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_in_root_namespace() -> Iterator[None]:
    before = set(leftovers()) if os.geteuid() == 0 else set()
    yield
    if os.geteuid() == 0:
        new = sorted(set(leftovers()) - before)
        assert not new, f"tests left objects in the machine's own namespace: {new}"


@pytest.fixture
def fake_host() -> Iterator[FakeHost]:
    host = FakeHost()
    try:
        yield host
    finally:
        host.close()


EngineFactory = Callable[..., Controller]


@pytest.fixture
def engine_factory(fake_host: FakeHost) -> Iterator[EngineFactory]:
    """Start engines inside the fake host; the test's thread stays in the fake host
    until the test ends, so every call it makes on an engine happens there."""
    started: list[Controller] = []

    def start(**overrides: object) -> Controller:
        config = EngineConfig(data_root=fake_host.data_root, exec_root=fake_host.exec_root, **overrides)  # type: ignore[arg-type]
        engine = Controller.start(config)
        started.append(engine)
        return engine

    with fake_host.entered():
        try:
            yield start
        finally:
            for engine in started:
                engine.close()


@pytest.fixture
def engine(engine_factory: EngineFactory) -> Controller:
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
