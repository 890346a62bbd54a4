"""The join API every manager serves on TCP 2377 (TLS with the manager's node certificate).

Two calls, JSON over HTTPS:

* ``GET /seaway/swarm/v1/ca`` → ``{"CA": pem}``: the one call a joining node makes
  without verifying the server; it compares the CA's digest with its token's and stops
  on a mismatch ("remote CA does not match fingerprint…").
* ``POST /seaway/swarm/v1/join`` (server verified against that CA) with the token's
  digest and secret, a certificate request and the node's description → the node's ID,
  role, signed certificate and where etcd is. The manager checks the secret in constant
  time against both roles' secrets; a wrong one is refused with Docker's text and
  nothing is written.

The client half lives here too, so the wire format is in one place.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from seaway.cluster import identity
from seaway.errors import InternalError, InvalidParameter, SeawayError, Unavailable

log = logging.getLogger(__name__)

CA_PATH = "/seaway/swarm/v1/ca"
JOIN_PATH = "/seaway/swarm/v1/join"
TIMEOUT = aiohttp.ClientTimeout(total=60, connect=5)

JoinHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def build_app(ca_pem: Callable[[], bytes], accept: JoinHandler) -> web.Application:
    async def get_ca(request: web.Request) -> web.Response:
        return web.json_response({"CA": ca_pem().decode()})

    async def join(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise InvalidParameter("the join request must be a JSON object")
            return web.json_response(await accept(body))
        except SeawayError as exc:
            log.warning("join from %s refused: %s %s", request.remote, exc, getattr(exc, "detail", ""))
            return web.json_response({"message": str(exc)}, status=exc.status)
        except ValueError:
            return web.json_response({"message": "the join request is not JSON"}, status=400)

    app = web.Application(client_max_size=1 << 16)
    app.router.add_get(CA_PATH, get_ca)
    app.router.add_post(JOIN_PATH, join)
    return app


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def _url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}{path}"


async def fetch_ca(address: str, port: int, token: identity.JoinToken) -> bytes:
    """The remote manager's CA certificate, checked against the token's digest."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.get(_url(address, port, CA_PATH), ssl=insecure) as resp,
        ):
            body = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise Unavailable(f"could not reach the manager at {address}:{port}: {exc or type(exc).__name__}") from None
    ca_pem = str(body.get("CA", "")).encode()
    if identity.ca_digest(ca_pem) != token.digest:
        raise InternalError(f"remote CA does not match fingerprint. Expected: {identity.digest_hex(token.digest)}")
    return ca_pem


async def request_join(address: str, port: int, ca_pem: bytes, body: dict[str, Any]) -> dict[str, Any]:
    """Ask the manager to admit this node (its TLS certificate verified against ``ca_pem``)."""
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    ctx.check_hostname = False  # the chain to the pinned CA is what counts; managers' SANs are their IPs
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(_url(address, port, JOIN_PATH), json=body, ssl=ctx) as resp,
        ):
            answer = await resp.json()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise Unavailable(f"could not reach the manager at {address}:{port}: {exc or type(exc).__name__}") from None
    if status != 200:
        error = {400: InvalidParameter, 503: Unavailable}.get(status, InternalError)
        raise error(str(answer.get("message", f"join refused with status {status}")))
    return dict(answer)
