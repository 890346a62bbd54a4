"""The single-host store: SQLite in WAL mode under ``--data-root``.

Owns the desired state of networks, sandboxes and endpoints. Every change that touches
several objects runs in one transaction (``with store.transaction():``). Each row has a
``state``: ``creating`` while its kernel objects are being made, ``ready`` once they
are, ``deleting`` while they are being removed; start-up reconciliation finishes or
undoes whatever is not ``ready``. IPAM keeps no table of its own: addresses in use are
exactly those of the stored endpoints and networks, so no lease can leak.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seaway.errors import InternalError
from seaway.model.endpoint import Endpoint, Sandbox
from seaway.model.network import Network
from seaway.state import codec

SCHEMA_VERSION = 1

CREATING = "creating"
READY = "ready"
DELETING = "deleting"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, state TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandboxes (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY, network_id TEXT NOT NULL, sandbox_id TEXT NOT NULL,
    state TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (network_id, sandbox_id));
CREATE INDEX IF NOT EXISTS endpoints_by_sandbox ON endpoints (sandbox_id);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
"""


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self._depth = 0
        self._db.executescript(_SCHEMA)
        self._check_version()

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(row[0]) != SCHEMA_VERSION:
            raise InternalError(
                f"open store: schema version {row[0]} is not {SCHEMA_VERSION}, which this Seaway understands"
            )

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of change; nested uses join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    # meta
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # networks
    def put_network(self, net: Network, state: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO networks (id, name, state, doc) VALUES (?, ?, ?, ?)",
            (net.id, net.name, state, json.dumps(codec.network_to_doc(net))),
        )

    def set_network_state(self, network_id: str, state: str) -> None:
        self._db.execute("UPDATE networks SET state=? WHERE id=?", (state, network_id))

    def delete_network(self, network_id: str) -> None:
        self._db.execute("DELETE FROM networks WHERE id=?", (network_id,))

    def networks(self) -> list[tuple[Network, str]]:
        rows = self._db.execute("SELECT doc, state FROM networks ORDER BY name").fetchall()
        return [(codec.network_from_doc(json.loads(doc)), state) for doc, state in rows]

    # sandboxes
    def put_sandbox(self, sb: Sandbox, state: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sandboxes (id, state, doc) VALUES (?, ?, ?)",
            (sb.id, state, json.dumps(codec.sandbox_to_doc(sb))),
        )

    def set_sandbox_state(self, sandbox_id: str, state: str) -> None:
        self._db.execute("UPDATE sandboxes SET state=? WHERE id=?", (state, sandbox_id))

    def delete_sandbox(self, sandbox_id: str) -> None:
        self._db.execute("DELETE FROM sandboxes WHERE id=?", (sandbox_id,))

    def sandboxes(self) -> list[tuple[Sandbox, str]]:
        rows = self._db.execute("SELECT doc, state FROM sandboxes").fetchall()
        return [(codec.sandbox_from_doc(json.loads(doc)), state) for doc, state in rows]

    # endpoints
    def put_endpoint(self, ep: Endpoint, state: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO endpoints (id, network_id, sandbox_id, state, doc) VALUES (?, ?, ?, ?, ?)",
            (ep.id, ep.network_id, ep.sandbox_id, state, json.dumps(codec.endpoint_to_doc(ep))),
        )

    def set_endpoint_state(self, endpoint_id: str, state: str) -> None:
        self._db.execute("UPDATE endpoints SET state=? WHERE id=?", (state, endpoint_id))

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._db.execute("DELETE FROM endpoints WHERE id=?", (endpoint_id,))

    def endpoints(self) -> list[tuple[Endpoint, str]]:
        rows = self._db.execute("SELECT doc, state FROM endpoints").fetchall()
        return [(codec.endpoint_from_doc(json.loads(doc)), state) for doc, state in rows]

    # containers (their records are owned by daemon.containers; the store only keeps them)
    def put_container(self, container_id: str, name: str, doc: dict[str, object]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO containers (id, name, doc) VALUES (?, ?, ?)",
            (container_id, name, json.dumps(doc)),
        )

    def delete_container(self, container_id: str) -> None:
        self._db.execute("DELETE FROM containers WHERE id=?", (container_id,))

    def containers(self) -> list[dict[str, object]]:
        return [json.loads(doc) for (doc,) in self._db.execute("SELECT doc FROM containers").fetchall()]
