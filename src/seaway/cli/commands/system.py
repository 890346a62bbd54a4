"""``seaway system doctor|gc|repair``: the invariant checker and its remedies.

``doctor`` prints one line per difference between store, kernel, IPAM, DNS and container
processes (exit status 1 if there is any); ``gc`` removes Seaway-owned leftovers (links
marked ``seaway:``, files in Seaway's netns directory, Seaway-protocol routes, elements of
Seaway's nftables sets, sandboxes no container owns); ``repair`` reconciles now, as a
restart of seawayd would.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from seaway.cli.client import Client


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("system", help="health of the daemon's kernel state")
    cmds = parser.add_subparsers(dest="system_command", required=True, metavar="COMMAND")
    for name, func, text in (
        ("doctor", doctor, "compare store, kernel, nftables, IPAM, DNS and processes; list every difference"),
        ("gc", gc, "remove Seaway-owned leftovers the doctor finds"),
        ("repair", repair, "reconcile the kernel with the store now"),
    ):
        p = cmds.add_parser(name, help=text)
        p.add_argument("--format", choices=("table", "json"), default="table")
        p.set_defaults(func=func)


def _show(findings: list[dict[str, Any]], fmt: str, extra: dict[str, Any] | None = None) -> int:
    if fmt == "json":
        print(json.dumps({**(extra or {}), "Findings": findings}))
    elif not findings:
        print("no differences: store, kernel, nftables, IPAM, DNS and processes agree")
    else:
        for f in findings:
            mark = " (leftover: seaway system gc removes it)" if f.get("Leftover") else ""
            print(f"{f['Kind']:<9} {f['Subject']}: {f['Problem']}{mark}")
    return 1 if findings else 0


def doctor(client: Client, args: argparse.Namespace) -> int:
    return _show(client.get("/seaway/system/doctor")["Findings"], args.format)


def gc(client: Client, args: argparse.Namespace) -> int:
    data = client.post("/seaway/system/gc")
    if args.format == "table":
        for f in data["Removed"]:
            print(f"removed {f['Kind']} {f['Subject']}")
    return _show(data["Findings"], args.format, {"Removed": data["Removed"]})


def repair(client: Client, args: argparse.Namespace) -> int:
    return _show(client.post("/seaway/system/repair")["Findings"], args.format)
