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
``nodes/<id>/endpoints/<net>/<ep>`` an endpoint of a swarm network on the node:  node      —
                                   addresses, MAC, names, the node's VTEP
``networks/<id>``                  a swarm network: Docker's fields + VNI      manager   —
``names/networks/<name>``          the network of that name (unique names)     manager   —
``ipam/subnets/<cidr>``            the network owning a subnet                 manager   —
``ipam/vni/<vni>``                 the network owning a VXLAN id               manager   —
``ipam/addr/<net>/<ip>``           the node and endpoint holding an address    any node  —
``ipam/next/<net>/<subnet>``       the last address handed out (serial cursor) any node  —
``services/<id>``                  a service: spec, previous spec, endpoint    manager   —
                                   (VIPs), update status; ``Version`` = its
                                   mod revision
``names/services/<name>``          the service of that name (unique names)     manager   —
``tasks/<id>``                     a task: service, slot or node, desired      leader    —
                                   state, the spec it was made from
``nodes/<id>/tasks/<task>``        what the node's agent reports of a task:    node      —
                                   state, message, container, exit code,
                                   addresses
``ports/<proto>/<port>``            the service publishing it on the routing    manager   —
                                   mesh
``private/ca``                     CA certificate and key                      manager   —
``private/join-tokens``            the worker and manager token secrets        manager   —
=================================  ==========================================  ========  =====

Workers may write only under their own ``nodes/<id>/`` and ``ipam/addr/`` and
``ipam/next/`` (a container attaching on a worker takes its address itself), and cannot
read ``private/`` (``seaway.cluster.rbac``). Pure: names only.
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
NETWORKS = ROOT + "networks/"
NETWORK_NAMES = ROOT + "names/networks/"
SUBNETS = ROOT + "ipam/subnets/"
VNIS = ROOT + "ipam/vni/"
ADDRESSES = ROOT + "ipam/addr/"
CURSORS = ROOT + "ipam/next/"
SERVICES = ROOT + "services/"
#: per node, the store revision up to which it has applied endpoint changes: ``{"Revision"}``
APPLIED = ROOT + "applied/"
SERVICE_NAMES = ROOT + "names/services/"
TASKS = ROOT + "tasks/"
PORTS = ROOT + "ports/"


def manager(node_id: str) -> str:
    return MANAGERS + node_id


def node(node_id: str) -> str:
    """The prefix of a node's own keys."""
    return f"{NODES}{node_id}/"


def node_spec(node_id: str) -> str:
    return node(node_id) + "spec"


def node_desc(node_id: str) -> str:
    return node(node_id) + "desc"


def applied(node_id: str) -> str:
    return APPLIED + node_id


def node_alive(node_id: str) -> str:
    return node(node_id) + "alive"


def node_of(key: str) -> str:
    """The node ID in a key under ``nodes/``."""
    return key[len(NODES) :].split("/", 1)[0]


def network(network_id: str) -> str:
    return NETWORKS + network_id


def network_name(name: str) -> str:
    return NETWORK_NAMES + name


def subnet(cidr: str) -> str:
    return SUBNETS + cidr


def vni(value: int) -> str:
    return f"{VNIS}{value}"


def addresses(network_id: str) -> str:
    """The prefix of a network's address keys."""
    return f"{ADDRESSES}{network_id}/"


def address(network_id: str, ip: str) -> str:
    return addresses(network_id) + ip


def cursor(network_id: str, cidr: str) -> str:
    return f"{CURSORS}{network_id}/{cidr}"


def node_endpoint(node_id: str, network_id: str, endpoint_id: str) -> str:
    return f"{node(node_id)}endpoints/{network_id}/{endpoint_id}"


def endpoint_of(key: str) -> tuple[str, str, str] | None:
    """(node, network, endpoint) of a key ``nodes/<node>/endpoints/<net>/<ep>``; None
    for any other key."""
    if not key.startswith(NODES):
        return None
    parts = key[len(NODES) :].split("/")
    if len(parts) != 4 or parts[1] != "endpoints":
        return None
    return parts[0], parts[2], parts[3]


def service(service_id: str) -> str:
    return SERVICES + service_id


def service_name(name: str) -> str:
    return SERVICE_NAMES + name


def task(task_id: str) -> str:
    return TASKS + task_id


def node_tasks(node_id: str) -> str:
    """The prefix of what a node reports of its tasks."""
    return node(node_id) + "tasks/"


def node_task(node_id: str, task_id: str) -> str:
    return node_tasks(node_id) + task_id


def task_status_of(key: str) -> tuple[str, str] | None:
    """(node, task) of a key ``nodes/<node>/tasks/<task>``; None for any other key."""
    if not key.startswith(NODES):
        return None
    parts = key[len(NODES) :].split("/")
    if len(parts) != 3 or parts[1] != "tasks":
        return None
    return parts[0], parts[2]
