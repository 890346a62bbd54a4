"""Three docker-compose 1.29 projects (Debian's docker-compose) against a daemon.

Each project is brought up with the compose CLI inside the daemon's fake host and then
looked at as a user would (container names, addresses, what resolves and what answers);
the observations of the two daemons must be equal.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from seaway.testing.compose import PROJECTS


class Compose:
    def __init__(self, host_ns: str, docker_host: str, workdir: Path, docker) -> None:  # type: ignore[no-untyped-def]
        self.host_ns, self.docker_host, self.workdir, self.docker = host_ns, docker_host, workdir, docker

    def __call__(self, project: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_HOST": self.docker_host, "COMPOSE_INTERACTIVE_NO_CLI": "1"}
        cmd = ["nsenter", f"--net={self.host_ns}", "docker-compose", "-p", project, "-f", f"{project}.yml", *args]
        return subprocess.run(cmd, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=300)

    def out(self, *args: str) -> str:
        r = self.docker(*args)
        return (r.stdout if r.returncode == 0 else f"exit {r.returncode}: {r.stderr}").strip()


def observe(compose: Compose) -> dict[str, Any]:
    for name, text in PROJECTS.items():
        (compose.workdir / f"{name}.yml").write_text(text)
    seen: dict[str, Any] = {}
    try:
        seen |= _sidecar(compose)
        seen |= _static(compose)
        seen |= _scaled(compose)
    finally:
        for name in PROJECTS:
            compose(name, "down", "-t", "0")
    return seen


def _sidecar(c: Compose) -> dict[str, Any]:
    up = c("sidecar", "up", "-d")
    ip = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    web_ip = c.out("inspect", "-f", ip, "sidecar_web_1")
    return {
        "sidecar: up": up.returncode,
        "sidecar: containers": sorted(c.out("ps", "--format", "{{.Names}}").split()),
        "sidecar: side's network mode names web": c.out("inspect", "-f", "{{.HostConfig.NetworkMode}}", "sidecar_side_1").startswith("container:"),
        "sidecar: side sees web's address": web_ip in c.out("exec", "sidecar_side_1", "ip", "-4", "addr"),
        "sidecar: side reaches web on localhost": c.out("exec", "sidecar_side_1", "wget", "-q", "-O", "-", "http://127.0.0.1/hostname") != "",
        "sidecar: client reaches the link alias": c.out("exec", "sidecar_client_1", "wget", "-q", "-O", "/dev/null", "http://frontend/hostname").startswith("exit") is False,
        "sidecar: client reaches web by service name": c.out("exec", "sidecar_client_1", "ping", "-c1", "-W2", "web").startswith("exit") is False,
    }  # fmt: skip


def _static(c: Compose) -> dict[str, Any]:
    ip = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    first = c("static", "up", "-d")
    before = c.out("inspect", "-f", "{{.Id}} " + ip, "static_db_1").split()
    again = c("static", "up", "-d", "--force-recreate")
    after = c.out("inspect", "-f", "{{.Id}} " + ip, "static_db_1").split()
    return {
        "static: up": first.returncode,
        "static: address": before[1:],
        "static: recreate": again.returncode,
        "static: recreated (new id)": before[:1] != after[:1],
        "static: address after recreate": after[1:],
        "static: names after recreate": sorted(
            n for n in c.out("ps", "-a", "--format", "{{.Names}}").split() if "static" in n
        ),
    }


def _scaled(c: Compose) -> dict[str, Any]:
    up = c("scaled", "up", "-d")
    names = sorted(n for n in c.out("ps", "--format", "{{.Names}}").split() if n.startswith("scaled_"))
    answers = c.out("exec", "scaled_worker_1", "nslookup", "worker")
    return {
        "scaled: up": up.returncode,
        "scaled: containers": names,
        "scaled: worker resolves to 3 addresses": answers.count("Address") - answers.count("127.0.0.11") >= 3
        if "Address" in answers
        else answers,
        "scaled: internal network": c.out("network", "inspect", "-f", "{{.Internal}}", "scaled_inside"),
        "scaled: the outside is unreachable": c.out(
            "exec", "scaled_worker_1", "ping", "-c1", "-W1", "203.0.113.1"
        ).startswith("exit"),
        "scaled: peers reach each other": not c.out(
            "exec", "scaled_worker_1", "ping", "-c1", "-W2", "scaled_worker_3"
        ).startswith("exit"),
    }
