"""Docker's JSON for swarm objects (``GET /swarm``, ``/nodes``, ``/info``'s ``Swarm``),
built from what the store holds. Pure."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

DEFAULT_SPEC: dict[str, Any] = {
    "Name": "default",
    "Labels": {},
    "Orchestration": {"TaskHistoryRetentionLimit": 5},
    "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
             "ElectionTick": 10, "HeartbeatTick": 1},
    "Dispatcher": {"HeartbeatPeriod": 5_000_000_000},
    "CAConfig": {"NodeCertExpiry": 90 * 24 * 3600 * 1_000_000_000},
    "TaskDefaults": {},
    "EncryptionConfig": {"AutoLockManagers": False},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NodeView:
    """Everything the store says about one node."""

    id: str
    spec: dict[str, Any]
    spec_revision: int
    desc: dict[str, Any]
    alive: bool
    manager_addr: str  # "ip:2377" for managers
    leader: bool

    @property
    def role(self) -> str:
        return str(self.spec.get("Role", "worker"))


def tls_info(ca_pem: bytes) -> dict[str, str]:
    cert = x509.load_pem_x509_certificate(ca_pem)
    subject = cert.subject.public_bytes()
    key = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "TrustRoot": ca_pem.decode(),
        "CertIssuerSubject": base64.b64encode(subject).decode(),
        "CertIssuerPublicKey": base64.b64encode(key).decode(),
    }


def cluster(record: dict[str, Any], revision: int, ca_pem: bytes) -> dict[str, Any]:
    """``GET /swarm`` without the join tokens (as in ``/info``'s ``Cluster``)."""
    return {
        "ID": record["ID"],
        "Version": {"Index": revision},
        "CreatedAt": record["CreatedAt"],
        "UpdatedAt": record.get("UpdatedAt", record["CreatedAt"]),
        "Spec": record.get("Spec", DEFAULT_SPEC),
        "TLSInfo": tls_info(ca_pem),
        "RootRotationInProgress": False,
        "DefaultAddrPool": record.get("DefaultAddrPool", ["10.0.0.0/8"]),
        "SubnetSize": record.get("SubnetSize", 24),
        "DataPathPort": record.get("DataPathPort", 4789),
    }


def node(view: NodeView, ca_pem: bytes) -> dict[str, Any]:
    """One node as ``GET /nodes/{id}`` shows it."""
    desc = view.desc
    spec = {
        "Labels": view.spec.get("Labels") or {},
        "Role": view.role,
        "Availability": view.spec.get("Availability", "active"),
    }
    if view.spec.get("Name"):
        spec["Name"] = view.spec["Name"]
    out: dict[str, Any] = {
        "ID": view.id,
        "Version": {"Index": view.spec_revision},
        "CreatedAt": view.spec.get("CreatedAt", ""),
        "UpdatedAt": view.spec.get("UpdatedAt", view.spec.get("CreatedAt", "")),
        "Spec": spec,
        "Description": {
            "Hostname": desc.get("Hostname", ""),
            "Platform": {"Architecture": desc.get("Architecture", ""), "OS": "linux"},
            "Resources": {"NanoCPUs": desc.get("NanoCPUs", 0), "MemoryBytes": desc.get("MemoryBytes", 0)},
            "Engine": {"EngineVersion": desc.get("EngineVersion", ""), "Plugins": []},
            "TLSInfo": tls_info(ca_pem),
        },
        "Status": {"State": "ready" if view.alive else "down", "Addr": desc.get("Addr", "")},
    }
    if view.role == "manager":
        out["ManagerStatus"] = {
            "Leader": view.leader,
            # reachable: alive, and its etcd member has joined (it registered its 2377 address)
            "Reachability": "reachable" if view.alive and view.manager_addr else "unreachable",
            "Addr": view.manager_addr,
        }
        if not view.leader:
            del out["ManagerStatus"]["Leader"]
    return out


def matches(view: NodeView, filters: dict[str, list[str]]) -> bool:
    """``GET /nodes?filters=`` (id and name by prefix, role, membership, label)."""
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "id" and not any(view.id.startswith(w) for w in wanted):
            return False
        if key == "name" and not any(view.desc.get("Hostname", "").startswith(w) for w in wanted):
            return False
        if key == "role" and view.role not in wanted:
            return False
        if key == "membership" and "accepted" not in wanted:
            return False
        if key == "node.label" or key == "label":
            labels = view.spec.get("Labels") or {}
            for w in wanted:
                k, _, v = w.partition("=")
                if k not in labels or (v and labels[k] != v):
                    return False
    return True
