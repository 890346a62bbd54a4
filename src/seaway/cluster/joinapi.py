"""The join API every manager serves on TCP 2377 (TLS with the manager's node certificate).

Three calls, JSON over HTTPS:

* ``GET /seaway/swarm/v1/ca`` → ``{"CA": pem}``: the one call a joining node makes
  without verifying the server; it compares the CA's digest with its token's and stops
  on a mismatch ("remote CA does not match fingerprint…").
* ``POST /seaway/swarm/v1/join`` (server verified against that CA) with the token's
  digest and secret, a certificate request and the node's description → the node's ID,
  role, signed certificate and where etcd is. The manager checks the secret in constant
  time against both roles' secrets; a wrong one is refused with Docker's text and
  nothing is written.
* ``POST /seaway/swarm/v1/renew`` (mTLS: the node's current certificate) with a CSR → a
  new certificate for the node the client certificate names, with the role its spec says.

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
RenewHandler = Callable[[str, bytes], Awaitable[bytes]]
RENEW_PATH = "/seaway/swarm/v1/renew"


def build_app(ca_pem: Callable[[], bytes], accept: JoinHandler, renew: RenewHandler) -> web.Application:
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

    async def renew_cert(request: web.Request) -> web.Response:
        """A member renews its certificate: it proves who it is with the one it has (mTLS)."""
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        node_id = _common_name(peer)
        if not node_id:
            return web.json_response({"message": "a node certificate of this swarm is required"}, status=403)
        try:
            body = await request.json()
            cert = await renew(node_id, str(body.get("CSR", "")).encode())
        except SeawayError as exc:
            log.warning("certificate renewal of %s refused: %s", node_id, exc)
            return web.json_response({"message": str(exc)}, status=exc.status)
        except (ValueError, AttributeError):
            return web.json_response({"message": "the renewal request is not a JSON object"}, status=400)
        return web.json_response({"Cert": cert.decode()})

    app = web.Application(client_max_size=1 << 16)
    app.router.add_get(CA_PATH, get_ca)
    app.router.add_post(JOIN_PATH, join)
    app.router.add_post(RENEW_PATH, renew_cert)
    return app


def _common_name(peercert: Any) -> str:
    """The CN of a verified client certificate (``ssl``'s decoded form), or ""."""
    for rdn in (peercert or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return ""


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """The join API's TLS: the manager's certificate; a client certificate is optional
    (a joining node has none yet) and, when given, must chain to the cluster CA."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_OPTIONAL
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


async def request_renewal(address: str, port: int, ca: Path, cert: Path, key: Path, csr: bytes) -> bytes:
    """A new certificate for this node's key, from the manager at ``address`` (mTLS with
    the node's current certificate)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False  # verified against the cluster CA
    ctx.load_cert_chain(str(cert), str(key))
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(_url(address, port, RENEW_PATH), json={"CSR": csr.decode()}, ssl=ctx) as resp,
        ):
            answer = await resp.json()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise Unavailable(f"could not reach the manager at {address}:{port}: {exc or type(exc).__name__}") from None
    if status != 200:
        raise Unavailable(f"certificate renewal refused ({status}): {answer.get('message', '')}")
    return str(answer["Cert"]).encode()
