"""Plugin calls: Docker's back-off, error texts and the handling of 404 and bad answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from seaway.plugins.client import MethodNotFound, PluginClient, PluginError, backoff
from seaway.plugins.discovery import PluginAddress


def test_backoff_doubles_from_one_second_up_to_the_limit() -> None:
    assert [backoff(r, 30) for r in range(7)] == [1, 2, 4, 8, 16, 30, 30]


class OneShotServer:
    """Answers each connection on a unix socket with the next canned HTTP answer."""

    def __init__(self, path: Path, answers: list[tuple[int, bytes]]) -> None:
        self.requests: list[bytes] = []
        self._answers = answers
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(str(path))
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for status, body in self._answers:
            conn, _ = self._sock.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest)
                conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body))

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    servers: list[OneShotServer] = []

    def start(*answers: tuple[int, bytes]) -> tuple[PluginClient, OneShotServer]:
        path = tmp_path / "p.sock"
        server = OneShotServer(path, list(answers))
        servers.append(server)
        return PluginClient(PluginAddress("p", unix=str(path)), timeout=5), server

    yield start
    for s in servers:
        s.close()


def test_a_call_posts_json_with_dockers_accept_header(serve) -> None:  # type: ignore[no-untyped-def]
    client, server = serve((200, b'{"Implements": ["NetworkDriver"]}'))
    assert client.call("Plugin.Activate") == {"Implements": ["NetworkDriver"]}
    request = server.requests[0]
    assert request.startswith(b"POST /Plugin.Activate HTTP/1.1")
    assert b"Accept: application/vnd.docker.plugins.v1.2+json" in request


def test_a_non_200_answer_is_method_and_err(serve) -> None:  # type: ignore[no-untyped-def]
    client, _ = serve((500, json.dumps({"Err": "disk on fire"}).encode()), (418, b"plain words"), (404, b"404 page"))
    with pytest.raises(PluginError, match="^NetworkDriver.Join: disk on fire$"):
        client.call("NetworkDriver.Join", {})
    with pytest.raises(PluginError, match="^NetworkDriver.Join: plain words$"):
        client.call("NetworkDriver.Join", {})
    with pytest.raises(MethodNotFound):
        client.call("NetworkDriver.ProgramExternalConnectivity", {})


def test_an_unreachable_plugin_is_given_up_with_gos_words(tmp_path: Path) -> None:
    path = tmp_path / "gone.sock"
    client = PluginClient(PluginAddress("gone", unix=str(path)), timeout=0.5)  # shorter than the first back-off
    with pytest.raises(PluginError) as caught:
        client.call("NetworkDriver.Join", {})
    quoted = str(path).replace("/", "%2F")
    assert str(caught.value) == (
        f'Post "http://{quoted}/NetworkDriver.Join": dial unix {path}: connect: no such file or directory'
    )
