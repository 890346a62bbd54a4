"""What a user can observe of a fake host: links, nft set elements, namespace files."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from seaway.lab import Lab
from seaway.lab.fakehost import FakeHost, in_ns


def host_links(host: FakeHost) -> set[str]:
    out = in_ns(host.host_ns, "ip", "-j", "link", "show", check=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def set_elements(host: FakeHost, family: str, name: str) -> list[object]:
    out = in_ns(host.host_ns, "nft", "-j", "list", "set", family, "seaway", name, check=True).stdout
    for item in json.loads(out)["nftables"]:
        if "set" in item:
            return list(item["set"].get("elem", []))
    return []


def all_elements(host: FakeHost) -> dict[str, list[object]]:
    names = ["bridges", "internal", "same-bridge", "masquerade-v4", "masquerade-v6"]
    out = {n: set_elements(host, "inet", n) for n in names}
    out["icc-off-ports"] = set_elements(host, "bridge", "icc-off-ports")
    return out


def rule_count(host: FakeHost) -> int:
    return host.nft_rule_count()


def addresses_in(key: str, ifname: str) -> list[str]:
    out = in_ns(key, "ip", "-j", "addr", "show", "dev", ifname, check=True).stdout
    return [f"{a['local']}/{a['prefixlen']}" for a in json.loads(out)[0]["addr_info"] if a["scope"] == "global"]


def default_route(key: str, version: int = 4) -> str | None:
    out = in_ns(key, "ip", f"-{version}", "-j", "route", "show", "default", check=True).stdout
    routes = json.loads(out)
    return f"{routes[0]['gateway']} dev {routes[0]['dev']}" if routes else None


def interface_names(key: str) -> set[str]:
    out = in_ns(key, "ip", "-j", "link", "show", check=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def lab_docker(lab: Lab, host: str, *args: str, check: bool = True, timeout: float = 60) -> Any:
    """The docker CLI on a lab host (its own daemon); with ``check``, a failure fails the test."""
    result = lab.host(host).run(["docker", *args], timeout=timeout)
    if check:
        assert result.returncode == 0, f"docker {' '.join(args)} on {host}: {result.stderr}"
    return result


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; the seconds it took (the test fails after ``timeout``)."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - start


#: a busybox web server whose CGI ``/cgi-bin/ip`` answers with the client address it sees
#: (as examples/leaf-spine.yaml's web runs it)
WHOAMI_SERVER = (
    "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n"
    "$REMOTE_ADDR\\\\n\"\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www"
)


def address_seen_by(container: Any, server: str) -> str:
    """The client address ``server``'s WHOAMI_SERVER saw when ``container`` asked it
    (IPv4-mapped form unwrapped); "" when there was no answer."""
    request = f"printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {server} 80"
    answer = container.exec_run(["sh", "-c", request]).output.decode()
    if "200 OK" not in answer:
        return ""
    return answer.strip().splitlines()[-1].removeprefix("[::ffff:").removesuffix("]")
