"""``/_ping``, ``/version``, ``/info``: what clients read to negotiate."""

from __future__ import annotations

import os
import platform

from aiohttp import web

from seaway.daemon.api.backend import Backend
from seaway.daemon.api.errors import json_response
from seaway.kernel import features

API_VERSION = "1.50"  # what the docker 28 client asks for
MIN_API_VERSION = "1.24"


def headers(backend: Backend) -> dict[str, str]:
    return {
        "API-Version": API_VERSION,
        "OSType": "linux",
        "Docker-Experimental": "false",
        "Server": f"Seaway/{backend.version} (linux)",
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
        "Swarm": backend.swarm.ping_header() if backend.swarm is not None else "inactive",
    }


def _network_drivers(backend: Backend) -> list[str]:
    """Docker's list: the built-in drivers, then those of existing networks (plugins)."""
    names = ["bridge", "host", "null"] + [d for d in ("macvlan", "ipvlan") if backend.engine.kernel_features.get(d)]
    for net in backend.engine.networks():
        if net.driver not in names and not net.config_only:
            names.append(net.driver)
    return names


def setup(add, backend: Backend) -> None:  # type: ignore[no-untyped-def]
    async def ping(request: web.Request) -> web.Response:
        body = None if request.method == "HEAD" else "OK"
        return web.Response(text=body, content_type="text/plain", headers=headers(backend))

    async def version(request: web.Request) -> web.Response:
        return json_response(
            {
                "Platform": {"Name": "Seaway"},
                "Components": [{"Name": "Seaway", "Version": backend.version, "Details": {}}],
                "Version": backend.version,
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "GitCommit": "",
                "GoVersion": "",
                "Os": "linux",
                "Arch": _arch(),
                "KernelVersion": platform.release(),
                "BuildTime": "",
            },
            headers=headers(backend),
        )

    async def info(request: web.Request) -> web.Response:
        ctrs = backend.containers.list()
        running = sum(1 for c in ctrs if c.state.status == "running")
        return json_response(
            {
                "ID": backend.engine.host_id,
                "Containers": len(ctrs),
                "ContainersRunning": running,
                "ContainersPaused": 0,
                "ContainersStopped": len(ctrs) - running,
                "Images": len(backend.containers.images.list()),
                "Driver": "overlay",
                "DriverStatus": [],
                "DockerRootDir": str(backend.config.data_root),
                "Name": os.uname().nodename,
                "NCPU": os.cpu_count(),
                "MemTotal": features.memory_bytes(),
                "KernelVersion": platform.release(),
                "OperatingSystem": "Seaway",
                "OSType": "linux",
                "OSVersion": "",
                "Architecture": platform.machine(),
                "ServerVersion": backend.version,
                "Plugins": {
                    "Volume": [],
                    "Network": _network_drivers(backend),
                    "Authorization": None,
                    "Log": ["k8s-file"],
                },
                # Seaway's own: the optional kernel features probed at start (seaway.kernel.features)
                "SeawayKernelFeatures": dict(backend.engine.kernel_features),
                "Swarm": await _swarm_info(backend),
                "Runtimes": {"runc": {"path": backend.containers.runtime.runc}},
                "DefaultRuntime": "runc",
                "CgroupDriver": "cgroupfs",
                "CgroupVersion": "1",
                "SecurityOptions": [],
                "Labels": [],
                "ExperimentalBuild": False,
                "Warnings": [],
            },
            headers=headers(backend),
        )

    async def dns_stats(request: web.Request) -> web.Response:
        """Seaway extension: the embedded resolver's counters."""
        stats = backend.resolver.stats.snapshot() if backend.resolver is not None else {}
        return json_response(stats)

    add("GET", "/seaway/dns/stats", dns_stats)
    add("GET", "/_ping", ping)
    add("HEAD", "/_ping", ping)
    add("GET", "/version", version)
    add("GET", "/info", info)


async def _swarm_info(backend: Backend) -> dict[str, object]:
    if backend.swarm is None:
        return {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": False}
    return await backend.swarm.info()


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
