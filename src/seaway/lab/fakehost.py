"""A fake host and an outside world, built from named network namespaces.

Layout (``<p>`` is ``swt-<8 hex>``, so every object is recognisably a test's)::

    <p>-out  (outside world)            <p>-host  (the fake host: the engine runs here)
      world0 203.0.113.1/24  <-- veth -->  uplink0 203.0.113.2/24, default via .1
      lo + 198.51.100.1/32  (a "far" server address, routed via the host's uplink)

Both ends of the wire are created inside the namespaces; nothing is ever created in
the machine's own namespace. ``close()`` removes everything by name, also after a
failure, and unmounts any namespace file the engine left under the exec root.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import tempfile
from pathlib import Path

from seaway.kernel import netns, process

PREFIX = "swt-"
LAB_PREFIX = "swl-"  # labs (seaway.lab.plan names their namespaces swl-<lab>-<node>)
NETNS_DIR = Path("/run/netns")
HOST_UPLINK = "203.0.113.2"
OUTSIDE_ADDR = "203.0.113.1"
FAR_ADDR = "198.51.100.1"


def sh(*cmd: str, check: bool = True, timeout: float = 30) -> process.Completed[str]:
    return process.run(None, cmd, check=check, timeout=timeout)


def in_ns(path: str, *cmd: str, check: bool = False, timeout: float = 30) -> process.Completed[str]:
    """Run a command inside the namespace at ``path`` (nsenter keeps /sys intact)."""
    return process.run(path, cmd, check=check, timeout=timeout)


def ping(path: str, address: str, tries: int = 1) -> bool:
    """One ICMP echo from the namespace at ``path``; True when answered."""
    return any(in_ns(path, "ping", "-n", "-q", "-c", "1", "-W", "1", address).returncode == 0 for _ in range(tries))


class FakeHost:
    def __init__(self, tag: str | None = None) -> None:
        self.prefix = PREFIX + (tag or secrets.token_hex(4))
        self.host_name = f"{self.prefix}-host"
        self.outside_name = f"{self.prefix}-out"
        self.host_ns = str(NETNS_DIR / self.host_name)
        self.outside_ns = str(NETNS_DIR / self.outside_name)
        self.root = Path(tempfile.mkdtemp(prefix=self.prefix + "-"))
        self.data_root = self.root / "data"
        self.exec_root = self.root / "exec"
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        sh("ip", "netns", "add", self.host_name)
        sh("ip", "netns", "add", self.outside_name)
        h, o = ("ip", "-n", self.host_name), ("ip", "-n", self.outside_name)
        sh(*h, "link", "add", "uplink0", "type", "veth", "peer", "name", "world0", "netns", self.outside_name)
        sh(*h, "addr", "add", f"{HOST_UPLINK}/24", "dev", "uplink0")
        sh(*h, "link", "set", "uplink0", "up")
        sh(*h, "link", "set", "lo", "up")
        sh(*h, "route", "add", "default", "via", OUTSIDE_ADDR)
        sh(*o, "addr", "add", f"{OUTSIDE_ADDR}/24", "dev", "world0")
        sh(*o, "addr", "add", f"{FAR_ADDR}/32", "dev", "lo")
        sh(*o, "link", "set", "world0", "up")
        sh(*o, "link", "set", "lo", "up")

    def entered(self):  # type: ignore[no-untyped-def]
        """Move the calling thread into the fake host for a block (to drive an engine)."""
        return netns.entered(self.host_ns)

    def udp_source_seen_outside(self, sandbox_key: str, dst: str = OUTSIDE_ADDR) -> str | None:
        """Send one UDP datagram from a sandbox to the outside world; the source address the
        outside world saw, or None if nothing arrived."""
        addr = dst if dst in (OUTSIDE_ADDR, FAR_ADDR) else OUTSIDE_ADDR

        def listener() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, 0))
            s.settimeout(2)
            return s

        def sender() -> socket.socket:
            return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        rx = netns.run(self.outside_ns, listener)
        tx = netns.run(sandbox_key, sender)
        try:
            try:
                tx.sendto(b"seaway", (addr, rx.getsockname()[1]))
            except OSError:  # no route out of the sandbox
                return None
            try:
                _, (source, _) = rx.recvfrom(64)
            except TimeoutError:
                return None
            return str(source)
        finally:
            rx.close()
            tx.close()

    def nft_rule_count(self) -> int:
        """Rules in Seaway's tables of the fake host (they must not grow with objects)."""
        total = 0
        for family in ("inet", "bridge"):
            listed = in_ns(self.host_ns, "nft", "-j", "-t", "list", "table", family, "seaway")
            if listed.returncode != 0:  # no such table (flushed)
                continue
            out = listed.stdout
            total += sum(1 for item in json.loads(out)["nftables"] if "rule" in item)
        return total

    def close(self) -> None:
        """Remove everything this host made, by name; tries every step."""
        for mount in _nsfs_mounts_under(self.root):
            sh("umount", "-l", mount, check=False)
        for name in (self.host_name, self.outside_name):
            if (NETNS_DIR / name).exists():
                sh("ip", "netns", "del", name, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _nsfs_mounts_under(root: Path) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mount_point = fields[4]
            if mount_point.startswith(str(root) + "/"):
                out.append(mount_point)
    return sorted(out, reverse=True)


def leftovers() -> list[str]:
    """Anything named like a test object in the machine's own namespace and mount table."""
    found: list[str] = []
    links = sh("ip", "-o", "link", "show", check=False).stdout
    for line in links.splitlines():
        name = line.split(": ")[1].split("@")[0]
        if name.startswith(("swt", "swl", "br-", "veth", "seaway")):
            found.append(f"link {name}")
    for prefix in (PREFIX, LAB_PREFIX):
        for entry in NETNS_DIR.glob(prefix + "*") if NETNS_DIR.is_dir() else []:
            found.append(f"netns {entry.name}")
    tables = sh("nft", "list", "tables", check=False).stdout
    found += [f"nft {t}" for t in tables.splitlines() if "seaway" in t]
    with open("/proc/self/mountinfo") as f:
        found += [
            f"mount {line.split()[4]}"
            for line in f
            if f"/{PREFIX}" in line.split()[4] or f"/{LAB_PREFIX}" in line.split()[4]
        ]
    return found
