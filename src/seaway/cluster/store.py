"""The cluster store: a thin asyncio client of etcd v3 over gRPC with mTLS.

It wraps ``etcd3aio`` (see docs/cluster.md for why that client) and is the only module
that imports it. Values are JSON objects; a key's version is its ``mod_revision``.
etcd's failures are translated once, here:

* no answer in time, or no quorum → :class:`NoLeader` (503, Docker's text for a swarm
  without a leader);
* permission denied (RBAC) → :class:`~seaway.errors.Forbidden`.

Every call has a deadline (``TIMEOUT``): a store that has lost quorum makes callers fail
fast rather than hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seaway.errors import Forbidden, Unavailable

TIMEOUT = 4.0
AUTH_RETRIES = 12
#: etcd's refusals of a request checked against auth rules that changed meanwhile (safe to resend)
AUTH_RACES = ("revision in header is old", "revision of auth store is old")
NO_LEADER_TEXT = (
    "The swarm does not have a leader. It's possible that too few managers are online. "
    "Make sure more than half of the managers are online."
)


class NoLeader(Unavailable):
    def __init__(self, detail: str = "") -> None:
        super().__init__(NO_LEADER_TEXT)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: dict[str, Any]
    mod_revision: int
    create_revision: int
    lease: int


@dataclass(frozen=True, slots=True)
class Event:
    """One change seen by a watch: ``value`` None for a deletion."""

    key: str
    value: dict[str, Any] | None
    mod_revision: int
    create_revision: int


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    learner: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    ca: Path
    cert: Path
    key: Path


def prefix_end(prefix: str) -> str:
    """The end of the range of keys starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Store:
    """One connection to the cluster's etcd (any of ``endpoints``, ``host:port``)."""

    def __init__(self, endpoints: list[str], creds: Credentials) -> None:
        self.endpoints = list(endpoints)
        self._creds = creds
        self._client: Any = None

    async def connect(self) -> None:
        from etcd3aio import Etcd3Client  # imported late: grpc must not be loaded before the lab forks daemons

        self._client = Etcd3Client(
            self.endpoints,
            ca_cert=self._creds.ca.read_bytes(),
            cert_key=self._creds.key.read_bytes(),
            cert_chain=self._creds.cert.read_bytes(),
            tls_server_name="localhost",
            rpc_max_attempts=2,
        )
        await self._client.connect()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import grpc
        from etcd3aio import EtcdError, EtcdPermissionDeniedError

        kwargs.setdefault("timeout", TIMEOUT)
        for attempt in range(AUTH_RETRIES):
            try:
                return await fn(*args, **kwargs)
            except EtcdPermissionDeniedError as exc:
                raise Forbidden(f"etcd refused it: {exc}") from None
            except (EtcdError, grpc.aio.AioRpcError, grpc.aio.UsageError, TimeoutError) as exc:
                # etcd refuses a request checked against auth rules that changed before it
                # was applied (another node's user was added meanwhile); it is safe to resend
                if any(t in str(exc) for t in AUTH_RACES) and attempt < AUTH_RETRIES - 1:
                    await asyncio.sleep(min(0.05 * (attempt + 1), 0.3))
                    continue
                raise NoLeader(str(exc)) from None
        raise AssertionError("unreachable")

    @property
    def kv(self) -> Any:
        return self._client.kv

    # -- keys

    async def get(self, key: str) -> Entry | None:
        resp = await self._call(self.kv.get, key)
        return _entry(resp.kvs[0]) if resp.kvs else None

    async def list(self, prefix: str, local: bool = False) -> list[Entry]:
        """The entries under ``prefix``; ``local``: as the member asked has them (a
        serializable read, which answers without quorum, maybe stale)."""
        resp = await self._call(self.kv.get, prefix, range_end=prefix_end(prefix), serializable=local)
        return [_entry(kv) for kv in resp.kvs]

    async def put(self, key: str, value: dict[str, Any], lease: int = 0) -> int:
        resp = await self._call(self.kv.put, key, _dump(value), lease=lease)
        return int(resp.header.revision)

    async def delete(self, key: str) -> None:
        await self._call(self.kv.delete, key)

    async def delete_prefix(self, prefix: str) -> None:
        await self._call(self.kv.delete, prefix, range_end=prefix_end(prefix))

    async def create(self, key: str, value: dict[str, Any], lease: int = 0) -> int | None:
        """Put ``key`` only if it does not exist; the revision, or None if it exists."""
        kv = self.kv
        resp = await self._call(
            kv.txn, [kv.txn_compare_create_revision(key, 0)], [kv.txn_op_put(key, _dump(value), lease=lease)]
        )
        return int(resp.header.revision) if resp.succeeded else None

    async def transact(
        self,
        *,
        create: dict[str, dict[str, Any]] | None = None,
        put: dict[str, dict[str, Any]] | None = None,
        unchanged: dict[str, int] | None = None,
        delete: list[str] | None = None,
        absent_prefixes: list[str] | None = None,
    ) -> int | None:
        """One transaction: keys of ``create`` must not exist, keys of ``unchanged`` must
        still be at their ``mod_revision`` (0: absent), the ranges of ``absent_prefixes``
        must hold no key; then ``create`` and ``put`` are written and ``delete`` removed together. The
        revision, or None when a condition failed."""
        from etcd3aio._protobuf import Compare

        kv = self.kv
        compares: list[Any] = []
        for key in create or {}:
            compares.append(kv.txn_compare_create_revision(key, 0))
        for key, revision in (unchanged or {}).items():
            if revision:
                compares.append(
                    Compare(key=key.encode(), target=Compare.MOD, result=Compare.EQUAL, mod_revision=revision)
                )
            else:
                compares.append(kv.txn_compare_create_revision(key, 0))
        for prefix in absent_prefixes or []:  # every key of the range "created at 0": none exists
            compares.append(
                Compare(
                    key=prefix.encode(),
                    range_end=prefix_end(prefix).encode(),
                    target=Compare.CREATE,
                    result=Compare.EQUAL,
                    create_revision=0,
                )
            )
        ops = [kv.txn_op_put(k, _dump(v)) for k, v in {**(create or {}), **(put or {})}.items()]
        ops += [kv.txn_op_delete(k) for k in delete or []]
        resp = await self._call(kv.txn, compares, ops)
        return int(resp.header.revision) if resp.succeeded else None

    async def count(self, prefix: str) -> tuple[int, int]:
        """How many keys start with ``prefix`` (a count-only read), and the revision it saw."""
        resp = await self._call(self.kv.get, prefix, range_end=prefix_end(prefix), count_only=True)
        return int(resp.count), int(resp.header.revision)

    async def snapshot(self, prefix: str) -> tuple[list[Entry], int]:
        """The entries under ``prefix`` and the store revision they are at (a watch from
        the next revision misses nothing)."""
        resp = await self._call(self.kv.get, prefix, range_end=prefix_end(prefix))
        return [_entry(kv) for kv in resp.kvs], int(resp.header.revision)

    async def watch(self, prefix: str, start_revision: int) -> Any:
        """The changes under ``prefix`` from ``start_revision`` on, as lists of
        :class:`Event` (one list per revision batch). A compacted start raises
        :class:`NoLeader` (the caller relists)."""
        import grpc

        try:
            async for response in self._client.watch.watch(
                prefix, range_end=prefix_end(prefix), start_revision=start_revision
            ):
                if response.compact_revision:
                    raise NoLeader(f"watch start {start_revision} compacted at {response.compact_revision}")
                if response.canceled:
                    raise NoLeader(f"watch cancelled: {response.cancel_reason}")
                events = []
                for ev in response.events:
                    deleted = ev.type == 1  # DELETE
                    value = None if deleted else json.loads(ev.kv.value)
                    events.append(Event(ev.kv.key.decode(), value, int(ev.kv.mod_revision), int(ev.kv.create_revision)))
                if events:
                    yield events
        except grpc.aio.AioRpcError as exc:
            raise NoLeader(str(exc)) from None

    def follow(self, prefixes: tuple[str, ...], start_revision: int) -> Follow:
        """Watches of several prefixes from one revision, read as one stream of batches
        (``async with store.follow(...) as changes: await changes.next(timeout)``)."""
        return Follow(self, prefixes, start_revision)

    async def put_if(self, key: str, value: dict[str, Any], mod_revision: int) -> bool:
        """Put ``key`` only if it is still at ``mod_revision`` (optimistic concurrency)."""
        return await self.put_fenced(key, value, key, mod_revision)

    async def put_fenced(self, key: str, value: dict[str, Any], fence_key: str, fence_revision: int) -> bool:
        """Put ``key`` only if ``fence_key`` is still at ``fence_revision``: how a leader
        writes, so a deposed one (its ``leader`` key replaced or gone) cannot."""
        from etcd3aio._protobuf import Compare

        kv = self.kv
        compare = Compare(key=fence_key.encode(), target=Compare.MOD, result=Compare.EQUAL, mod_revision=fence_revision)
        resp = await self._call(kv.txn, [compare], [kv.txn_op_put(key, _dump(value))])
        return bool(resp.succeeded)

    # -- leases

    async def grant(self, ttl: int) -> int:
        resp = await self._call(self._client.lease.grant, ttl)
        return int(resp.ID)

    async def keepalive(self, lease: int) -> int:
        """Renew ``lease`` once; its remaining TTL (0 or less: it has expired)."""
        import grpc

        stream = self._client.lease.keep_alive(lease)
        try:
            async with _deadline(TIMEOUT):
                async for response in stream:
                    return int(response.TTL)
        except (grpc.aio.AioRpcError, TimeoutError) as exc:
            raise NoLeader(str(exc)) from None
        finally:
            stream.cancel()
        return 0

    async def revoke(self, lease: int) -> None:
        await self._call(self._client.lease.revoke, lease)

    # -- members

    async def members(self) -> list[Member]:
        resp = await self._call(self._client.cluster.member_list)
        return [_member(m) for m in resp.members]

    async def add_learner(self, peer_url: str) -> tuple[int, list[Member]]:
        resp = await self._call(self._client.cluster.member_add, [peer_url], is_learner=True)
        return int(resp.member.ID), [_member(m) for m in resp.members]

    async def promote(self, member_id: int) -> None:
        """Promote a learner. Sent to the raft leader itself: etcd 3.4 forwards a promotion
        received by a follower over its peer API, where auth then fails ("auth: user name
        is empty"), so this asks any member who leads and talks to that one."""
        status = await self._call(self._client.maintenance.status)
        leader = next((m for m in await self.members() if m.id == int(status.leader)), None)
        if leader is None or not leader.client_urls:
            raise NoLeader("no raft leader to promote through")
        direct = Store([leader.client_urls[0].removeprefix("https://")], self._creds)
        await direct.connect()
        try:
            await direct._call(direct._client.cluster.member_promote, member_id)
        finally:
            await direct.close()

    async def remove_member(self, member_id: int) -> None:
        await self._call(self._client.cluster.member_remove, member_id)

    async def leader_known(self) -> bool:
        """The member this client talks to knows a raft leader (a serializable check
        that works without quorum)."""
        try:
            resp = await self._call(self._client.maintenance.status, timeout=2.0)
        except NoLeader:
            return False
        return int(resp.leader) != 0

    # -- auth (RBAC; see seaway.cluster.rbac)

    @property
    def auth(self) -> Any:
        return self._client.auth

    async def call_auth(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call(getattr(self._client.auth, name), *args, **kwargs)


class Follow:
    """The batches of several watches as they come; leaving the ``async with`` ends them."""

    def __init__(self, store: Store, prefixes: tuple[str, ...], start_revision: int) -> None:
        self._store = store
        self._prefixes = prefixes
        self._start = start_revision
        self._inbox: asyncio.Queue[list[Event] | BaseException] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Follow:
        self._pumps = [asyncio.create_task(self._pump(p)) for p in self._prefixes]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _pump(self, prefix: str) -> None:
        try:
            async for events in self._store.watch(prefix, self._start):
                self._inbox.put_nowait(events)
            self._inbox.put_nowait(NoLeader(f"the watch of {prefix} ended"))
        except BaseException as exc:  # the watch ended: the follower starts over
            self._inbox.put_nowait(exc if isinstance(exc, Unavailable) else NoLeader(f"watch of {prefix}: {exc}"))

    async def next(self, timeout: float) -> list[Event] | None:
        """The next batch, or None when ``timeout`` seconds pass first; the store's error
        (``NoLeader``) when a watch ended."""
        if timeout <= 0:
            return None
        try:
            item = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            raise item
        return item


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _entry(kv: Any) -> Entry:
    return Entry(kv.key.decode(), json.loads(kv.value), int(kv.mod_revision), int(kv.create_revision), int(kv.lease))


def _member(m: Any) -> Member:
    return Member(int(m.ID), m.name, tuple(m.peerURLs), tuple(m.clientURLs), bool(m.isLearner))


def _deadline(seconds: float) -> Any:
    return asyncio.timeout(seconds)
