"""seawayd's flags and --config-file, as dockerd reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seaway.daemon.app import parse_args
from seaway.errors import InvalidParameter


def test_flags_fill_the_engine_config() -> None:
    config = parse_args(
        ["--data-root", "/d", "--exec-root", "/e", "-H", "unix:///s.sock", "--bip", "10.9.0.1/24", "--mtu", "1400",
         "--default-address-pool", "base=10.10.0.0/16,size=24", "--dns", "192.0.2.53", "--icc", "false"]
    )  # fmt: skip

    assert (str(config.engine.data_root), str(config.engine.exec_root)) == ("/d", "/e")
    assert config.listener.path == Path("/s.sock")
    assert (config.engine.bip, config.engine.mtu, config.engine.icc) == ("10.9.0.1/24", 1400, False)
    assert [(str(p.base), p.size) for p in config.engine.default_address_pools] == [("10.10.0.0/16", 24)]
    assert config.dns == ("192.0.2.53",)


def test_config_file_is_read_like_daemon_json(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(
        json.dumps({"data-root": "/var/x", "default-address-pools": [{"base": "10.20.0.0/16", "size": 26}]})
    )

    config = parse_args(["--config-file", str(path)])

    assert str(config.engine.data_root) == "/var/x"
    assert [(str(p.base), p.size) for p in config.engine.default_address_pools] == [("10.20.0.0/16", 26)]


def test_unknown_config_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"data-root": "/x", "iptables": False}))

    with pytest.raises(InvalidParameter, match="don't match any configuration option: iptables"):
        parse_args(["--config-file", str(path)])


def test_a_key_given_as_flag_and_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"data-root": "/x"}))

    with pytest.raises(InvalidParameter, match="both as a flag and in the configuration file: data-root"):
        parse_args(["--config-file", str(path), "--data-root", "/y"])


def test_tcp_listener_without_client_verification_is_refused() -> None:
    with pytest.raises(
        InvalidParameter, match="refusing to listen on tcp://0.0.0.0:2375 without TLS client verification"
    ):
        parse_args(["-H", "tcp://0.0.0.0:2375"])
    with pytest.raises(InvalidParameter, match="--tlsverify needs --tlscert, --tlskey"):
        parse_args(["-H", "tcp://0.0.0.0:2376", "--tlsverify", "--tlscacert", "/ca.pem"])


def test_tcp_listener_with_tls_flags_as_dockerd() -> None:
    config = parse_args(
        ["-H", "tcp://127.0.0.1:2376", "--tlsverify", "--tlscacert", "/ca", "--tlscert", "/c", "--tlskey", "/k"]
    )
    listener = config.listener
    assert (listener.path, listener.address, listener.port) == (None, "127.0.0.1", 2376)
    assert listener.tls is not None and str(listener.tls.ca) == "/ca"


def test_plugin_directories_default_to_dockers_and_the_exec_roots(tmp_path: Path) -> None:
    config = parse_args(["--exec-root", "/e"])
    dirs = config.engine.plugin_dirs
    assert dirs.sockets == (Path("/run/docker/plugins"), Path("/e/plugins"))
    assert dirs.specs == (Path("/etc/docker/plugins"), Path("/usr/lib/docker/plugins"))
    assert config.engine.plugin_timeout == 30


def test_plugin_flags_and_config_keys_replace_the_directories(tmp_path: Path) -> None:
    config = parse_args(["--plugin-socket-dir", "/a", "--plugin-socket-dir", "/b", "--plugin-timeout", "5"])
    assert config.engine.plugin_dirs.sockets == (Path("/a"), Path("/b"))
    assert config.engine.plugin_timeout == 5
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"plugin-spec-dirs": ["/specs"], "plugin-socket-dirs": ["/socks"]}))
    config = parse_args(["--config-file", str(path)])
    assert config.engine.plugin_dirs == type(config.engine.plugin_dirs)(
        sockets=(Path("/socks"),), specs=(Path("/specs"),)
    )
    with pytest.raises(InvalidParameter, match="invalid plugin timeout 0"):
        parse_args(["--plugin-timeout", "0"])


@pytest.mark.parametrize(
    ("flag", "attribute"),
    [("dns-cache", "dns_cache"), ("dns-realtime", "dns_realtime")],  # the answer cache; the thread's real-time class
)
def test_dns_switches_are_on_unless_turned_off(tmp_path: Path, flag: str, attribute: str) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({flag: "false"}))

    assert getattr(parse_args([]), attribute) is True
    assert getattr(parse_args([f"--{flag}", "false"]), attribute) is False
    assert getattr(parse_args(["--config-file", str(path)]), attribute) is False


def test_bgp_flags_and_keys(tmp_path: Path) -> None:
    assert parse_args([]).bgp is None  # no BGP unless asked
    config = parse_args(["--bgp-asn", "65001", "--bgp-peer", "192.0.2.1", "--bgp-peer", "2001:db8::1,asn=65000"])
    assert config.bgp is not None and config.bgp.asn == 65001
    assert [(str(p.address), p.asn) for p in config.bgp.peers] == [("192.0.2.1", None), ("2001:db8::1", 65000)]
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"bgp-asn": 65002, "bgp-router-id": "192.0.2.9", "bgp-peers": ["192.0.2.1,asn=1"]}))
    from_file = parse_args(["--config-file", str(path)]).bgp
    assert from_file is not None and (from_file.asn, str(from_file.router_id)) == (65002, "192.0.2.9")
    with pytest.raises(InvalidParameter, match="--bgp-peer and --bgp-router-id need --bgp-asn"):
        parse_args(["--bgp-peer", "192.0.2.1"])
