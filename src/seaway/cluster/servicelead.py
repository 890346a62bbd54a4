"""The leader's service loop: reads services, tasks and nodes, asks the orchestrator
(``seaway.cluster.orchestrator``, pure) what should change, and writes it.

A round reads the three prefixes, merges each task with what its node reported
(``nodes/<node>/tasks/<task>``: the agent's state wins once it is past the leader's
own ``pending``/``assigned``), runs ``orchestrator.plan`` and applies the plan in one
transaction fenced on the leader key (a deposed leader's round writes nothing). Rounds
run on every batch of watched changes (gathered for ``SETTLE`` seconds), at the plan's
``wake_at`` (restart and update delays), and at least every ``IDLE`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from seaway.cluster import identity, orchestrator, schema, servicedoc
from seaway.cluster.store import Event, Store
from seaway.errors import SeawayError

log = logging.getLogger(__name__)

SETTLE = 0.05
IDLE = 5.0


def task_record(task: dict[str, Any], reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The task with the addresses its node reported (``Networks``, as ``servicedoc`` reads them)."""
    addresses = (reports.get(task["ID"]) or {}).get("Addresses") or {}
    if not addresses:
        return task
    return {**task, "Networks": [{"ID": k, "Addresses": v} for k, v in addresses.items()]}


def merge(task: dict[str, Any], report: dict[str, Any] | None) -> dict[str, Any]:
    """The task as the orchestrator sees it: the status is its node's report when that is
    the newer (``Status.ContainerStatus`` as Docker shows it)."""
    if report is None:
        return task
    return {**task, "Status": servicedoc.task_view(task, report, 0)["Status"]}


async def read(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, Any]], int]:
    """Services and tasks as stored (each with ``Version``), the nodes' reports by task,
    and the revision read at."""
    svc_entries, revision = await store.snapshot(schema.SERVICES)
    task_entries, _ = await store.snapshot(schema.TASKS)
    node_entries, _ = await store.snapshot(schema.NODES)
    reports: dict[str, dict[str, Any]] = {}
    for e in node_entries:
        where = schema.task_status_of(e.key)
        if where is not None:
            reports[where[1]] = e.value
    services = [{**e.value, "Version": {"Index": e.mod_revision}} for e in svc_entries]
    tasks = [{**e.value, "Version": {"Index": e.mod_revision}} for e in task_entries]
    return services, tasks, reports, revision


class ServiceLead:
    def __init__(self, store: Callable[[], Store | None], nodes: Callable[[Store], Awaitable[list[dict[str, Any]]]],
                 leader_revision: Callable[[], int], history: Callable[[], Awaitable[int]]) -> None:  # fmt: skip
        self._store = store
        self._nodes = nodes
        self._leader_revision = leader_revision
        self._history = history
        self._wake: float | None = None
        #: set after each applied round (tests and the API's progress wait on it)
        self.rounds = 0

    async def run(self) -> None:
        """While this node leads: rounds on changes, wake-ups and an idle tick."""
        while True:
            try:
                store = self._store()
                if store is None or not self._leader_revision():
                    await asyncio.sleep(0.5)
                    continue
                revision = await self.round(store)
                await self._until_change(store, revision + 1)
            except SeawayError as exc:
                log.warning("swarm: orchestrating services: %s", getattr(exc, "detail", "") or exc)
                await asyncio.sleep(1.0)
            except Exception as exc:  # a long-running loop logs and goes on
                log.error("swarm: orchestrating services: %s", exc, exc_info=True)
                await asyncio.sleep(1.0)

    async def round(self, store: Store) -> int:
        services, stored, reports, revision = await read(store)
        tasks = [merge(t, reports.get(t["ID"])) for t in stored]
        nodes = await self._nodes(store)
        plan = orchestrator.plan(services, tasks, nodes, time.time(), identity.new_id, await self._history())
        self._wake = plan.wake_at
        put: dict[str, dict[str, Any]] = {}
        for task in [*plan.create, *plan.update]:
            record = {k: v for k, v in task.items() if k != "Version"}
            put[schema.task(record["ID"])] = record
        for svc in plan.service_updates:
            record = {k: v for k, v in svc.items() if k != "Version"}
            put[schema.service(record["ID"])] = record
        delete = [schema.task(t) for t in plan.delete]
        owners = {t["ID"]: t.get("NodeID") for t in tasks}
        delete += [schema.node_task(str(owners[t]), t) for t in plan.delete if owners.get(t)]
        if not put and not delete:
            return revision
        unchanged = {schema.LEADER: self._leader_revision()}
        for svc in plan.service_updates:  # an update written meanwhile wins; the next round sees it
            unchanged[schema.service(svc["ID"])] = int(svc.get("Version", {}).get("Index", 0))
        done = await store.transact(put=put, delete=delete, unchanged=unchanged)
        if done is None:
            log.debug("swarm: a plan was not applied (leadership or a service changed meanwhile)")
            return revision
        self.rounds += 1
        return done

    async def _until_change(self, store: Store, start: int) -> None:
        """Until a change that matters (then ``SETTLE`` more), the plan's wake-up or ``IDLE``."""
        loop = asyncio.get_running_loop()
        timeout = IDLE if self._wake is None else min(IDLE, max(0.0, self._wake - time.time()))
        deadline = loop.time() + timeout
        async with store.follow((schema.SERVICES, schema.TASKS, schema.NODES), start) as changes:
            while (events := await changes.next(deadline - loop.time())) is not None:
                if any(_matters(ev) for ev in events):
                    await asyncio.sleep(SETTLE)  # gather what comes with it
                    return


def _matters(ev: Event) -> bool:
    """Endpoint records under ``nodes/`` change no plan; node specs, liveness and task
    reports do."""
    if not ev.key.startswith(schema.NODES):
        return True
    return schema.endpoint_of(ev.key) is None
