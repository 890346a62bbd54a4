"""A TCP API listener only with TLS and client certificates (``--tlsverify``, as dockerd):
clients without a certificate signed by the CA are refused, from the outside namespace
and from inside a container; with one, the docker CLI works."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from seaway.lab.fakehost import HOST_UPLINK, FakeHost, in_ns
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns

PORT = 23761
PROBE = r"""
import socket, ssl, sys
host, port, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
try:
    raw = socket.create_connection((host, port), timeout=3)
    if ca == "plain":
        raw.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        print("answer", raw.recv(100)[:12])
        sys.exit()
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    if cert != "-":
        ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(raw, server_hostname=host)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    if not data:  # TLS 1.3: the server checks the client's certificate after the handshake
        raise ConnectionResetError("closed without an answer")
    print("answer", data.split(b"\r\n")[0].decode(), data.rsplit(b"\r\n", 1)[-1].decode())
except (OSError, ssl.SSLError) as exc:
    print("refused", exc.__class__.__name__)
"""


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_certs(d: Path) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/ca-key.pem", "-out", f"{d}/ca.pem",
            "-days", "2", "-subj", "/CN=seaway-test-ca")  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,IP:203.0.113.2\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/{name}-key.pem", "-out", f"{d}/{name}.csr",
                "-subj", f"/CN={name}")  # fmt: skip
        openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca-key.pem",
                "-CAcreateserial", "-out", f"{d}/{name}.pem", "-days", "2", "-extfile", f"{d}/ext.cnf")  # fmt: skip
    # a certificate from nobody's CA
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/rogue-key.pem", "-out", f"{d}/rogue.pem",
            "-days", "2", "-subj", "/CN=rogue")  # fmt: skip


def probe(ns: str, d: Path, host: str, cert: str = "client") -> str:
    ca = "plain" if cert == "plain" else str(d / "ca.pem")
    pem, key = ("-", "-") if cert in ("none", "plain") else (str(d / f"{cert}.pem"), str(d / f"{cert}-key.pem"))
    return in_ns(ns, sys.executable, "-c", PROBE, host, str(PORT), ca, pem, key, check=True).stdout.strip()


def test_tcp_api_needs_a_client_certificate_signed_by_the_ca(fake_host: FakeHost, tmp_path: Path) -> None:
    make_certs(tmp_path)
    daemon = SeawayDaemon(fake_host)
    seawayd = Path(sys.executable).with_name("seawayd")
    cmd = [
        "nsenter", f"--net={fake_host.host_ns}", str(seawayd), "--data-root", str(fake_host.data_root),
        "--exec-root", str(fake_host.exec_root), "-H", f"tcp://0.0.0.0:{PORT}", "--tlsverify",
        "--tlscacert", str(tmp_path / "ca.pem"), "--tlscert", str(tmp_path / "server.pem"),
        "--tlskey", str(tmp_path / "server-key.pem"),
    ]  # fmt: skip
    log = daemon.log.open("ab")
    daemon.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    try:
        deadline = time.monotonic() + 30
        while not probe(fake_host.host_ns, tmp_path, "127.0.0.1").endswith("OK"):
            assert daemon.proc.poll() is None and time.monotonic() < deadline, daemon.log.read_text()[-2000:]
            time.sleep(0.1)

        outside = fake_host.outside_ns
        assert probe(outside, tmp_path, HOST_UPLINK) == "answer HTTP/1.1 200 OK OK"
        assert probe(outside, tmp_path, HOST_UPLINK, "none").startswith("refused")
        assert probe(outside, tmp_path, HOST_UPLINK, "rogue").startswith("refused")
        assert "200" not in probe(outside, tmp_path, HOST_UPLINK, "plain")

        docker = [
            "nsenter", f"--net={fake_host.host_ns}", "docker", "--tlsverify", "--tlscacert", str(tmp_path / "ca.pem"),
            "--tlscert", str(tmp_path / "client.pem"), "--tlskey", str(tmp_path / "client-key.pem"),
            "-H", f"tcp://127.0.0.1:{PORT}",
        ]  # fmt: skip
        env = {"DOCKER_CONFIG": str(fake_host.root / "docker-config"), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
        run = subprocess.run(
            [*docker, "run", "-d", "--name", "c", "seaway/host", "sleep", "600"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        inspect = [*docker, "inspect", "-f", "{{.NetworkSettings.SandboxKey}} {{.NetworkSettings.Gateway}}", "c"]
        key, gateway = subprocess.run(inspect, capture_output=True, text=True, env=env, check=True).stdout.split()
        # from inside the container: the API answers TLS, but not without a certificate
        assert probe(key, tmp_path, gateway, "none").startswith("refused")
        assert probe(key, tmp_path, gateway, "rogue").startswith("refused")
    finally:
        daemon.close()


def test_plain_tcp_is_refused_at_start(fake_host: FakeHost) -> None:
    seawayd = Path(sys.executable).with_name("seawayd")
    proc = subprocess.run(
        ["nsenter", f"--net={fake_host.host_ns}", str(seawayd), "--data-root", str(fake_host.data_root),
         "-H", f"tcp://0.0.0.0:{PORT}"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "refusing to listen on tcp://0.0.0.0:2" in proc.stderr and "--tlsverify" in proc.stderr
