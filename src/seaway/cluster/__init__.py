"""The cluster control plane ("swarm mode") on etcd: identity, the etcd member a manager
runs, the store client, the join API, and the node agent (see docs/cluster.md)."""
