"""Where seawayd listens: a unix socket (``-H unix:///path``), or TCP only with TLS and
client certificates (``-H tcp://addr:port --tlsverify --tlscacert CA --tlscert CERT
--tlskey KEY``, as ``dockerd``). A TCP listener without client verification is refused:
the API gives root on the host to whoever reaches it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from seaway.errors import InvalidParameter

NO_PLAIN_TCP = (
    "refusing to listen on {host} without TLS client verification: anyone who reaches the API is root "
    "on this host; add --tlsverify --tlscacert CA.pem --tlscert CERT.pem --tlskey KEY.pem, or use a unix socket"
)


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class Listener:
    path: Path | None = None  # unix socket
    address: str = ""  # TCP
    port: int = 0
    tls: TLSFiles | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """A server context that demands a client certificate signed by the CA."""
        assert self.tls is not None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.tls.cert, self.tls.key)
            ctx.load_verify_locations(self.tls.ca)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidParameter(f"TLS: cannot load the certificates: {exc}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def describe(self) -> str:
        return str(self.path) if self.path else f"tcp://{self.address}:{self.port} (TLS, client certificates required)"


def parse(host: str, tls: TLSFiles | None) -> Listener:
    if host.startswith("unix://"):
        return Listener(path=Path(host.removeprefix("unix://")))
    if not host.startswith("tcp://"):
        raise InvalidParameter(f"invalid -H {host}: expected unix:///path or tcp://address:port")
    if tls is None:
        raise InvalidParameter(NO_PLAIN_TCP.format(host=host))
    address, sep, port = host.removeprefix("tcp://").rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidParameter(f"invalid -H {host}: expected tcp://address:port")
    return Listener(address=address.strip("[]") or "0.0.0.0", port=int(port), tls=tls)


def tls_files(verify: bool, ca: str | None, cert: str | None, key: str | None) -> TLSFiles | None:
    if not verify:
        return None
    missing = [flag for flag, value in (("--tlscacert", ca), ("--tlscert", cert), ("--tlskey", key)) if not value]
    if missing:
        raise InvalidParameter(f"--tlsverify needs {', '.join(missing)}")
    return TLSFiles(Path(ca), Path(cert), Path(key))  # type: ignore[arg-type]
