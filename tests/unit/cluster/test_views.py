"""Docker's JSON for nodes and the cluster, and the node filters (pure)."""

from __future__ import annotations

from seaway.cluster import identity, views


def _view(role: str = "manager", alive: bool = True, leader: bool = False) -> views.NodeView:
    spec = {"Role": role, "Availability": "active", "Labels": {"zone": "a"}, "CreatedAt": "t0", "UpdatedAt": "t1"}
    desc = {"Hostname": "h1", "Addr": "192.0.2.1", "EngineVersion": "0.1.0", "Architecture": "x86_64"}
    return views.NodeView("n" * 25, spec, 7, desc, alive, "192.0.2.1:2377" if role == "manager" else "", leader)


CA = identity.new_ca("c").cert_pem


def test_a_leader_manager_looks_like_dockers() -> None:
    node = views.node(_view(leader=True), CA)
    assert node["Version"] == {"Index": 7}
    assert node["Spec"] == {"Labels": {"zone": "a"}, "Role": "manager", "Availability": "active"}
    assert node["Status"] == {"State": "ready", "Addr": "192.0.2.1"}
    assert node["ManagerStatus"] == {"Leader": True, "Reachability": "reachable", "Addr": "192.0.2.1:2377"}
    assert node["Description"]["TLSInfo"]["TrustRoot"].startswith("-----BEGIN CERTIFICATE-----")


def test_a_dead_manager_is_down_and_unreachable_a_worker_has_no_manager_status() -> None:
    dead = views.node(_view(alive=False), CA)
    assert dead["Status"]["State"] == "down"
    assert dead["ManagerStatus"] == {"Reachability": "unreachable", "Addr": "192.0.2.1:2377"}
    assert "ManagerStatus" not in views.node(_view(role="worker"), CA)


def test_filters_by_role_id_name_and_label() -> None:
    v = _view()
    assert views.matches(v, {"role": ["manager"], "id": ["nnn"], "name": ["h"]})
    assert not views.matches(v, {"role": ["worker"]})
    assert views.matches(v, {"node.label": ["zone=a"]}) and not views.matches(v, {"node.label": ["zone=b"]})


def test_cluster_view_has_the_default_spec_and_tls_info() -> None:
    record = {"ID": "c", "CreatedAt": "t0", "Spec": views.DEFAULT_SPEC, "DataPathPort": 4789}
    out = views.cluster(record, 12, CA)
    assert out["Version"] == {"Index": 12} and out["UpdatedAt"] == "t0"
    assert out["Spec"]["Raft"]["ElectionTick"] == 10 and out["DefaultAddrPool"] == ["10.0.0.0/8"]
    assert set(out["TLSInfo"]) == {"TrustRoot", "CertIssuerSubject", "CertIssuerPublicKey"}
