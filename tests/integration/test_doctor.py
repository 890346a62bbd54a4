"""``seaway system doctor``, ``gc``, ``repair`` and the status in inspect, against a real
seawayd in a fake host: hand-made damage is reported, repaired, and leftovers removed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seaway.lab.fakehost import in_ns
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def findings(daemon: SeawayDaemon) -> list[dict[str, object]]:
    status, body = daemon.request("GET", "/seaway/system/doctor")
    assert status == 200, body
    return body["Findings"]  # type: ignore[no-any-return]


def net_status(daemon: SeawayDaemon, name: str) -> dict[str, str]:
    return json.loads(ok(daemon, "network", "inspect", name))[0]["SeawayStatus"]  # type: ignore[no-any-return]


@pytest.fixture
def manual(fake_host):  # type: ignore[no-untyped-def]
    """A daemon that repairs only when asked (no periodic look), so damage stays visible."""
    daemon = SeawayDaemon(fake_host, "--repair-interval", "0")
    try:
        yield daemon.start()
    finally:
        daemon.close()


def test_doctor_reports_a_hand_deleted_bridge_and_repair_rebuilds_it(manual: SeawayDaemon, busybox_tar: Path) -> None:
    ok(manual, "import", str(busybox_tar), "busybox")
    ok(manual, "network", "create", "--subnet", "10.71.0.0/24", "net")
    ok(manual, "run", "-d", "--name", "a", "--network", "net", "busybox", "sleep", "600")
    ok(manual, "run", "-d", "--name", "b", "--network", "net", "busybox", "sleep", "600")
    assert findings(manual) == []
    assert net_status(manual, "net") == {"State": "ok", "Reason": ""}
    bridge = json.loads(ok(manual, "network", "inspect", "net"))[0]["Id"][:12]

    in_ns(manual.host.host_ns, "ip", "link", "del", f"br-{bridge}", check=True)

    problems = {(f["Kind"], f["Problem"]) for f in findings(manual)}
    assert ("network", f"bridge br-{bridge} is missing (deleted by hand?)") in problems
    status = net_status(manual, "net")
    assert status["State"] == "damaged" and f"br-{bridge} is missing" in status["Reason"]
    ctr_status = json.loads(ok(manual, "inspect", "a"))[0]["SeawayStatus"]
    assert ctr_status["State"] == "damaged"
    assert manual.docker("exec", "a", "ping", "-c", "1", "-W", "1", "b").returncode != 0
    cli = subprocess.run(
        [sys.executable, "-m", "seaway.cli.main", "-H", manual.docker_host, "system", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1 and f"bridge br-{bridge} is missing" in cli.stdout

    status_code, body = manual.request("POST", "/seaway/system/repair")

    assert status_code == 200 and body["Findings"] == []
    assert findings(manual) == []
    assert net_status(manual, "net")["State"] == "ok"
    assert manual.docker("exec", "a", "ping", "-c", "1", "-W", "1", "b").returncode == 0


def test_the_daemon_repairs_a_deleted_bridge_by_itself(fake_host, busybox_tar: Path) -> None:  # type: ignore[no-untyped-def]
    daemon = SeawayDaemon(fake_host, "--repair-interval", "0.5")
    try:
        daemon.start()
        ok(daemon, "import", str(busybox_tar), "busybox")
        ok(daemon, "network", "create", "--subnet", "10.72.0.0/24", "net")
        ok(daemon, "run", "-d", "--name", "a", "--network", "net", "busybox", "sleep", "600")
        ok(daemon, "run", "-d", "--name", "b", "--network", "net", "busybox", "sleep", "600")
        bridge = "br-" + json.loads(ok(daemon, "network", "inspect", "net"))[0]["Id"][:12]

        in_ns(fake_host.host_ns, "ip", "link", "del", bridge, check=True)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (findings(daemon) or net_status(daemon, "net")["State"] != "ok"):
            time.sleep(0.2)
        assert findings(daemon) == []
        assert daemon.docker("exec", "a", "ping", "-c", "1", "-W", "1", "b").returncode == 0
    finally:
        daemon.close()


def test_gc_removes_only_seaway_marked_leftovers(manual: SeawayDaemon) -> None:
    ns = manual.host.host_ns
    # a leftover: a bridge carrying Seaway's mark for a network the store does not have
    in_ns(ns, "ip", "link", "add", "br-leftover", "type", "bridge", check=True)
    in_ns(ns, "ip", "link", "set", "br-leftover", "alias", "seaway:net:0123456789ab", check=True)
    # somebody else's bridge: no mark, never touched
    in_ns(ns, "ip", "link", "add", "br-theirs", "type", "bridge", check=True)
    # a stale element in one of Seaway's sets
    in_ns(ns, "nft", "add", "element", "inet", "seaway", "bridges", "{ br-gone }", check=True)
    # a namespace file in Seaway's directory that no sandbox owns
    stale = manual.host.exec_root / "netns" / "stale0"
    stale.touch()

    subjects = {(f["Kind"], f["Subject"]) for f in findings(manual) if f["Leftover"]}
    assert subjects == {("link", "br-leftover"), ("nftables", "inet bridges br-gone"), ("netns", "stale0")}

    status, body = manual.request("POST", "/seaway/system/gc")

    assert status == 200 and body["Findings"] == []
    assert {f["Subject"] for f in body["Removed"]} == {"br-leftover", "inet bridges br-gone", "stale0"}
    links = in_ns(ns, "ip", "-o", "link", "show", check=True).stdout
    assert "br-leftover" not in links and "br-theirs" in links
    assert not stale.exists()
    in_ns(ns, "ip", "link", "del", "br-theirs", check=True)


def test_doctor_is_clean_on_a_macvlan_network_with_named_containers(manual: SeawayDaemon, busybox_tar: Path) -> None:
    # the doctor once held its own copy of which networks have names (only bridges) and
    # reported the macvlan members' DNS records as stale; it now asks the drivers
    ok(manual, "import", str(busybox_tar), "busybox")
    ok(manual, "network", "create", "-d", "macvlan", "-o", "parent=uplink0", "--subnet", "203.0.113.0/24",
       "--ip-range", "203.0.113.128/26", "--gateway", "203.0.113.1", "mv")  # fmt: skip
    ok(manual, "run", "-d", "--name", "web", "--network", "mv", "busybox", "sleep", "600")
    ok(manual, "run", "-d", "--name", "db", "--network", "mv", "busybox", "sleep", "600")
    assert manual.docker("exec", "web", "nslookup", "db", "127.0.0.11").returncode == 0  # names are served

    assert findings(manual) == []

    key = json.loads(ok(manual, "inspect", "db"))[0]["NetworkSettings"]["SandboxKey"]
    in_ns(key, "ip", "link", "del", "eth0", check=True)  # and real damage is still seen, by the same description
    problems = {(f["Kind"], f["Problem"]) for f in findings(manual)}
    assert ("endpoint", "interface eth0 is missing in the sandbox") in problems
    status, body = manual.request("POST", "/seaway/system/repair")
    assert status == 200 and body["Findings"] == []
