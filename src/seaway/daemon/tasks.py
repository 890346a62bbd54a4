"""Swarm tasks as the daemon's containers: the node agent's ``TaskRuntime``
(``seaway.cluster.taskagent``) on top of ``Containers``, through the same parsing a
``POST /containers/create`` goes through, so a task's container is exactly what
``docker run`` would make of its spec."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from seaway.cluster.taskagent import TASK_LABEL
from seaway.daemon.api import schemas
from seaway.daemon.containers import Containers
from seaway.errors import InternalError, NotFound
from seaway.kernel import process


class DaemonTasks:
    def __init__(self, containers: Containers) -> None:
        self._containers = containers

    def run(self, name: str, body: dict[str, Any]) -> str:
        spec = schemas.parse_container_create(body)
        spec = replace(spec, endpoints={k: replace(v, swarm_task=True) for k, v in spec.endpoints.items()})
        ctr = self._containers.create(name, spec)
        try:
            self._containers.start(ctr.id)
        except BaseException:
            self._containers.remove(ctr.id, force=True)
            raise
        return ctr.id

    def state(self, container_id: str) -> tuple[str, int, int] | None:
        try:
            ctr = self._containers.get(container_id)
        except NotFound:
            return None
        return ctr.state.status, ctr.state.exit_code, ctr.state.pid

    def addresses(self, container_id: str) -> dict[str, list[str]]:
        ctr = self._containers.get(container_id)
        engine = self._containers.engine
        out: dict[str, list[str]] = {}
        if ctr.sandbox_id:
            for ep in engine.endpoints_of_sandbox(ctr.sandbox_id):
                out[ep.network_id] = [
                    f"{a}/{p}" for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a
                ]  # fmt: skip
        return out

    def ports(self, container_id: str) -> list[dict[str, Any]]:
        ctr = self._containers.get(container_id)
        if not ctr.sandbox_id:
            return []
        seen: dict[tuple[str, int, int], dict[str, Any]] = {}
        for ep in self._containers.engine.endpoints_of_sandbox(ctr.sandbox_id):
            for m in ep.ports:  # one per address family: shown once, as a port of the node
                seen.setdefault((m.proto, m.container_port, m.host_port), {
                    "Protocol": m.proto, "TargetPort": m.container_port, "PublishedPort": m.host_port,
                    "PublishMode": "host",
                })  # fmt: skip
        return list(seen.values())

    def stop(self, container_id: str, timeout: int) -> None:
        self._containers.withdraw_names(container_id)
        self._containers.stop(container_id, timeout)

    def withdraw(self, container_id: str) -> None:
        self._containers.withdraw_names(container_id)

    def publish(self, container_id: str) -> None:
        self._containers.publish_names(container_id)

    def probe(self, container_id: str, argv: list[str], timeout: float) -> int:
        ctr = self._containers.get(container_id)
        pid_file = self._containers.dir(ctr.id) / f"health-{secrets.token_hex(8)}.pid"
        command = self._containers.runtime.exec_command(ctr.id, argv, list(ctr.spec.env), False, "", pid_file)
        try:
            return process.run(None, command, timeout=timeout, check=False).returncode
        except InternalError:  # it did not finish in time
            return -1
        finally:
            pid_file.unlink(missing_ok=True)

    def remove(self, container_id: str) -> None:
        self._containers.remove(container_id, force=True)

    def task_containers(self) -> dict[str, str]:
        return {c.spec.labels[TASK_LABEL]: c.id for c in self._containers.list() if TASK_LABEL in c.spec.labels}
