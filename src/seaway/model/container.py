"""Containers: the create request and the record. Pure.

A container is a sandbox (its network stack, made when it starts) plus a process run by
the OCI runtime. Field names follow Docker's API where the API has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seaway.model.endpoint import EndpointSpec
from seaway.model.hostconfig import ProcessOptions, Resources
from seaway.model.mounts import MountSpec
from seaway.model.ports import PortRequest

RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    name: str = "no"
    maximum_retry_count: int = 0


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """What ``POST /containers/create`` asks for, validated and typed."""

    image: str
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    hostname: str = ""
    domainname: str = ""
    tty: bool = False
    open_stdin: bool = False
    #: Config.StdinOnce: the container's stdin closes when its attached client leaves
    #: (``docker run -i`` sets it; otherwise stdin stays open for the next attach)
    stdin_once: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    network_mode: str = "default"
    endpoints: dict[str, EndpointSpec] = field(default_factory=dict)
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    auto_remove: bool = False
    stop_signal: str = "SIGTERM"
    #: Config.StopTimeout: None (not given) waits Docker's 10 s
    stop_timeout: int | None = None
    exposed_ports: tuple[str, ...] = ()
    #: HostConfig.PortBindings as given (shown back by inspect), and what it asks for
    port_bindings: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    publish_all: bool = False
    ports: tuple[PortRequest, ...] = ()
    mac_address: str = ""
    #: HostConfig.Links, ``container[:alias]``: legacy links (default bridge)
    links: tuple[str, ...] = ()
    #: HostConfig.LogConfig: the driver (see model.logconfig) and its options as given
    log_driver: str = "json-file"
    log_options: dict[str, str] = field(default_factory=dict)
    #: Config.User: ``user[:group]``, by name (the image's /etc/passwd) or number
    user: str = ""
    resources: Resources = field(default_factory=Resources)
    process: ProcessOptions = field(default_factory=ProcessOptions)
    #: Binds, Mounts and Config.Volumes' anonymous volumes, in that order
    mounts: tuple[MountSpec, ...] = ()
    #: Config.Volumes as given (mount points)
    volumes: tuple[str, ...] = ()
    #: HostConfig.VolumesFrom: ``container[:ro|rw]``
    volumes_from: tuple[str, ...] = ()
    volume_driver: str = ""


@dataclass(slots=True)
class ContainerState:
    """Mutable run state, persisted on every change."""

    status: str = "created"  # created | running | restarting | exited | removing | dead
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = "0001-01-01T00:00:00Z"
    finished_at: str = "0001-01-01T00:00:00Z"
    restart_count: int = 0
    stopped_by_user: bool = False  # for unless-stopped and for a stop during a restart
    paused: bool = False


@dataclass(slots=True)
class Container:
    id: str
    name: str
    created: str
    spec: ContainerSpec
    image_id: str
    state: ContainerState = field(default_factory=ContainerState)
    sandbox_id: str = ""
    #: networks this container is on, by network ID, with their endpoint configuration
    #: (kept while stopped, as Docker keeps NetworkSettings.Networks)
    networks: dict[str, EndpointSpec] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state.status in ("running", "restarting")
