"""Engine configuration is validated once, when it is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaway.engine.config import EngineConfig
from seaway.errors import InvalidParameter
from seaway.ipam.pools import DEFAULT_LOCAL_POOLS


def test_defaults_use_docker_s_pools_and_seaway_s_paths() -> None:
    config = EngineConfig()
    assert config.default_address_pools == DEFAULT_LOCAL_POOLS
    assert (config.bridge, config.mtu, config.icc, config.ip_masq) == ("docker0", 0, True, True)
    assert config.store_path == Path("/var/lib/seaway/seaway.db")
    assert config.netns_dir == Path("/run/seaway/netns")


def test_paths_follow_the_given_roots(tmp_path: Path) -> None:
    config = EngineConfig(data_root=tmp_path / "data", exec_root=tmp_path / "run")
    assert config.store_path == tmp_path / "data" / "seaway.db"
    assert config.netns_dir == tmp_path / "run" / "netns"


def test_bip_with_the_bridge_address_is_accepted() -> None:
    assert EngineConfig(bip="172.17.0.1/16").bip == "172.17.0.1/16"


@pytest.mark.parametrize("bip", ["172.17.0.0/16", "fd00::1/64"])
def test_bip_that_is_a_network_address_or_ipv6_is_refused(bip: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        EngineConfig(bip=bip)
    assert str(exc.value) == f"invalid --bip {bip}: expected the bridge's IPv4 address with a prefix length"


@pytest.mark.parametrize("bip", ["nonsense", "172.17.0.1/33"])
def test_bip_that_is_not_cidr_is_refused(bip: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        EngineConfig(bip=bip)
    assert str(exc.value) == f"invalid --bip {bip!r}: expected CIDR like 172.17.0.1/16"


def test_negative_mtu_is_refused() -> None:
    with pytest.raises(InvalidParameter, match=r"^invalid --mtu -1: expected 0 or a positive number$"):
        EngineConfig(mtu=-1)
