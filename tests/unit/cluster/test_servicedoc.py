"""Service and task documents against what a real dockerd 20.10 swarm answered.

The fixtures under ``fixtures/dockerd/`` are observed outputs of dockerd 20.10.24 (one
manager in a sandbox) for the bodies the docker CLI 28.2.2 and the raw API sent; IDs are
replaced by ``net-<name>``, ``svc-<name>``, ``task-<n>``, ``node-1``, times by ``TIME``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seaway.cluster import constraints, servicedoc, servicespec
from seaway.errors import InvalidParameter, NotFound, SeawayError, Unsupported

FIXTURES = Path(__file__).parent / "fixtures" / "dockerd"
SERVICES = json.loads((FIXTURES / "services.json").read_text())
ERRORS = json.loads((FIXTURES / "create_errors.json").read_text())
TASKS = json.loads((FIXTURES / "tasks.json").read_text())
QUERIES = json.loads((FIXTURES / "queries.json").read_text())
CONTEXT = json.loads((FIXTURES / "context.json").read_text())

NETWORKS = {
    "net-ingress": {"ID": "net-ingress", "Name": "ingress", "Ingress": True},
    "net-appnet": {"ID": "net-appnet", "Name": "appnet", "Ingress": False},
    "net-othernet": {"ID": "net-othernet", "Name": "othernet", "Ingress": False},
}
# (status, message) where Seaway refuses on purpose what dockerd 20.10 accepted or answered otherwise
DELIBERATE = {
    "bad_protocol": (400, "invalid protocol value 'icmp'"),
    "bad_publish_mode": (400, "invalid publish mode value (hostx): must be either 'ingress' or 'host'"),
    "port_too_big": (400, "invalid PublishedPort 70000: a port is 1 to 65535"),
    "networks_twice": (400, "network appnet is given more than once: attach a service once per network"),
    "networks_twice_id": (400, "network appnet is given more than once: attach a service once per network"),
    "network_local": (404, "network host not found"),
    "network_missing": (404, "network nosuch not found"),
    "mode_job": (501, "job services (replicated-job, global-job) are not supported by Seaway yet"),
    **{k: (400, ERRORS[k]["message"]) for k in ERRORS if k.startswith("bad_constraint")},
}
ELSEWHERE = {"name_taken", "port_in_use", "port_in_use_host", "not_json"}  # not normalise_spec's


def _outcome(body: Any) -> tuple[int, str | None]:
    try:
        servicespec.normalise_spec(body, NETWORKS)
    except SeawayError as exc:
        return exc.status, str(exc)
    return 201, None


@pytest.mark.parametrize("case", sorted(SERVICES))
def test_spec_is_stored_and_shown_as_dockerd_does(case: str) -> None:
    observed = SERVICES[case]
    spec = servicespec.normalise_spec(observed["request"], NETWORKS)
    assert spec == observed["inspect"]["Spec"]
    if "inspect_insert_defaults" in observed:
        assert servicespec.insert_defaults(spec) == observed["inspect_insert_defaults"]


@pytest.mark.parametrize("case", sorted(set(ERRORS) - ELSEWHERE))
def test_bad_create_gets_dockerds_status_and_text(case: str) -> None:
    observed = ERRORS[case]
    expected = DELIBERATE.get(case, (observed["status"], observed["message"]))
    assert _outcome(observed["request"]) == expected


def test_field_names_match_case_insensitively_as_go_does() -> None:
    # docker-py 7.1: ServiceMode("replicated", replicas=2), ServiceMode("global")
    body = {"Name": "py", "TaskTemplate": {"ContainerSpec": {"Image": "busybox", "Labels": {"lower": "x"}}}}
    replicated = servicespec.normalise_spec({**body, "Mode": {"replicated": {"Replicas": 2}}})
    assert replicated["Mode"] == {"Replicated": {"Replicas": 2}}
    assert replicated["TaskTemplate"]["ContainerSpec"]["Labels"] == {"lower": "x"}
    assert servicespec.normalise_spec({**body, "mode": {"global": {}}})["Mode"] == {"Global": {}}


def test_errors_come_in_dockerds_order() -> None:
    # the body converts first, then the networks are looked up, then swarmkit checks it
    bad = {"TaskTemplate": {"ContainerSpec": {}, "Networks": [{"Target": "nosuch"}]}}
    assert _outcome({**bad, "Mode": {"Global": {}, "Replicated": {}}}) == (400, "must specify only one service mode")
    assert _outcome(bad) == (404, "network nosuch not found")
    on_ingress = {"Name": "bad name", "TaskTemplate": {"ContainerSpec": {}, "Networks": [{"Target": "ingress"}]}}
    assert _outcome(on_ingress) == (400, ERRORS["bad_name"]["message"])
    assert _outcome({**on_ingress, "Name": "ok"}) == (400, ERRORS["missing_image"]["message"])


def test_names_are_given_when_missing_and_checked_when_given() -> None:
    spec = servicespec.normalise_spec({"TaskTemplate": {"ContainerSpec": {"Image": "busybox"}}})
    assert servicespec.normalise_spec({**spec}) == spec  # a generated name is a valid one
    conflict = servicespec.name_conflict("web")
    assert (conflict.status, str(conflict)) == (409, ERRORS["name_taken"]["message"])


def test_published_port_held_by_another_service_is_refused_with_dockerds_text() -> None:
    web = _service_record("web")
    web["ID"] = "c8vquy829oemgnjhehkm06mrv"  # the ID dockerd's message named
    for case in ("port_in_use", "port_in_use_host"):
        spec = servicespec.normalise_spec(ERRORS[case]["request"], NETWORKS)
        with pytest.raises(InvalidParameter) as caught:
            servicespec.check_port_conflicts(spec, [web])
        assert str(caught.value) == ERRORS[case]["message"]
    other_protocol = servicespec.normalise_spec(
        {"Name": "u", "TaskTemplate": {"ContainerSpec": {"Image": "busybox"}},
         "EndpointSpec": {"Ports": [{"TargetPort": 80, "PublishedPort": 8080, "Protocol": "udp"}]}}
    )  # fmt: skip
    servicespec.check_port_conflicts(other_protocol, [web])


def test_update_refuses_mode_change_and_rename() -> None:
    web = servicespec.normalise_spec(SERVICES["web"]["request"], NETWORKS)
    glob = servicespec.normalise_spec({**SERVICES["glob"]["request"], "Name": "web"}, NETWORKS)
    with pytest.raises(Unsupported, match="service mode change is not allowed"):
        servicespec.check_update(web, glob)
    with pytest.raises(Unsupported, match="renaming services is not supported"):
        servicespec.check_update(web, {**web, "Name": "web2"})
    servicespec.check_update(web, {**web, "Labels": {"a": "b"}})


# -- service documents


def _service_record(name: str) -> dict[str, Any]:
    observed = SERVICES[name]["inspect"]
    endpoint = {k: observed["Endpoint"][k] for k in ("Spec", "Ports", "VirtualIPs") if k in observed["Endpoint"]}
    record = {
        "ID": observed["ID"],
        "CreatedAt": observed["CreatedAt"],
        "UpdatedAt": observed["UpdatedAt"],
        "Spec": servicespec.normalise_spec(SERVICES[name]["request"], NETWORKS),
        "Endpoint": endpoint,
    }
    for key in ("PreviousSpec", "UpdateStatus"):
        if key in observed:
            record[key] = observed[key]
    return record


@pytest.mark.parametrize("case", sorted(SERVICES))
def test_service_inspect_matches_dockerd(case: str) -> None:
    observed = SERVICES[case]["inspect"]
    assert servicedoc.service_view(_service_record(case), observed["Version"]["Index"]) == observed


def test_dnsrr_shows_no_virtual_ips_even_if_some_were_kept() -> None:
    record = _service_record("rrnet")
    record["Endpoint"] = {
        "Spec": {"Mode": "dnsrr"},
        "VirtualIPs": [{"NetworkID": "net-appnet", "Addr": "10.10.0.9/24"}],
    }
    assert servicedoc.service_view(record, 1)["Endpoint"] == {"Spec": {"Mode": "dnsrr"}}


UPDATES = json.loads((FIXTURES / "updates.json").read_text())["steps"]


@pytest.mark.parametrize("case", sorted(SERVICES))
def test_create_allocates_the_endpoint_when_dockerd_does(case: str) -> None:
    observed = SERVICES[case]["inspect"]
    spec = servicespec.normalise_spec(SERVICES[case]["request"], NETWORKS)
    needed = servicedoc.endpoint_needs_allocation(spec, {}, "net-ingress")
    # dockerd shows Endpoint fields beyond "Spec": {} only where it allocated
    assert needed == (observed["Endpoint"] != {"Spec": {}})


def test_updates_reallocate_the_endpoint_as_dockerd_does() -> None:
    web = servicespec.normalise_spec(
        {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "busybox"}, "Networks": [{"Target": "appnet"}]},
         "EndpointSpec": {"Ports": [{"TargetPort": 80, "PublishedPort": 8080}]}}, NETWORKS)  # fmt: skip
    no_ports = {**web, "EndpointSpec": {"Mode": "vip"}}
    dnsrr = {**web, "EndpointSpec": {"Mode": "dnsrr"}}
    scaled = {**dnsrr, "Mode": {"Replicated": {"Replicas": 2}}}
    specs = [web, no_ports, dnsrr, dnsrr, scaled]
    endpoint: dict[str, Any] = {}
    for spec, step in zip(specs, UPDATES, strict=False):
        if servicedoc.endpoint_needs_allocation(spec, endpoint, "net-ingress"):
            # what the lead's allocator does: VIPs kept per network, ingress only with ingress ports
            endpoint = {k: v for k, v in step["Endpoint"].items() if k != "Spec"}
            endpoint["Spec"] = spec.get("EndpointSpec") or {}
        record = {"ID": "svc-web", "CreatedAt": "TIME", "Spec": spec, "Endpoint": endpoint}
        assert servicedoc.service_view(record, 1)["Endpoint"] == step["Endpoint"], step["step"]
        assert not servicedoc.endpoint_needs_allocation(spec, endpoint, "net-ingress")


def test_update_status_is_shown_as_kept() -> None:
    for step in UPDATES:
        record = {"ID": "svc-web", "CreatedAt": "TIME", "Spec": SERVICES["web"]["inspect"]["Spec"], "Endpoint": {}}
        if step["UpdateStatus"]:
            record["UpdateStatus"] = step["UpdateStatus"]
        assert servicedoc.service_view(record, 1).get("UpdateStatus") == step["UpdateStatus"]


def test_service_list_with_status_counts() -> None:
    record = _service_record("web")
    web_tasks = [_task_record(t) for t in TASKS["web"]]
    counts = servicedoc.status_counts(record, web_tasks, {t["ID"]: _agent_status(t) for t in TASKS["web"]})
    want = next(s["ServiceStatus"] for s in QUERIES["services_status"]["body"] if s["Name"] == "web")
    assert servicedoc.service_view(record, 1, *counts)["ServiceStatus"] == want
    glob = _service_record("glob")
    glob_status = {t["ID"]: _agent_status(t) for t in TASKS["glob"]}
    assert servicedoc.status_counts(glob, [_task_record(t) for t in TASKS["glob"]], glob_status) == (1, 1, 0)
    assert servicedoc.status_counts(glob, [_task_record(t) for t in TASKS["glob"]], {}) == (0, 1, 0)
    assert "ServiceStatus" not in servicedoc.service_view(record, 1)


def test_service_filters() -> None:
    records = [_service_record(n) for n in SERVICES if n != "prog_updated"]

    def names(filters: dict[str, list[str]]) -> list[str]:
        keep = servicedoc.service_filter(filters)
        return sorted(r["Spec"]["Name"] for r in records if keep(r))

    assert names({"mode": ["global"]}) == ["glob"]
    assert names({"mode": ["weird"]}) == []
    assert names({"name": ["we"]}) == ["web"]
    assert names({"label": ["lab=x"]}) == ["full"]
    assert names({"label": ["lab"]}) == ["full"]
    with pytest.raises(InvalidParameter) as caught:
        servicedoc.service_filter({"nope": ["x"]})
    assert str(caught.value) == QUERIES["services_filter_bad"]["body"]["message"]


# -- task documents


def _task_record(observed: dict[str, Any]) -> dict[str, Any]:
    known = [c["inspect"] for c in SERVICES.values() if c["inspect"]["ID"] == observed["ServiceID"]]
    # svc-fails (a task exiting 3) has no service fixture: its spec is the task's
    service = known[0] if known else {"Spec": {"Name": observed["ServiceID"][4:], "Labels": {}}}
    return {
        "ID": observed["ID"],
        "ServiceID": observed["ServiceID"],
        "Slot": observed.get("Slot", 0),
        "NodeID": observed.get("NodeID", ""),
        "Spec": {**observed["Spec"], "Runtime": "container"},
        "EndpointSpec": service["Spec"].get("EndpointSpec"),
        "ServiceAnnotations": {"Name": service["Spec"]["Name"], "Labels": service["Spec"]["Labels"]},
        "DesiredState": observed["DesiredState"],
        "CreatedAt": observed["CreatedAt"],
        "UpdatedAt": observed["UpdatedAt"],
        "Status": {"Timestamp": "TIME", "State": "new", "Message": "created"},
        "Networks": [
            {"ID": a["Network"]["ID"], "Addresses": a["Addresses"]} for a in observed.get("NetworksAttachments", [])
        ],
    }


def _agent_status(observed: dict[str, Any]) -> dict[str, Any]:
    status = observed["Status"]
    out = {k: status[k] for k in ("Timestamp", "State", "Message", "Err") if k in status}
    if "ContainerStatus" in status:
        out |= {"ContainerID": status["ContainerStatus"]["ContainerID"], "PID": status["ContainerStatus"]["PID"],
                "ExitCode": status["ContainerStatus"]["ExitCode"]}  # fmt: skip
    # dockerd 20.10 lists each host-mode port twice; the agent reports it once
    ports = status.get("PortStatus", {}).get("Ports", [])
    out["PortStatus"] = [p for i, p in enumerate(ports) if p not in ports[:i]]
    return out


ALL_TASKS = [t for group in TASKS for t in TASKS[group] if group != "_missing_image"]
SHOWN = {
    a["Network"]["ID"]: a["Network"] for t in ALL_TASKS for a in t.get("NetworksAttachments", [])
}  # the swarm Network objects dockerd showed


@pytest.mark.parametrize("index", range(len(ALL_TASKS)))
def test_task_inspect_matches_dockerd(index: int) -> None:
    observed = ALL_TASKS[index]
    got = servicedoc.task_view(_task_record(observed), _agent_status(observed), observed["Version"]["Index"], SHOWN)
    want = json.loads(json.dumps(observed))
    ports = want["Status"]["PortStatus"].get("Ports")
    if ports:
        want["Status"]["PortStatus"]["Ports"] = [p for i, p in enumerate(ports) if p not in ports[:i]]
    assert got == want


def test_rejected_task_shows_the_missing_image() -> None:
    rejected = next(t for t in TASKS["_missing_image"] if t["Status"]["State"] == "rejected")
    got = servicedoc.task_view(_task_record_for_missing(rejected), _agent_status(rejected), 1)
    assert got["Status"] == rejected["Status"]
    assert got["Status"]["Err"] == "No such image: nosuchimage:1"


def _task_record_for_missing(observed: dict[str, Any]) -> dict[str, Any]:
    return {**observed, "Spec": {**observed["Spec"], "Runtime": "container"}, "Status": {}}


def test_leader_state_shows_until_the_agent_reports() -> None:
    record = _task_record(TASKS["web"][0])
    record["Status"] = {
        "Timestamp": "2026-01-01T00:00:00Z",
        "State": "assigned",
        "Message": "scheduler assigned task to node",
    }
    shown = servicedoc.task_view(record, None, 1)["Status"]
    assert shown == {**record["Status"], "PortStatus": {}}
    older = {"Timestamp": "2025-01-01T00:00:00Z", "State": "running", "Message": "started"}
    assert servicedoc.task_view(record, older, 1)["Status"]["State"] == "assigned"
    bare = servicedoc.task_view({**record, "Status": {}}, None, 1)["Status"]
    assert bare == {"Timestamp": "0001-01-01T00:00:00Z", "State": "new", "PortStatus": {}}


def _network_record(name: str, vni: int, subnet: str, *, attachable: bool, ingress: bool) -> dict[str, Any]:
    return {
        "ID": f"net-{name}", "Name": name, "Driver": "overlay", "Created": "TIME", "Attachable": attachable,
        "Internal": False, "Ingress": ingress, "EnableIPv6": False, "Labels": {}, "VNI": vni,
        "Options": {"com.docker.network.driver.overlay.vxlanid_list": str(vni)},
        "Subnets": [{"Subnet": subnet, "Gateway": subnet.replace(".0/24", ".1"), "IPRange": "",
                     "AuxiliaryAddresses": {}, "UserGiven": not ingress}],
    }  # fmt: skip


def test_swarm_network_of_a_record_is_shown_as_swarm_shows_it() -> None:
    appnet = _network_record("appnet", 4097, "10.10.0.0/24", attachable=True, ingress=False)
    ingress = _network_record("ingress", 4096, "10.0.0.0/24", attachable=False, ingress=True)
    for record in (appnet, ingress):
        shown = SHOWN[record["ID"]]
        assert servicedoc.swarm_network(record, shown["Version"]["Index"]) == shown


# -- task filters and the CLI's progress poll


def _filtered(filters: dict[str, list[str]]) -> list[str]:
    services = {c["inspect"]["ID"]: _service_record(n) for n, c in SERVICES.items() if n != "prog_updated"}
    services["svc-prog"] = _service_record("prog_updated")
    nodes = {n["ID"]: n for n in CONTEXT["nodes"]}
    keep = servicedoc.task_filter(filters, services, nodes)
    return sorted(t["ID"] for t in ALL_TASKS if keep(_task_record(t)))


def test_task_filters_match_dockerd() -> None:
    assert _filtered({"name": ["web.1"]}) == [t["ID"] for t in TASKS["web"] if t["Slot"] == 1]
    assert _filtered({"name": ["web"]}) == sorted(t["ID"] for t in TASKS["web"])
    assert _filtered({"label": ["lab=x"]}) == sorted(t["ID"] for t in TASKS["full"])
    assert _filtered({"service": ["prog"]}) == sorted(QUERIES["tasks_all_prog"]["body"])
    assert _filtered({"service": ["svc-pr"], "desired-state": ["shutdown"]}) == sorted(
        t["ID"] for t in TASKS["prog"] if t["DesiredState"] == "shutdown"
    )
    assert _filtered({"node": ["vm"]}) == _filtered({"node": ["node-1"]}) == sorted(t["ID"] for t in ALL_TASKS)


def test_up_to_date_is_what_the_progress_display_polls() -> None:
    # after `service update --env-add X=1 prog` only the new task matches the spec
    assert _filtered({"_up-to-date": ["true"], "service": ["svc-prog"]}) == QUERIES["tasks_uptodate_prog"]["body"]
    assert len(QUERIES["tasks_all_prog"]["body"]) == 2


def test_a_placement_only_change_keeps_tasks_whose_node_still_fits() -> None:
    service = _service_record("glob")
    task = _task_record(TASKS["glob"][0])
    node = CONTEXT["nodes"][0]
    moved = {**service, "Spec": {**service["Spec"], "TaskTemplate": {
        **service["Spec"]["TaskTemplate"], "Placement": {"Constraints": ["node.hostname==vm"]}}}}  # fmt: skip
    assert not servicedoc.task_dirty(moved, task, node)
    away = {**moved, "Spec": {**moved["Spec"], "TaskTemplate": {
        **moved["Spec"]["TaskTemplate"], "Placement": {"Constraints": ["node.role==worker"]}}}}  # fmt: skip
    assert servicedoc.task_dirty(away, task, node)


@pytest.mark.parametrize(
    ("query", "filters", "error"),
    [
        ("tasks_filter_bad", {"nope": ["x"]}, InvalidParameter),
        ("tasks_desired_bad", {"desired-state": ["sleeping"]}, InvalidParameter),
        ("tasks_service_missing", {"service": ["nosuch"]}, NotFound),
        ("tasks_node_missing", {"node": ["nosuch"]}, NotFound),
        ("tasks_node_self", {"node": ["self"]}, NotFound),
    ],
)
def test_bad_task_filters_get_dockerds_texts(query: str, filters: dict[str, list[str]], error: type) -> None:
    with pytest.raises(error) as caught:
        _filtered(filters)
    assert str(caught.value) == QUERIES[query]["body"]["message"]


def test_lookups_by_id_name_and_prefix() -> None:
    services = {"aaa1": {"ID": "aaa1", "Spec": {"Name": "web"}}, "aab2": {"ID": "aab2", "Spec": {"Name": "db"}}}
    assert servicedoc.find_service("web", services)["ID"] == "aaa1"
    assert servicedoc.find_service("aab", services)["ID"] == "aab2"
    with pytest.raises(InvalidParameter, match=r"^service aa is ambiguous \(2 matches found\)$"):
        servicedoc.find_service("aa", services)
    with pytest.raises(NotFound, match="^task nosuch not found$"):
        servicedoc.find_task("nosuch", {})


def test_a_new_task_is_up_to_date_and_shown_as_created() -> None:
    web = _service_record("web")
    task = servicedoc.new_task(web, "t1", 1, "", "TIME")
    services, nodes = {web["ID"]: web}, {n["ID"]: n for n in CONTEXT["nodes"]}
    assert servicedoc.task_filter({"_up-to-date": ["true"]}, services, nodes)(task)
    shown = servicedoc.task_view(task, None, 7)
    assert shown["Spec"] == TASKS["web"][0]["Spec"]
    assert shown["Status"] == {"Timestamp": "TIME", "State": "new", "Message": "created", "PortStatus": {}}
    assert "NodeID" not in shown and shown["Slot"] == 1
    web["Spec"]["TaskTemplate"]["ForceUpdate"] = 1  # `docker service update --force`
    assert not servicedoc.task_filter({"_up-to-date": ["true"]}, services, nodes)(task)


def test_task_names_follow_swarmkit() -> None:
    assert servicedoc.task_name({"ID": "t1", "Slot": 2}, "web") == "web.2.t1"
    assert servicedoc.task_name({"ID": "t1", "Slot": 0, "NodeID": "n1"}, "glob") == "glob.n1.t1"


# -- constraints


def test_constraints_match_nodes_as_swarmkit() -> None:
    node = CONTEXT["nodes"][0]
    match = [
        "node.role==manager", "node.role==MANAGER", "node.hostname==vm", "node.id==node-1", "node.labels.zone!=b",
        "node.platform.os==linux", "node.ip==203.0.113.0/24", "engine.labels.x!=y",
    ]  # fmt: skip
    for expression in match:
        assert constraints.node_matches(constraints.parse_constraints([expression]), node), expression
    for expression in ("node.role==worker", "node.labels.zone==b", "node.ip!=203.0.113.2", "foo.bar==x"):
        assert not constraints.node_matches(constraints.parse_constraints([expression]), node), expression
    with pytest.raises(InvalidParameter, match="^value 'a>b' is invalid$"):
        constraints.parse_constraints(["node.role==a>b"])


DOCKER_PY = json.loads((FIXTURES / "dockerpy.json").read_text())["cases"]


@pytest.mark.parametrize("case", sorted(k for k, c in DOCKER_PY.items() if "inspect" in c))
def test_docker_py_bodies_are_stored_as_dockerd_does(case: str) -> None:
    # docker-py sends nulls, lowercase mode names, and on update the spec with defaults inserted
    observed = DOCKER_PY[case]
    assert servicespec.normalise_spec(observed["request"], NETWORKS) == observed["inspect"]["Spec"]
