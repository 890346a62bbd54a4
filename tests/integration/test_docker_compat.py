"""What users of Docker rely on, through the real docker CLI, with the texts and shapes
checked against dockerd 20.10 (run in a sandbox): rename, network filters, error texts,
/etc/hosts, the default bridge's name, container network mode, links."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from seaway.lab.fakehost import FakeHost, in_ns
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def fails(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode != 0, f"docker {' '.join(args)} succeeded: {result.stdout}"
    return result.stderr


def resolves(daemon: SeawayDaemon, container: str, name: str) -> bool:
    return daemon.docker("exec", container, "ping", "-c", "1", "-W", "1", name).returncode == 0


def test_rename_changes_the_name_dns_answers_and_refuses_as_docker(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "app")
    cid = ok(seawayd, "run", "-d", "--name", "old", "--network", "app", "busybox", "sleep", "300").strip()
    other = ok(seawayd, "run", "-d", "--name", "other", "--network", "app", "busybox", "sleep", "300").strip()
    assert resolves(seawayd, "other", "old")

    ok(seawayd, "rename", "old", "new")

    assert json.loads(ok(seawayd, "inspect", "new"))[0]["Id"] == cid
    assert ok(seawayd, "ps", "--filter", f"id={cid}", "--format", "{{.Names}}") == "new\n"
    assert resolves(seawayd, "other", "new")
    assert not resolves(seawayd, "other", "old")
    assert fails(seawayd, "rename", "new", "other") == (
        'Error response from daemon: Error when allocating new name: Conflict. The container name "/other" is '
        f'already in use by container "{other}". You have to remove (or rename) that container to be able to '
        "reuse that name.\nError: failed to rename container named new\n"
    )
    assert fails(seawayd, "rename", "new", "new").startswith(
        "Error response from daemon: Renaming a container with the same name as its current name\n"
    )
    assert fails(seawayd, "rename", "new", "bad name").startswith(
        "Error response from daemon: Error when allocating new name: Invalid container name (/bad name), "
        "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n"
    )
    assert seawayd.request("POST", "/v1.41/containers/new/rename?name=") == (
        400,
        {"message": "Neither old nor new names may be empty"},
    )
    ok(seawayd, "stop", "-t", "0", "new")
    ok(seawayd, "rename", "new", "newer")  # stopped containers too; the name holds at the next start
    ok(seawayd, "start", "newer")
    assert resolves(seawayd, "other", "newer")


def test_name_filters_are_regular_expressions_as_in_docker(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "network", "create", "xa")
    ok(seawayd, "network", "create", "axb")

    def networks(*filters: str) -> list[str]:
        args = [a for flt in filters for a in ("--filter", flt)]
        return sorted(ok(seawayd, "network", "ls", *args, "--format", "{{.Name}}").split())

    assert networks("name=^xa$") == ["xa"]
    assert networks("name=^x") == ["xa"]
    assert networks("name=a$") == ["xa"]
    assert networks("name=x") == ["axb", "xa"]
    assert networks("name=br.dge") == ["bridge"]
    assert networks("name=A") == []  # case matters
    assert networks("name=[") == []  # an invalid expression matches nothing (dockerd: no error)
    xa = json.loads(ok(seawayd, "network", "inspect", "xa"))[0]["Id"]
    assert "xa" in networks(f"id=^{xa[:5]}") and "xa" in networks(f"id={xa[20:30]}")  # IDs: searched too

    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "create", "--name", "rb", "busybox", "true")
    ok(seawayd, "create", "--name", "arb", "busybox", "true")

    def containers(flt: str) -> list[str]:
        return sorted(ok(seawayd, "ps", "-a", "--filter", flt, "--format", "{{.Names}}").split())

    assert containers("name=^rb$") == ["rb"]
    assert containers("name=^/rb$") == ["rb"]  # with or without the slash, as Docker
    assert containers("name=rb") == ["arb", "rb"]


def test_bad_input_gets_dockers_texts_and_leaves_nothing(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    assert fails(seawayd, "network", "create", "--subnet", "10.0.0.0/33", "bad") == (
        "Error response from daemon: invalid network config:\ninvalid subnet 10.0.0.0/33: invalid CIDR address\n"
    )
    assert fails(seawayd, "network", "create", "--subnet", "foo", "bad") == (
        "Error response from daemon: invalid network config:\ninvalid subnet foo: invalid CIDR address\n"
    )
    ok(seawayd, "network", "create", "--subnet", "10.77.0.0/24", "app")
    assert fails(seawayd, "run", "-d", "--name", "far", "--network", "app", "--ip", "10.99.0.5", "busybox", "true") == (
        "docker: Error response from daemon: invalid endpoint settings:\n"
        "no configured subnet or ip-range contain the IP address 10.99.0.5\n\nRun 'docker run --help' for more information\n"
    )
    assert ok(seawayd, "ps", "-aq") == ""  # refused at create: no container left behind
    ok(seawayd, "run", "-d", "--name", "web", "--network", "app", "busybox", "sleep", "300")
    assert fails(seawayd, "network", "connect", "--ip", "10.99.0.6", "app", "web").startswith(
        "Error response from daemon: endpoint with name web already exists in network app"
    )
    ok(seawayd, "network", "create", "--subnet", "10.78.0.0/24", "other")
    assert fails(seawayd, "network", "connect", "--ip", "10.99.0.6", "other", "web") == (
        "Error response from daemon: invalid endpoint settings:\n"
        "no configured subnet or ip-range contain the IP address 10.99.0.6\n"
    )
    app = json.loads(ok(seawayd, "network", "inspect", "app"))[0]["Id"]
    assert fails(seawayd, "network", "rm", "app") == (
        f"Error response from daemon: error while removing network: network app id {app} has active endpoints\n"
        "exit status 1\n"
    )
    assert fails(seawayd, "network", "create", "-d", "macvlan", "-o", "parent=nosuch", "mv") == (
        "Error response from daemon: invalid subinterface vlan name nosuch, example formatting is eth0.10\n"
    )
    assert fails(seawayd, "network", "create", "-d", "macvlan", "-o", "parent=nosuch.10", "mv") == (
        "Error response from daemon: -o parent interface was not found on the host: nosuch\n"
    )
    assert sorted(ok(seawayd, "network", "ls", "--format", "{{.Name}}").split()) == [
        "app", "bridge", "host", "none", "other",
    ]  # fmt: skip


def test_hostname_and_domainname_give_dockers_hosts_line(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.79.0.0/24", "app")
    out = ok(
        seawayd, "run", "--rm", "--network", "app", "--ip", "10.79.0.9", "--hostname", "myhost",
        "--domainname", "example.org", "busybox",
        "sh", "-c", "tail -n 1 /etc/hosts; hostname; cat /etc/hostname /proc/sys/kernel/domainname",
    )  # fmt: skip
    assert out == "10.79.0.9\tmyhost.example.org myhost\nmyhost\nmyhost\nexample.org\n"
    dotted = ok(seawayd, "run", "--rm", "--hostname", "web.sub.example.com", "busybox", "tail", "-n", "1", "/etc/hosts")
    assert dotted.endswith("\tweb.sub.example.com web\n")


def test_an_ipv6_subnet_without_ipv6_enabled_is_accepted_and_unused_as_in_2010(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "2001:db8:2::/64", "--subnet", "10.88.0.0/24", "v6off")

    net = json.loads(ok(seawayd, "network", "inspect", "v6off"))[0]
    assert net["EnableIPv6"] is False
    assert [c["Subnet"] for c in net["IPAM"]["Config"]] == ["10.88.0.0/24", "2001:db8:2::/64"]
    assert "Gateway" not in net["IPAM"]["Config"][1]
    out = ok(seawayd, "run", "--rm", "--network", "v6off", "busybox", "ip", "-o", "addr", "show", "scope", "global")
    assert "inet 10.88.0.2/24" in out and "inet6" not in out
    ok(seawayd, "run", "-d", "--name", "c", "--network", "v6off", "busybox", "sleep", "300")
    settings = json.loads(ok(seawayd, "inspect", "c"))[0]["NetworkSettings"]["Networks"]["v6off"]
    assert (settings["IPAddress"], settings["GlobalIPv6Address"]) == ("10.88.0.2", "")


def master_of_veths(daemon: SeawayDaemon) -> set[str]:
    links = json.loads(in_ns(daemon.host.host_ns, "ip", "-j", "link", "show", check=True).stdout)
    return {link.get("master", "") for link in links if link["ifname"].startswith("veth")}


def test_the_default_bridge_is_docker0(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    options = json.loads(ok(seawayd, "network", "inspect", "bridge"))[0]["Options"]
    assert options["com.docker.network.bridge.name"] == "docker0"
    ok(seawayd, "run", "-d", "--name", "c", "busybox", "sleep", "300")
    assert master_of_veths(seawayd) == {"docker0"}


def test_the_bridge_flag_still_names_the_default_bridge(fake_host: FakeHost, busybox_tar: Path) -> None:
    daemon = SeawayDaemon(fake_host, "--bridge", "swbr0")
    try:
        daemon.start()
        ok(daemon, "import", str(busybox_tar), "busybox")
        options = json.loads(ok(daemon, "network", "inspect", "bridge"))[0]["Options"]
        assert options["com.docker.network.bridge.name"] == "swbr0"
        ok(daemon, "run", "-d", "--name", "c", "busybox", "sleep", "300")
        assert master_of_veths(daemon) == {"swbr0"}
    finally:
        daemon.close()


def test_network_container_mode_shares_the_other_containers_stack(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.81.0.0/24", "app")
    target = ok(
        seawayd, "run", "-d", "--name", "tgt", "--network", "app", "--hostname", "tgthost", "busybox",
        "httpd", "-f", "-p", "8080", "-h", "/etc",
    ).strip()  # fmt: skip
    ok(seawayd, "run", "-d", "--name", "peer", "--network", "app", "busybox", "sleep", "300")

    out = ok(
        seawayd, "run", "--rm", "--network", "container:tgt", "busybox",
        "sh", "-c", "hostname; ip -o -4 addr show eth0 | cut -d' ' -f7; tail -n 1 /etc/hosts; "
        "wget -qO- http://127.0.0.1:8080/hostname",
    )  # fmt: skip
    assert out == "tgthost\n10.81.0.2/24\n10.81.0.2\ttgthost\ntgthost\n"  # the sidecar reaches tgt on loopback
    ok(seawayd, "run", "-d", "--name", "side", "--network", "container:tgt", "busybox", "sleep", "300")
    info = json.loads(ok(seawayd, "inspect", "side"))[0]
    assert info["HostConfig"]["NetworkMode"] == f"container:{target}"
    assert info["NetworkSettings"]["Networks"] == {}
    assert info["HostsPath"] == json.loads(ok(seawayd, "inspect", "tgt"))[0]["HostsPath"]
    assert seawayd.docker("exec", "peer", "ping", "-c", "1", "-W", "1", "tgt").returncode == 0
    assert fails(seawayd, "network", "connect", "app", "side") == (
        "Error response from daemon: container sharing network namespace with another container or host "
        "cannot be connected to any other network\n"
    )

    for flags, text in (
        (("--hostname", "h"), "conflicting options: hostname and the network mode"),
        (("-p", "80:80"), "conflicting options: port publishing and the container type network mode"),
        (("--dns", "192.0.2.53"), "conflicting options: dns and the network mode"),
        (("--add-host", "a:192.0.2.9"), "conflicting options: custom host-to-IP mapping and the network mode"),
    ):
        assert fails(seawayd, "run", "--rm", "--network", "container:tgt", *flags, "busybox", "true").startswith(
            f"docker: Error response from daemon: {text}\n"
        )
    assert fails(seawayd, "run", "--rm", "--network", "container:nosuch", "busybox", "true").startswith(
        "docker: Error response from daemon: No such container: nosuch\n"
    )
    ok(seawayd, "create", "--name", "dep", "--network", "container:tgt", "busybox", "sleep", "300")
    ok(seawayd, "stop", "-t", "0", "tgt")
    assert fails(seawayd, "start", "dep").startswith(
        f"Error response from daemon: cannot join network of a non running container: {target}\n"
    )


def test_legacy_links_on_the_default_bridge_and_on_user_networks(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    db = ok(
        seawayd, "run", "-d", "--name", "db", "-e", "FOO=bar", "--expose", "5432", "--expose", "53/udp", "busybox",
        "sleep", "300",
    ).strip()  # fmt: skip
    ip = json.loads(ok(seawayd, "inspect", "db"))[0]["NetworkSettings"]["IPAddress"]
    out = ok(seawayd, "run", "--name", "web", "--link", "db:database", "busybox", "sh", "-c", "cat /etc/hosts; env")
    assert f"{ip}\tdatabase {db[:12]} db\n" in out
    env = set(out.splitlines())
    assert {
        "DATABASE_NAME=/web/database",
        f"DATABASE_PORT=udp://{ip}:53",
        f"DATABASE_PORT_53_UDP=udp://{ip}:53",
        f"DATABASE_PORT_53_UDP_ADDR={ip}",
        "DATABASE_PORT_53_UDP_PORT=53",
        "DATABASE_PORT_53_UDP_PROTO=udp",
        f"DATABASE_PORT_5432_TCP=tcp://{ip}:5432",
        "DATABASE_PORT_5432_TCP_PROTO=tcp",
        "DATABASE_ENV_FOO=bar",
    } <= env
    assert not any(v.startswith("DATABASE_ENV_PATH=") for v in env)
    assert json.loads(ok(seawayd, "inspect", "web"))[0]["HostConfig"]["Links"] == ["/db:/web/database"]

    assert fails(seawayd, "run", "--rm", "--link", "nosuch:x", "busybox", "true").startswith(
        "docker: Error response from daemon: could not get container for nosuch: No such container: nosuch\n"
    )
    ok(seawayd, "create", "--name", "stopped", "busybox", "true")
    assert fails(seawayd, "run", "--name", "p1", "--link", "stopped:s", "busybox", "true").startswith(
        "docker: Error response from daemon: Cannot link to a non running container: /stopped AS /p1/s\n"
    )

    ok(seawayd, "network", "create", "app")
    ok(seawayd, "run", "-d", "--name", "onuser", "--network", "app", "busybox", "sleep", "300")
    assert fails(seawayd, "run", "--name", "p2", "--link", "onuser:o", "busybox", "true").startswith(
        "docker: Error response from daemon: Cannot link to /onuser, as it does not belong to the default network\n"
    )
    ok(seawayd, "run", "-d", "--name", "linker", "--network", "app", "--link", "onuser:oo", "busybox", "sleep", "300")
    linker = json.loads(ok(seawayd, "inspect", "linker"))[0]
    assert linker["HostConfig"]["Links"] is None
    assert linker["NetworkSettings"]["Networks"]["app"]["Links"] == ["onuser:oo"]
    assert resolves(seawayd, "linker", "oo")  # the alias: only for the container that links
    ok(seawayd, "run", "-d", "--name", "bystander", "--network", "app", "busybox", "sleep", "300")
    assert resolves(seawayd, "bystander", "onuser") and not resolves(seawayd, "bystander", "oo")

    # removing a link (docker rm --link parent/alias): as dockerd 20.10, the containers stay,
    # the running parent's /etc/hosts loses the line, and the next start has no link
    ok(seawayd, "run", "-d", "--name", "app1", "--link", "db:database", "busybox", "sleep", "300")
    assert "database" in ok(seawayd, "exec", "app1", "cat", "/etc/hosts")
    assert ok(seawayd, "rm", "--link", "app1/database") == "app1/database\n"
    assert "database" not in ok(seawayd, "exec", "app1", "cat", "/etc/hosts")
    assert json.loads(ok(seawayd, "inspect", "app1"))[0]["HostConfig"]["Links"] is None
    assert (
        fails(seawayd, "rm", "--link", "app1/database")
        == "Error response from daemon: No such container: app1/database\n"
    )
    assert seawayd.request("DELETE", "/v1.41/containers/app1?link=true") == (
        409,
        {"message": "Conflict, cannot remove the default link name of the container"},
    )  # dockerd 20.10 answers this with a 500
    ok(seawayd, "restart", "-t", "0", "app1")
    assert "DATABASE_NAME" not in ok(seawayd, "exec", "app1", "env")
    assert {"app1", "db"} <= set(ok(seawayd, "ps", "--format", "{{.Names}}").split())


def test_stdin_reaches_run_i_and_exec_i(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")

    def piped(*args: str, data: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_HOST": seawayd.docker_host, "DOCKER_CONFIG": str(seawayd.host.root / "cfg")}
        return subprocess.run(["docker", *args], input=data, capture_output=True, text=True, env=env, timeout=60)

    run = piped("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", data="hello\nworld\n")
    assert (run.returncode, run.stdout) == (0, "hello\nworld\ndone\n"), run.stderr
    script = piped("run", "-i", "busybox", "sh", data="echo from a script; exit 4\n")
    assert (script.returncode, script.stdout) == (4, "from a script\n"), script.stderr
    ok(seawayd, "run", "-d", "--name", "c", "busybox", "sleep", "300")
    execd = piped("exec", "-i", "c", "sh", "-c", "cat; exit 3", data="to exec\n")
    assert (execd.returncode, execd.stdout) == (3, "to exec\n"), execd.stderr
    assert json.loads(ok(seawayd, "inspect", "c"))[0]["Config"]["OpenStdin"] is False
    ok(seawayd, "run", "-d", "-i", "--name", "held", "busybox", "sh")  # stdin held open: sh waits
    assert json.loads(ok(seawayd, "inspect", "held"))[0]["State"]["Running"] is True


def test_exec_t_runs_in_a_terminal_as_with_dockerd(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    """``docker exec -t``: the process has a terminal (the bytes are dockerd 20.10's)."""
    client = seawayd.client()
    with busybox_tar.open("rb") as fh:
        client.api.import_image(src=fh.read(), repository="busybox")
    ctr = client.containers.run("busybox", ["sleep", "300"], detach=True)
    # (a pause first: runc clears the container terminal's ONLCR just after the start, so
    # bytes written in the first moments may carry an extra \r; see docs/seawayd.md)
    assert ctr.exec_run(["sh", "-c", "sleep 0.2; tty"], tty=True) == (0, b"/dev/pts/0\r\n")
    assert ctr.exec_run(["sh", "-c", "sleep 0.2; echo a; echo b >&2; exit 3"], tty=True) == (3, b"a\r\nb\r\n")
    assert ctr.exec_run("nonexist", tty=True) == (
        126,
        b'OCI runtime exec failed: exec failed: unable to start container process: exec: "nonexist": '
        b"executable file not found in $PATH: unknown\r\n",
    )
    assert ctr.exec_run("tty") == (1, b"not a tty\n")
    # -it: keystrokes reach the terminal's process
    exec_id = client.api.exec_create(ctr.id, ["sh", "-c", "read line; echo got $line"], stdin=True, tty=True)["Id"]
    sock = client.api.exec_start(exec_id, tty=True, socket=True)._sock
    sock.settimeout(10)
    sock.sendall(b"typed\n")
    received = b""
    while b"got typed" not in received and (chunk := sock.recv(4096)):
        received += chunk
    sock.close()
    assert b"got typed\r\n" in received
