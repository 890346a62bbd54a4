"""Finding plugins by name, as Docker does: sockets first, then spec files."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from seaway.errors import InvalidParameter, Unsupported
from seaway.plugins.discovery import PluginDirs, find


@pytest.fixture
def dirs(tmp_path: Path) -> PluginDirs:
    sockets, specs = tmp_path / "run", tmp_path / "etc"
    sockets.mkdir()
    specs.mkdir()
    return PluginDirs(sockets=(sockets,), specs=(specs,))


@pytest.fixture
def listening() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for s in made:
        s.close()


def bind(path: Path, made: list[socket.socket]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    made.append(s)


def test_a_socket_is_found_flat_or_in_a_directory_of_its_name(dirs: PluginDirs, listening: list) -> None:
    bind(dirs.sockets[0] / "weave.sock", listening)
    bind(dirs.sockets[0] / "calico" / "calico.sock", listening)
    assert find("weave", dirs).unix == str(dirs.sockets[0] / "weave.sock")  # type: ignore[union-attr]
    assert find("calico", dirs).unix == str(dirs.sockets[0] / "calico" / "calico.sock")  # type: ignore[union-attr]


def test_a_socket_wins_over_a_spec_file(dirs: PluginDirs, listening: list) -> None:
    bind(dirs.sockets[0] / "ex.sock", listening)
    (dirs.specs[0] / "ex.spec").write_text("tcp://127.0.0.1:9999\n")
    assert find("ex", dirs).unix  # type: ignore[union-attr]


def test_a_plain_file_named_sock_is_not_a_plugin(dirs: PluginDirs) -> None:
    (dirs.sockets[0] / "ex.sock").write_text("")
    assert find("ex", dirs) is None


def test_spec_files_give_an_address(dirs: PluginDirs) -> None:
    (dirs.specs[0] / "tcpone.spec").write_text("tcp://127.0.0.1:9999\n")
    (dirs.specs[0] / "unixone.spec").write_text("unix:///run/elsewhere/u.sock")
    (dirs.specs[0] / "jsonone.json").write_text(json.dumps({"Name": "jsonone", "Addr": "unix:///run/j.sock"}))
    assert find("tcpone", dirs).tcp == "127.0.0.1:9999"  # type: ignore[union-attr]
    assert find("unixone", dirs).unix == "/run/elsewhere/u.sock"  # type: ignore[union-attr]
    assert find("jsonone", dirs).unix == "/run/j.sock"  # type: ignore[union-attr]


def test_bad_spec_files_are_refused_with_a_reason(dirs: PluginDirs) -> None:
    (dirs.specs[0] / "noscheme.spec").write_text("/run/x.sock")
    (dirs.specs[0] / "tls.json").write_text(json.dumps({"Addr": "tcp://h:1", "TLSConfig": {"CAFile": "/ca"}}))
    with pytest.raises(InvalidParameter, match="Unknown protocol"):
        find("noscheme", dirs)
    with pytest.raises(Unsupported, match="TLS"):
        find("tls", dirs)


def test_an_unknown_or_path_like_name_is_not_found(dirs: PluginDirs) -> None:
    assert find("nothere", dirs) is None
    assert find("../etc", dirs) is None
    assert find("", dirs) is None
    assert find("nul\0byte", dirs) is None
    assert find("x" * 300, dirs) is None
