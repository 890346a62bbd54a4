"""The predefined networks every Docker host has: ``none``, ``host`` and the default
``bridge`` (from ``--bridge``, ``--bip``, ``--icc``, ``--ip-masq``, ``--mtu``)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from seaway.model import options as opts
from seaway.model.network import IPAMConfigSpec, NetworkSpec

if TYPE_CHECKING:
    from seaway.engine.config import EngineConfig
    from seaway.engine.engine import Engine


def ensure_predefined(engine: Engine) -> None:
    names = engine.view.names
    if "none" not in names:
        engine.create_network(NetworkSpec(name="none", driver="null"), predefined=True)
    if "host" not in names:
        engine.create_network(NetworkSpec(name="host", driver="host"), predefined=True)
    default = engine.view.names.get("bridge")
    if engine.config.bridge == "none":
        if default is not None and not engine.view.member_count(default):
            engine.remove_network(default, predefined=True)
        return
    if default is None:
        engine.create_network(default_bridge_spec(engine.config), predefined=True)


def default_bridge_spec(config: EngineConfig) -> NetworkSpec:
    options = {
        opts.DEFAULT_BRIDGE: "true",
        opts.BRIDGE_NAME: config.bridge,
        opts.ENABLE_ICC: str(config.icc).lower(),
        opts.ENABLE_MASQ: str(config.ip_masq).lower(),
        opts.HOST_BINDING: "0.0.0.0",
    }
    if config.mtu:
        options[opts.MTU] = str(config.mtu)
    configs: tuple[IPAMConfigSpec, ...] = ()
    if config.bip:
        iface = ipaddress.ip_interface(config.bip)
        configs = (IPAMConfigSpec(subnet=str(iface.network), gateway=str(iface.ip)),)
    return NetworkSpec(name="bridge", driver="bridge", ipam_configs=configs, options=options)
