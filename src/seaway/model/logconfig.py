"""A container's logging driver (``HostConfig.LogConfig``): which drivers Seaway has and
the options each takes, checked at create with Docker's texts. Pure.

Every container's output goes to one file (conmon's), which ``/logs`` and attach read.
``json-file`` (the default) and ``local`` are that file; ``none`` keeps it for attach
but refuses ``/logs`` as Docker does. Docker's drivers that ship logs elsewhere (syslog,
journald, gelf, fluentd, ...) are not built.
"""

from __future__ import annotations

from seaway.errors import InvalidParameter, Unsupported

DEFAULT = "json-file"

#: the drivers Seaway has, with the option names Docker's driver of that name accepts
#: (``None``: Docker checks none)
OPTIONS: dict[str, frozenset[str] | None] = {
    "json-file": frozenset({"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}),
    "local": frozenset({"max-size", "max-file", "compress"}),
    "none": None,
}

#: Docker's other built-in drivers: known names, not built here
NOT_BUILT = ("syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs", "logentries")

#: Docker's text for ``/logs`` of a container whose driver keeps no logs
NOT_READABLE = "configured logging driver does not support reading"


def check(driver: str, options: dict[str, str]) -> str:
    """The driver to record (``""`` is the default); Docker's 400 for an unknown driver
    or option, a 501 for a Docker driver Seaway does not have."""
    driver = driver or DEFAULT
    if driver in NOT_BUILT:
        raise Unsupported(f"logging driver {driver} is not supported by Seaway (it has {', '.join(OPTIONS)})")
    if driver not in OPTIONS:
        raise InvalidParameter(f'error looking up logging plugin {driver}: plugin "{driver}" not found')
    allowed = OPTIONS[driver]
    for key in options:
        if allowed is not None and key not in allowed:
            # Docker's two drivers word it differently; both kept
            if driver == "json-file":
                raise InvalidParameter(f"unknown log opt '{key}' for json-file log driver")
            raise InvalidParameter(f"unknown log opt '{key}' for log driver {driver}")
    return driver


def readable(driver: str) -> bool:
    """Whether ``/logs`` can read what this driver keeps."""
    return driver != "none"
