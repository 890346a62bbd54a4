"""Pure: the NAT rules inside a container's namespace that send 127.0.0.11:53 to the
embedded resolver's real ports (a container may run its own server on port 53).

Table ``ip seaway-dns`` in the *container's* namespace::

    chain dns-dnat  (nat, output, dstnat)    ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:<udp>
                                             ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:<tcp>
    chain dns-snat  (nat, postrouting, srcnat)  ip saddr 127.0.0.11 udp sport <udp> snat to :53  (and tcp)
"""

from __future__ import annotations

from typing import Any

TABLE = "seaway-dns"
ADDRESS = "127.0.0.11"


def _rule(
    chain: str, proto: str, match_field: str, match_value: str, port_field: str, port: int, action: dict[str, Any]
) -> dict[str, Any]:
    return {
        "add": {
            "rule": {
                "family": "ip",
                "table": TABLE,
                "chain": chain,
                "expr": [
                    {
                        "match": {
                            "op": "==",
                            "left": {"payload": {"protocol": "ip", "field": match_field}},
                            "right": match_value,
                        }
                    },
                    {
                        "match": {
                            "op": "==",
                            "left": {"payload": {"protocol": proto, "field": port_field}},
                            "right": port,
                        }
                    },
                    action,
                ],
            }
        }
    }


def redirect(udp_port: int, tcp_port: int) -> list[dict[str, Any]]:
    """The whole table, its rules replaced in one transaction (ports change when the
    daemon restarts). The table is flushed, not deleted and made again: a table deletion
    makes the kernel's commit wait for an RCU grace period (10-20 ms here), and the
    chains, added again, stay as they are."""
    table = {"family": "ip", "name": TABLE}
    cmds: list[dict[str, Any]] = [{"add": {"table": table}}, {"flush": {"table": table}}]
    for name, hook, prio in (("dns-dnat", "output", -100), ("dns-snat", "postrouting", 100)):
        cmds.append(
            {
                "add": {
                    "chain": {
                        "family": "ip",
                        "table": TABLE,
                        "name": name,
                        "type": "nat",
                        "hook": hook,
                        "prio": prio,
                        "policy": "accept",
                    }
                }
            }
        )
    for proto, port in (("udp", udp_port), ("tcp", tcp_port)):
        cmds.append(_rule("dns-dnat", proto, "daddr", ADDRESS, "dport", 53, {"dnat": {"addr": ADDRESS, "port": port}}))
        cmds.append(_rule("dns-snat", proto, "saddr", ADDRESS, "sport", port, {"snat": {"port": 53}}))
    return cmds
