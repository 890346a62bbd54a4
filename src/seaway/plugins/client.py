"""Calls to a plugin: ``POST /<Method>`` with a JSON body over its socket, Docker's way
(``pkg/plugins/client.go``).

A call that cannot reach the plugin (no listener, connection reset, the plugin died
before answering) is sent again with Docker's back-off (1 s, 2 s, 4 s, … while the next
wait still ends within the timeout, 30 s by default), so a plugin that restarts within
that window is survived. An answer other than 200 is an error ``<Method>: <its Err, or
the body>``; 404 means the plugin does not implement the method (``MethodNotFound``,
tolerated where Docker tolerates it). Unlike Docker (whose v1 plugin client waits
forever), a plugin that takes longer than the timeout to answer is an error too.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import quote

from seaway.errors import InternalError
from seaway.plugins.discovery import PluginAddress

log = logging.getLogger(__name__)

MIMETYPE = "application/vnd.docker.plugins.v1.2+json"  # Docker's VersionMimetype
DEFAULT_TIMEOUT = 30.0  # Docker's defaultTimeOut, seconds


class PluginError(InternalError):
    """A plugin call failed; the text is what Docker shows."""


class PluginTimeout(PluginError):
    """The plugin took the request and did not answer in time: it may have done the work."""


class MethodNotFound(PluginError):
    """The plugin answered 404: it does not implement the method."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def backoff(retries: int, limit: float) -> float:
    """Docker's wait before retry number ``retries + 1``: 1 s doubling, at most the limit."""
    wait = 1.0
    while wait < limit and retries > 0:
        wait *= 2
        retries -= 1
    return min(wait, limit)


class PluginClient:
    def __init__(self, address: PluginAddress, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = address
        self.timeout = timeout

    @property
    def _url_host(self) -> str:
        # how Go's HTTP client names a unix socket host in its errors
        return quote(self.address.unix, safe="") if self.address.unix else self.address.tcp

    def _connection(self) -> http.client.HTTPConnection:
        if self.address.unix:
            return _UnixConnection(self.address.unix, self.timeout)
        host, _, port = self.address.tcp.rpartition(":")
        return http.client.HTTPConnection(host, int(port), timeout=self.timeout)

    def call(self, method: str, body: Any = None) -> dict[str, Any]:
        """POST ``/<method>``; the decoded answer (``{}`` for an empty one)."""
        payload = b"" if body is None else json.dumps(body).encode()
        start = time.monotonic()
        retries = 0
        while True:
            try:
                status, raw = self._post(method, payload)
                break
            except TimeoutError:
                raise PluginTimeout(
                    f"{method}: plugin {self.address.name} did not answer within {self.timeout:g}s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                reason = self._reason(exc)
                wait = backoff(retries, self.timeout)
                if wait + (time.monotonic() - start) >= self.timeout:
                    raise PluginError(f'Post "http://{self._url_host}/{method}": {reason}') from exc
                retries += 1
                log.warning(
                    "Unable to connect to plugin: %s/%s: %s, retrying in %gs", self.address, method, reason, wait
                )
                time.sleep(wait)
        if status != 200:
            text = raw.decode(errors="replace")
            try:
                doc = json.loads(raw)
                if isinstance(doc, dict) and doc.get("Err"):
                    text = str(doc["Err"])
            except ValueError:
                pass
            cls = MethodNotFound if status == 404 else PluginError
            raise cls(f"{method}: {text}")
        if not raw.strip():
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise PluginError(f"{method}: error reading plugin resp: {exc}") from None
        if not isinstance(doc, dict):
            raise PluginError(f"{method}: error reading plugin resp: expected a JSON object")
        return doc

    def _post(self, method: str, payload: bytes) -> tuple[int, bytes]:
        conn = self._connection()
        try:
            conn.request("POST", f"/{method}", body=payload, headers={"Accept": MIMETYPE, "Content-Type": MIMETYPE})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _reason(self, exc: BaseException) -> str:
        """Go's words for a failed request, so the message reads as Docker's."""
        if isinstance(exc, (ConnectionRefusedError, FileNotFoundError)):
            target = self.address.unix or self.address.tcp
            kind = "unix" if self.address.unix else "tcp"
            what = "connection refused" if isinstance(exc, ConnectionRefusedError) else "no such file or directory"
            return f"dial {kind} {target}: connect: {what}"
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            return "EOF"
        return str(exc) or type(exc).__name__
