"""The Python API of labs: ``Lab`` and ``LabHost``.

::

    with Lab.from_file("lab.yaml") as lab:          # up on enter, down on exit
        lab.host("h1").docker.containers.run("busybox", "true")
        lab.host("h2").run(["ping", "-c1", lab.host("h1").address])
        lab.partition(["h1"], ["h2"]); ...; lab.heal()

``Lab(topology)`` takes a parsed Topology or the same data as the YAML file (a dict, or
keyword arguments). ``Lab.attach(name)`` drives a lab that is already up (started by
``seaway lab up`` or another process).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import docker

from seaway.errors import NotFound
from seaway.kernel import process
from seaway.lab import faults, nodes, realize, state
from seaway.lab.plan import RUN_DIR, LabPlan, Node, plan
from seaway.lab.topology import Topology, load, parse


class LabHost:
    """One host of a running lab: its namespace, address, daemon and a docker-py client."""

    def __init__(self, lab_plan: LabPlan, node: Node) -> None:
        self._plan = lab_plan
        self.node = node
        self.files = lab_plan.files(node.name)
        self._docker: docker.DockerClient | None = None

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def netns(self) -> str:
        """The namespace's name (``ip netns exec NAME …``)."""
        return self.node.netns

    @property
    def address(self) -> str:
        """The host's address on its first link."""
        return str(self.node.interfaces[0].address.ip)

    @property
    def docker_host(self) -> str:
        return self.files.docker_host

    @property
    def env(self) -> dict[str, str]:
        """What to export so the docker CLI drives this host."""
        return {"DOCKER_HOST": self.docker_host}

    @property
    def docker(self) -> docker.DockerClient:
        """A docker-py client of this host's seawayd."""
        if self._docker is None:
            self._docker = docker.DockerClient(base_url=self.docker_host, version="1.41", timeout=60)
        return self._docker

    def run(
        self, argv: Sequence[str], *, check: bool = False, timeout: float = 30, input: str | None = None
    ) -> process.Completed[str]:
        """Run a program inside the host's namespace (``DOCKER_HOST`` set to this host)."""
        return process.run(self.netns, argv, input=input, env={**os.environ, **self.env}, timeout=timeout, check=check)

    def close(self) -> None:
        if self._docker is not None:
            self._docker.close()
            self._docker = None


class Lab:
    def __init__(
        self, topology: Topology | Mapping[str, Any] | None = None, /, *, run_dir: Path = RUN_DIR, **fields: Any
    ) -> None:
        if topology is None:
            topology = fields
        self.topology = topology if isinstance(topology, Topology) else parse(dict(topology))
        self.plan = plan(self.topology, run_dir)
        self._hosts: dict[str, LabHost] = {}

    @classmethod
    def from_file(cls, path: str | Path, *, run_dir: Path = RUN_DIR) -> Lab:
        path = Path(path)
        return cls(load(path.read_text(), default_name=path.stem), run_dir=run_dir)

    @classmethod
    def attach(cls, name: str, *, run_dir: Path = RUN_DIR) -> Lab:
        """The lab ``name`` that is already up."""
        return cls(state.read(run_dir / name).topology, run_dir=run_dir)

    @property
    def name(self) -> str:
        return self.topology.name

    @property
    def is_up(self) -> bool:
        return self.plan.state_file.exists()

    def up(self, progress: realize.Progress = realize._quiet) -> Lab:
        realize.up(self.plan, progress)
        return self

    def down(self) -> None:
        for host in self._hosts.values():
            host.close()
        self._hosts.clear()
        realize.down(self.plan.root)

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    def host(self, name: str) -> LabHost:
        if name not in self._hosts:
            try:
                node = self.plan.node(name)
            except KeyError:
                raise NotFound(f"lab {self.name} has no host {name!r}") from None
            if node.kind != "host":
                raise NotFound(f"{name} is a {node.kind} of lab {self.name}, not a host")
            self._hosts[name] = LabHost(self.plan, node)
        return self._hosts[name]

    @property
    def hosts(self) -> list[LabHost]:
        return [self.host(n.name) for n in self.plan.host_nodes()]

    def node_run(self, name: str, argv: Sequence[str], *, timeout: float = 30) -> process.Completed[str]:
        """Run a program in any node's namespace (host, router, ``world`` or ``fabric``)."""
        netns = self.plan.fabric_netns if name == "fabric" else self.plan.node(name).netns
        return process.run(netns, argv, timeout=timeout, check=False)

    # faults (see seaway.lab.faults and seaway.lab.nodes)

    def kill(self, name: str) -> None:
        """SIGKILL host ``name``'s seawayd and its etcd member (the node dies)."""
        self.host(name).close()
        nodes.kill(self.plan, name)

    def start(self, name: str) -> None:
        """Start host ``name``'s seawayd again after ``kill``."""
        nodes.start(self.plan, name)

    def link_down(self, node: str, link: int = 0) -> None:
        faults.set_link(self.plan, node, False, link)

    def link_up(self, node: str, link: int = 0) -> None:
        faults.set_link(self.plan, node, True, link)

    def partition(self, a: Sequence[str], b: Sequence[str]) -> None:
        faults.partition(self.plan, a, b)

    def heal(self) -> None:
        faults.heal(self.plan)

    def limit_rate(self, node: str, rate: str | int, link: int = 0) -> None:
        faults.limit_rate(self.plan, node, rate if isinstance(rate, int) else faults.parse_rate(rate), link)

    def impair(
        self, node: str, *, delay_ms: float = 0, jitter_ms: float = 0, loss_percent: float = 0, link: int = 0
    ) -> None:
        faults.impair(self.plan, node, delay_ms, jitter_ms, loss_percent, link)

    def clear(self, node: str, link: int = 0) -> None:
        faults.clear(self.plan, node, link)
