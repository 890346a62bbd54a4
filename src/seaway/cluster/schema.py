"""The cluster's keys in etcd, all under ``/seaway/v1/`` (values are JSON objects).

=================================  ==========================================  ========  =====
key                                content                                     writer    lease
=================================  ==========================================  ========  =====
``cluster``                        ID, created/updated, spec, pools, port      manager   —
``managers/<node>``                join API address, etcd client/peer URLs,    manager   —
                                   etcd member ID
``leader``                         the leader's node ID and term               leader    leader
``nodes/<id>/spec``                role, availability, labels, name            manager   —
``nodes/<id>/desc``                hostname, address, engine version, platform node      —
``nodes/<id>/alive``               boot ID (the node is Ready while it exists) node      node
``private/ca``                     CA certificate and key                      manager   —
``private/join-tokens``            the worker and manager token secrets        manager   —
=================================  ==========================================  ========  =====

Workers may write only under their own ``nodes/<id>/`` and cannot read ``private/``
(``seaway.cluster.rbac``). Pure: names only.
"""

from __future__ import annotations

ROOT = "/seaway/v1/"
CLUSTER = ROOT + "cluster"
LEADER = ROOT + "leader"
MANAGERS = ROOT + "managers/"
NODES = ROOT + "nodes/"
PRIVATE = ROOT + "private/"
CA = PRIVATE + "ca"
TOKENS = PRIVATE + "join-tokens"


def manager(node_id: str) -> str:
    return MANAGERS + node_id


def node(node_id: str) -> str:
    """The prefix of a node's own keys."""
    return f"{NODES}{node_id}/"


def node_spec(node_id: str) -> str:
    return node(node_id) + "spec"


def node_desc(node_id: str) -> str:
    return node(node_id) + "desc"


def node_alive(node_id: str) -> str:
    return node(node_id) + "alive"


def node_of(key: str) -> str:
    """The node ID in a key under ``nodes/``."""
    return key[len(NODES) :].split("/", 1)[0]
