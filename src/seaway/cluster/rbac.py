"""etcd's users and roles: who may read and write which keys.

etcd runs with ``--client-cert-auth``: a client's certificate CN (its node ID) is its
etcd user. Managers get etcd's ``root`` role (everything, including the member API and
user administration). A worker ``<id>`` gets role ``node-<id>``: read-write on
``nodes/<id>/`` and ``applied/<id>``, read-only on ``/seaway/v1/`` except ``private/`` (the CA key and the
token secrets), nothing else. ``root`` itself is a user without a password that no
certificate is issued for; etcd needs it to exist before auth can be enabled.
"""

from __future__ import annotations

from seaway.cluster import schema
from seaway.cluster.store import Store, prefix_end

READ = 0
WRITE = 1
READWRITE = 2


#: what every worker may write besides its own keys (one role, granted once per worker)
SHARED_ROLE = "nodes-shared"


def worker_role(node_id: str) -> str:
    return f"node-{node_id}"


async def enable(store: Store, first_manager: str) -> None:
    """Turn on auth in a new cluster whose first manager is ``first_manager``."""
    await store.call_auth("user_add", "root", no_password=True)
    await store.call_auth("user_grant_role", "root", "root")
    await store.call_auth("user_add", first_manager, no_password=True)
    await store.call_auth("user_grant_role", first_manager, "root")
    await store.call_auth("role_add", SHARED_ROLE)
    for shared in (schema.ADDRESSES, schema.CURSORS):  # a container attaching on a worker takes its address
        await store.call_auth(
            "role_grant_permission", SHARED_ROLE, shared, range_end=prefix_end(shared), perm_type=READWRITE
        )
    await store.call_auth("auth_enable")


async def add_node(store: Store, node_id: str, role: str) -> None:
    """The etcd user of a node joining as ``role``."""
    await store.call_auth("user_add", node_id, no_password=True)
    await set_role(store, node_id, role, fresh=True)


async def set_role(store: Store, node_id: str, role: str, fresh: bool = False) -> None:
    """Give ``node_id``'s user the rights of ``role`` (and take the other's away)."""
    wrole = worker_role(node_id)
    if role == "manager":
        await store.call_auth("user_grant_role", node_id, "root")
        if not fresh:
            await _ignore_missing(store.call_auth("user_revoke_role", node_id, wrole))
        return
    await _ignore_existing(store.call_auth("role_add", wrole))
    own = schema.node(node_id)
    await store.call_auth("role_grant_permission", wrole, own, range_end=prefix_end(own), perm_type=READWRITE)
    # its drain-barrier key: outside nodes/, which every node and the leader watch
    await store.call_auth("role_grant_permission", wrole, schema.applied(node_id), perm_type=READWRITE)
    await store.call_auth("role_grant_permission", wrole, schema.ROOT, range_end=schema.PRIVATE, perm_type=READ)
    after_private = schema.PRIVATE[:-1] + "0"  # the first key after the private/ range
    await store.call_auth(
        "role_grant_permission", wrole, after_private, range_end=prefix_end(schema.ROOT), perm_type=READ
    )
    await store.call_auth("user_grant_role", node_id, wrole)
    await store.call_auth("user_grant_role", node_id, SHARED_ROLE)
    if not fresh:
        await _ignore_missing(store.call_auth("user_revoke_role", node_id, "root"))


async def remove_node(store: Store, node_id: str) -> None:
    await _ignore_missing(store.call_auth("user_delete", node_id))
    await _ignore_missing(store.call_auth("role_delete", worker_role(node_id)))


async def _ignore_existing(call) -> None:  # type: ignore[no-untyped-def]
    from seaway.errors import SeawayError

    try:
        await call
    except SeawayError as exc:
        if "already exists" not in str(exc) and "exist" not in str(getattr(exc, "detail", "")):
            raise


async def _ignore_missing(call) -> None:  # type: ignore[no-untyped-def]
    from seaway.errors import SeawayError

    try:
        await call
    except SeawayError as exc:
        text = f"{exc} {getattr(exc, 'detail', '')}"
        if "not found" not in text and "not granted" not in text:
            raise
