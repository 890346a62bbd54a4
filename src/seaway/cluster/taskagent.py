"""Every node's agent for swarm tasks: runs the tasks the leader assigned to this node as
containers, stops them when their desired state says so, and reports what happened.

It follows ``tasks/`` (a snapshot, then a watch; a full look every ``RESYNC`` seconds)
and acts on the tasks whose ``NodeID`` is this node. A task to run becomes a container
named ``<service>.<slot>.<task>`` (global: ``<service>.<node>.<task>``) with Docker's
``com.docker.swarm.*`` labels, created and started through the daemon's own container
path (``TaskRuntime``); its state goes to ``nodes/<me>/tasks/<task>`` at each step,
Docker's ``assigned → accepted → preparing → starting → running``, then ``complete``
(exit 0), ``failed`` (another exit, or a start that failed), ``rejected`` (it could not
be made: a missing image) or ``shutdown`` (stopped because its desired state changed).
A stopped task keeps its container (``docker ps -a``, as Docker) until the task leaves
the store (the orchestrator's history limit, or its service removed); then its
container is removed and its report deleted.

A task with a healthcheck (``ContainerSpec.Healthcheck``, run in the container as
``docker exec`` would) stays ``starting``, in no DNS answer, until a probe succeeds; it
is then ``running``; ``Retries`` failed probes in a row stop it and fail it ("task:
unhealthy container"), and the orchestrator replaces it.

Service discovery comes from the containers' network aliases: each task answers on its
networks to ``tasks.<service>`` and ``tasks.<alias>``, and in dnsrr mode to the
service's name and aliases too; a VIP's names are served from the service record
(``seaway.cluster.netsync``). A task is in those answers while its container runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from seaway.cluster import schema, taskstates
from seaway.cluster.store import Event, Store
from seaway.errors import NotFound, SeawayError

log = logging.getLogger(__name__)

RESYNC = 30.0
EXITS = 1.0  # seconds between looks at this node's task containers
RETRY = 1.0
DEFAULT_GRACE = 10  # seconds (Docker's StopGracePeriod)
TASK_LABEL = "com.docker.swarm.task.id"


class TaskRuntime(Protocol):
    """What the agent asks of the node's daemon (``seaway.daemon.tasks``, a layer up)."""

    def run(self, name: str, body: dict[str, Any]) -> str:
        """Create and start a container from a ``POST /containers/create`` body; its ID.
        Its endpoints on swarm networks are a task's (allowed on non-attachable ones)."""
        ...

    def state(self, container_id: str) -> tuple[str, int, int] | None:
        """(status, exit code, PID) of a container; None once it is gone."""
        ...

    def addresses(self, container_id: str) -> dict[str, list[str]]:
        """The container's addresses (``ip/len``) by network ID."""
        ...

    def ports(self, container_id: str) -> list[dict[str, Any]]:
        """The container's published ports as a task's ``PortStatus`` lists them."""
        ...

    def stop(self, container_id: str, timeout: int) -> None:
        """Stop a container (its names withdrawn first: no new lookup finds it)."""
        ...

    def withdraw(self, container_id: str) -> None:
        """The container's names stop answering (it keeps running)."""
        ...

    def publish(self, container_id: str) -> None:
        """The container's names answer again."""
        ...

    def probe(self, container_id: str, argv: list[str], timeout: float) -> int:
        """Run a healthcheck's command in the container: its exit code (-1: timed out)."""
        ...

    def remove(self, container_id: str) -> None: ...

    def task_containers(self) -> dict[str, str]:
        """Task ID → container ID of the containers made for tasks (by their label)."""
        ...


def _now() -> str:
    return taskstates.format_time(time.time())  # the orchestrator compares these as text


def container_name(task: dict[str, Any], service_name: str) -> str:
    where = task.get("Slot") or task.get("NodeID")
    return f"{service_name}.{where}.{task['ID']}"


def create_body(task: dict[str, Any], service: dict[str, Any] | None, node_id: str) -> dict[str, Any]:
    """The container a task runs as: ``POST /containers/create`` of its ContainerSpec."""
    spec = task.get("Spec") or {}
    cs = spec.get("ContainerSpec") or {}
    svc_spec = (service or {}).get("Spec") or {}
    svc_name = str(svc_spec.get("Name") or task.get("ServiceAnnotations", {}).get("Name") or task["ServiceID"])
    labels = {
        **(cs.get("Labels") or {}),
        "com.docker.swarm.service.id": task["ServiceID"],
        "com.docker.swarm.service.name": svc_name,
        "com.docker.swarm.task": "",
        "com.docker.swarm.task.id": task["ID"],
        "com.docker.swarm.task.name": container_name(task, svc_name).rsplit(".", 1)[0] + "." + task["ID"],
        "com.docker.swarm.node.id": node_id,
    }
    body: dict[str, Any] = {"Image": cs.get("Image", ""), "Labels": labels, "Env": list(cs.get("Env") or [])}
    if cs.get("Command"):
        body["Entrypoint"] = list(cs["Command"])
    if cs.get("Args"):
        body["Cmd"] = list(cs["Args"])
    for src, dst in (("Dir", "WorkingDir"), ("User", "User"), ("Hostname", "Hostname"), ("StopSignal", "StopSignal")):
        if cs.get(src):
            body[dst] = cs[src]
    if cs.get("Healthcheck"):
        body["Healthcheck"] = cs["Healthcheck"]
    endpoint = (task.get("Endpoint") or {}).get("Spec") or svc_spec.get("EndpointSpec") or {}
    dnsrr = (endpoint.get("Mode") or "vip") == "dnsrr"
    endpoints: dict[str, Any] = {}
    for att in spec.get("Networks") or []:
        aliases = [str(a) for a in att.get("Aliases") or []]
        names = [f"tasks.{svc_name}", *(f"tasks.{a}" for a in aliases)]
        if dnsrr:
            names += [svc_name, *aliases]
        endpoints[att["Target"]] = {"Aliases": names}
    ingress_ports = [p for p in endpoint.get("Ports") or [] if (p.get("PublishMode") or "ingress") == "ingress"]
    attached = {att["Target"] for att in spec.get("Networks") or []}
    if ingress_ports:  # the routing mesh reaches the task on ingress (its VIP there is listed first)
        for vip in ((service or {}).get("Endpoint") or {}).get("VirtualIPs") or []:
            if vip.get("NetworkID") and vip["NetworkID"] not in attached:
                endpoints.setdefault(vip["NetworkID"], {"Aliases": []})
    host: dict[str, Any] = {}
    host_ports = [p for p in endpoint.get("Ports") or [] if p.get("PublishMode") == "host"]
    if host_ports:
        exposed: dict[str, Any] = {}
        bindings: dict[str, list[dict[str, str]]] = {}
        for p in host_ports:
            key = f"{p['TargetPort']}/{p.get('Protocol') or 'tcp'}"
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostPort": str(p.get("PublishedPort") or "")})
        body["ExposedPorts"] = exposed
        host["PortBindings"] = bindings
    if endpoints:
        first = next(iter(endpoints))
        host["NetworkMode"] = first
        body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    body["HostConfig"] = host
    return body


class TaskAgent:
    def __init__(
        self, runtime: TaskRuntime, node_id: str, drained: Callable[[], Awaitable[bool]] | None = None
    ) -> None:
        self._runtime = runtime
        self._me = node_id
        #: waits until every node has taken this node's withdrawn endpoints out of its
        #: balancers (``NetworkSync.barrier``): a stopped task gets no new flow
        self._drained = drained
        self._store: Store | None = None
        #: this node's tasks as the store has them, and what was last reported of each
        self._tasks: dict[str, dict[str, Any]] = {}
        self._reported: dict[str, dict[str, Any]] = {}
        self._containers: dict[str, str] = {}  # task ID → container ID
        self._busy: dict[str, asyncio.Task[None]] = {}  # a task being started or stopped
        self._services: dict[str, dict[str, Any]] = {}
        self._health: dict[str, asyncio.Task[None]] = {}  # healthcheck loops by task

    def start(self, store: Store) -> list[asyncio.Task[None]]:
        self._store = store
        return [
            asyncio.create_task(self._follow(), name="swarm-tasks"),
            asyncio.create_task(self._watch_exits(), name="swarm-task-exits"),
        ]

    # -- following the store

    async def _follow(self) -> None:
        while True:
            try:
                revision = await self._resync()
                await self._watch(revision + 1)
            except SeawayError as exc:
                log.warning("swarm: following tasks: %s", getattr(exc, "detail", "") or exc)
                await asyncio.sleep(RETRY)
            except Exception as exc:  # a long-running loop logs and goes on
                log.error("swarm: following tasks: %s", exc, exc_info=True)
                await asyncio.sleep(RETRY)

    async def _resync(self) -> int:
        store = self._store
        assert store is not None
        entries, revision = await store.snapshot(schema.TASKS)
        reports, _ = await store.snapshot(schema.node_tasks(self._me))
        svcs, _ = await store.snapshot(schema.SERVICES)
        self._services = {e.value["ID"]: e.value for e in svcs}
        self._reported = {e.key.rsplit("/", 1)[1]: e.value for e in reports}
        self._containers = await asyncio.to_thread(self._runtime.task_containers)
        mine = {e.value["ID"]: e.value for e in entries if e.value.get("NodeID") == self._me}
        for task_id in set(self._tasks) - set(mine):
            self._forget(task_id)
        self._tasks = {}
        for task in mine.values():
            self._consider(task)
        for task_id in set(self._containers) - set(mine):  # containers of tasks the store no longer has
            self._forget(task_id)
        for task_id in set(self._reported) - set(mine):
            await store.delete(schema.node_task(self._me, task_id))
            self._reported.pop(task_id, None)
        return revision

    async def _watch(self, start: int) -> None:
        store = self._store
        assert store is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESYNC
        async with store.follow((schema.TASKS, schema.SERVICES), start) as changes:
            while (events := await changes.next(deadline - loop.time())) is not None:
                for ev in events:
                    self._on_event(ev)

    def _on_event(self, ev: Event) -> None:
        if ev.key.startswith(schema.SERVICES):
            service_id = ev.key[len(schema.SERVICES) :]
            if ev.value is None:
                self._services.pop(service_id, None)
            else:
                self._services[service_id] = ev.value
            return
        task_id = ev.key[len(schema.TASKS) :]
        if ev.value is None or ev.value.get("NodeID") != self._me:
            if task_id in self._tasks or task_id in self._containers:
                self._forget(task_id)
            return
        self._consider(ev.value)

    # -- acting on a task

    def _consider(self, task: dict[str, Any]) -> None:
        task_id = task["ID"]
        self._tasks[task_id] = task
        if task_id in self._busy:
            return  # the running step looks again when it ends
        state = (self._reported.get(task_id) or {}).get("State", "")
        desired = task.get("DesiredState")
        if desired == "running":
            if not state or state == "assigned":
                self._spawn(task_id, self._run(task))
            elif state in ("starting", "running") and task_id not in self._health:
                self._resume_health(task, state)
        elif desired == "ready":  # a replacement waiting for its restart delay: not yet
            return
        elif state in ("", "assigned", "accepted", "preparing", "starting", "running"):
            self._spawn(task_id, self._shut(task))

    def _resume_health(self, task: dict[str, Any], state: str) -> None:
        """After a daemon restart: a task's healthcheck watched again (a starting task
        without its container cannot start any more: it failed)."""
        task_id, container = task["ID"], self._containers.get(task["ID"])
        check = health_of(task)
        if container is None:
            if state == "starting":
                self._spawn(
                    task_id, self._report(task_id, "failed", "starting", err="task: container lost while starting")
                )
            return
        if check is not None:
            details = {
                k: v
                for k, v in (self._reported.get(task_id) or {}).items()
                if k not in ("Timestamp", "State", "Message", "Err")
            }
            self._health[task_id] = asyncio.create_task(
                self._watch_health(task_id, container, check, details, _grace(task), healthy=state == "running")
            )

    def _forget(self, task_id: str) -> None:
        """The task is gone from the store (or from this node): no container, no report."""
        self._tasks.pop(task_id, None)

        async def forget() -> None:
            await self._remove_container(task_id, DEFAULT_GRACE)
            if task_id in self._reported and self._store is not None:
                with contextlib.suppress(SeawayError):
                    await self._store.delete(schema.node_task(self._me, task_id))
                self._reported.pop(task_id, None)

        self._spawn(task_id, forget(), again=False)

    def _spawn(self, task_id: str, step: Any, again: bool = True) -> None:
        async def guarded() -> None:
            try:
                await step
            except Exception as exc:  # one task's failure never stops the others
                log.error("swarm: task %s: %s", task_id, exc, exc_info=True)
            finally:
                self._busy.pop(task_id, None)
            task = self._tasks.get(task_id)
            if again and task is not None:
                self._consider(task)

        previous = self._busy.get(task_id)
        if previous is not None:
            step.close()
            return
        self._busy[task_id] = asyncio.create_task(guarded(), name=f"swarm-task-{task_id[:12]}")

    async def _report(self, task_id: str, state: str, message: str, err: str = "", **extra: Any) -> None:
        status: dict[str, Any] = {"Timestamp": _now(), "State": state, "Message": message, **extra}
        if err:
            status["Err"] = err
        container = self._containers.get(task_id)
        if container:
            status.setdefault("ContainerID", container)
        self._reported[task_id] = status
        if self._store is None:
            return
        for _ in range(10):
            try:
                await self._store.put(schema.node_task(self._me, task_id), status)
                return
            except SeawayError as exc:
                log.warning("swarm: reporting task %s: %s", task_id[:12], exc)
                await asyncio.sleep(RETRY)

    async def _run(self, task: dict[str, Any]) -> None:
        task_id = task["ID"]
        service = self._services.get(task["ServiceID"])
        svc_name = str(((service or {}).get("Spec") or {}).get("Name") or task["ServiceID"])
        await self._report(task_id, "accepted", "accepted")
        await self._report(task_id, "preparing", "preparing")
        body = create_body(task, service, self._me)
        name = container_name(task, svc_name)
        await self._report(task_id, "starting", "starting")
        try:
            container = await asyncio.to_thread(self._runtime.run, name, body)
        except NotFound as exc:  # no such image: the task cannot be made here
            await self._report(task_id, "rejected", "preparing", err=str(exc))
            log.warning("swarm: task %s of service %s rejected: %s", name, svc_name, exc)
            return
        except SeawayError as exc:
            await self._report(task_id, "failed", "starting", err=str(exc))
            log.warning("swarm: task %s of service %s failed to start: %s", name, svc_name, exc)
            return
        self._containers[task_id] = container
        state = await asyncio.to_thread(self._runtime.state, container)
        pid = state[2] if state else 0
        addresses = await asyncio.to_thread(self._runtime.addresses, container)
        details = {"ContainerID": container, "PID": pid, "ExitCode": 0, "Addresses": addresses}
        ports = await asyncio.to_thread(self._runtime.ports, container)
        if ports:
            details["PortStatus"] = ports
        check = health_of(task)
        if check is None:
            await self._report(task_id, "running", "started", **details)
            return
        # with a healthcheck a task is starting, and in no answer, until its first healthy probe
        await asyncio.to_thread(self._runtime.withdraw, container)
        await self._report(task_id, "starting", "starting", **details)
        self._health[task_id] = asyncio.create_task(
            self._watch_health(task_id, container, check, details, _grace(task))
        )

    async def _watch_health(
        self, task_id: str, container: str, check: Health, details: dict[str, Any], grace: int, healthy: bool = False
    ) -> None:
        """Probe every interval: the first success makes the task running (its names
        answer); ``retries`` failures in a row (after the start period) fail it: names
        withdrawn, container stopped, ``failed`` reported (the orchestrator replaces it)."""
        loop = asyncio.get_running_loop()
        began, failures = loop.time(), 0
        try:
            while self._containers.get(task_id) == container:
                if (self._reported.get(task_id) or {}).get("State") not in ("starting", "running"):
                    return
                await asyncio.sleep(check.interval)
                try:
                    code = await asyncio.to_thread(self._runtime.probe, container, check.argv, check.timeout)
                except SeawayError:
                    code = -1
                if self._containers.get(task_id) != container or task_id in self._busy:
                    return
                if code == 0:
                    failures = 0
                    if not healthy:
                        healthy = True
                        await asyncio.to_thread(self._runtime.publish, container)
                        await self._report(task_id, "running", "started", **details)
                    continue
                if not healthy and loop.time() - began < check.start_period:
                    continue
                failures += 1
                if failures >= check.retries:
                    log.warning("swarm: task %s is unhealthy (%d failed probes)", task_id[:12], failures)
                    with contextlib.suppress(NotFound):
                        await asyncio.to_thread(self._runtime.stop, container, grace)
                    await self._report(task_id, "failed", "started", err=UNHEALTHY, **details)
                    return
        finally:
            self._health.pop(task_id, None)

    async def _shut(self, task: dict[str, Any]) -> None:
        task_id = task["ID"]
        grace = _grace(task)
        before = (self._reported.get(task_id) or {}).get("State", "")
        container = self._containers.get(task_id)
        if container is not None and before not in ("complete", "failed", "rejected", "shutdown"):
            await self._drain(container)
            with contextlib.suppress(NotFound):
                await asyncio.to_thread(self._runtime.stop, container, grace)
        if before not in ("complete", "failed", "rejected", "shutdown"):
            await self._report(task_id, "shutdown", "shutdown")

    async def _remove_container(self, task_id: str, grace: int) -> None:
        container = self._containers.pop(task_id, None)
        if container is None:
            return
        await self._drain(container)
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(self._runtime.stop, container, grace)
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(self._runtime.remove, container)

    async def _drain(self, container: str) -> None:
        """The task leaves every node's balancers (bounded) before its stop signal; its
        established flows go on until it closes them in its grace period."""
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(self._runtime.withdraw, container)
            if self._drained is not None:
                await self._drained()

    # -- exits

    async def _watch_exits(self) -> None:
        try:
            await self._exits()
        finally:  # the agent is stopping: so are the healthchecks
            for check in list(self._health.values()):
                check.cancel()

    async def _exits(self) -> None:
        while True:
            await asyncio.sleep(EXITS)
            for task_id, container in list(self._containers.items()):
                state = (self._reported.get(task_id) or {}).get("State")
                if task_id in self._busy or state not in ("starting", "running"):
                    continue
                try:
                    state = await asyncio.to_thread(self._runtime.state, container)
                except SeawayError:
                    continue
                if state is not None and state[0] in ("running", "restarting", "created"):
                    continue
                code = state[1] if state else -1
                status = {"ContainerID": container, "ExitCode": code}
                if code == 0:
                    await self._report(task_id, "complete", "finished", **status)
                else:
                    await self._report(task_id, "failed", "started", err=f"task: non-zero exit ({code})", **status)


UNHEALTHY = "task: unhealthy container"


@dataclass(frozen=True, slots=True)
class Health:
    """A task's healthcheck (``ContainerSpec.Healthcheck``; Docker's defaults)."""

    argv: list[str]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0


def health_of(task: dict[str, Any]) -> Health | None:
    check = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Healthcheck") or {}
    test = [str(t) for t in check.get("Test") or []]
    if not test or test[0] == "NONE":
        return None
    kind, rest = test[0], test[1:]
    argv = {"CMD-SHELL": ["/bin/sh", "-c", " ".join(rest)], "CMD": rest}.get(kind, test)
    if not argv:
        return None

    def seconds(key: str, default: float) -> float:
        return int(check[key]) / 1e9 if check.get(key) else default

    return Health(
        argv, seconds("Interval", 30.0), seconds("Timeout", 30.0), int(check.get("Retries") or 3),
        seconds("StartPeriod", 0.0),
    )  # fmt: skip


def _grace(task: dict[str, Any]) -> int:
    ns = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("StopGracePeriod")
    return max(0, int(ns) // 1_000_000_000) if ns is not None else DEFAULT_GRACE
