"""The docker-style commands; each module registers its subcommands with ``register``.

A command is ``func(client, args) -> exit status``. Shared here only: running one
request per named target the way docker does (print the name on success, one
``Error response from daemon: …`` line per failure, status 1 if any failed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from seaway.cli.client import DaemonError
from seaway.cli.output import error


def for_each(names: Iterable[str], action: Callable[[str], object], echo: bool = True) -> int:
    status = 0
    for name in names:
        try:
            action(name)
        except DaemonError as exc:
            error(f"Error response from daemon: {exc}")
            status = 1
            continue
        if echo:
            print(name)
    return status
