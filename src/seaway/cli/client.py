"""HTTP/1.1 to seawayd over its unix socket (or TCP), with the standard library only.

Owns the daemon address (``-H``, ``SEAWAY_HOST``, the default socket), JSON requests,
streamed and hijacked (``Upgrade: tcp``) answers, and turning a daemon's
``{"message": …}`` into :class:`DaemonError`. It prints nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

DEFAULT_HOST = "unix:///run/seaway.sock"
HOST_ENV = "SEAWAY_HOST"
TIMEOUT = 60.0  # plain requests; streams (logs -f, attach, wait) have none


class DaemonError(Exception):
    """The daemon answered 4xx/5xx; ``str()`` is its message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class DaemonUnreachable(Exception):
    """Nothing answers at the daemon's address."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def resolve_host(flag: str | None) -> str:
    """``-H`` wins, then ``SEAWAY_HOST``, then the default socket."""
    return flag or os.environ.get(HOST_ENV) or DEFAULT_HOST


def query(params: dict[str, Any]) -> str:
    """``?k=v&…`` for the parameters that are set (booleans as 1, filters as JSON)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value is False or value == {} or value == "":
            continue
        if value is True:
            out[key] = "1"
        elif isinstance(value, dict):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return "?" + urlencode(out) if out else ""


def segment(name: str) -> str:
    """A name or ID as one path segment."""
    return quote(name, safe=":@")


@dataclass
class Stream:
    """An answer read as it arrives: ``raw`` is true for a TTY's unframed bytes."""

    response: http.client.HTTPResponse
    raw: bool

    @property
    def body(self) -> IO[bytes]:
        # a hijacked (101) answer has no HTTP framing: read the socket itself
        return self.response.fp if self.response.status == 101 else self.response  # type: ignore[return-value]

    def close(self) -> None:
        self.response.close()


class Client:
    def __init__(self, host: str) -> None:
        self.host = host
        url = urlsplit(host)
        if url.scheme == "unix" and url.path:
            self._address: tuple[str, str | int] = ("unix", url.path)
        elif url.scheme == "tcp" and url.hostname:
            self._address = (url.hostname, url.port or 2375)
        else:
            raise DaemonUnreachable(f"invalid daemon address {host!r}: expected unix:///path or tcp://host:port")

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        kind, where = self._address
        if kind == "unix":
            return _UnixConnection(str(where), timeout)
        return http.client.HTTPConnection(kind, int(where), timeout=timeout)

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = TIMEOUT,
    ) -> http.client.HTTPResponse:
        conn = self._connection(timeout)
        all_headers = {"User-Agent": "seaway-cli", **(headers or {})}
        payload = body
        if body is not None and not hasattr(body, "read"):
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
        except OSError as exc:  # refused, missing socket, timeout
            conn.close()
            raise DaemonUnreachable(
                f"Cannot connect to the Seaway daemon at {self.host}. Is seawayd running? ({exc})"
            ) from exc
        if response.status >= 400:
            raise _error(response)
        return response

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One request; the decoded JSON answer (None when the body is empty)."""
        response = self._send(method, path, body, headers)
        with response:
            data = response.read()
        return json.loads(data) if data.strip() else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def stream(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Stream:
        """An answer to read as it arrives (logs, wait, image import), without a timeout."""
        response = self._send(method, path, body, headers, timeout=None)
        return Stream(response, response.getheader("Content-Type", "") == RAW_STREAM)

    def hijack(self, path: str, body: Any = None) -> Stream:
        """Docker's hijacked connection (attach, exec start): ``101`` then raw frames."""
        return self.stream("POST", path, body, {"Connection": "Upgrade", "Upgrade": "tcp"})


RAW_STREAM = "application/vnd.docker.raw-stream"


def _error(response: http.client.HTTPResponse) -> DaemonError:
    with response:
        data = response.read()
    try:
        message = json.loads(data)["message"]
    except (ValueError, KeyError, TypeError):
        message = data.decode(errors="replace").strip() or f"{response.status} {response.reason}"
    return DaemonError(response.status, str(message))
