"""A container's processes as ``ps`` on the host shows them (``docker top``): the rows
of ``ps <args>`` whose PID is one of the container's (``runc ps``)."""

from __future__ import annotations

import shlex
import shutil
import subprocess

from seaway.errors import InternalError, InvalidParameter


def top(pids: list[int], ps_args: str = "-ef") -> tuple[list[str], list[list[str]]]:
    """Titles and rows, each row split into as many fields as there are titles."""
    ps = shutil.which("ps")
    if ps is None:
        raise InternalError("ps is not installed (Debian package procps): docker top needs it")
    proc = subprocess.run([ps, *shlex.split(ps_args)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InternalError(f"Error running ps: exit status {proc.returncode}: {proc.stderr.strip()}")
    lines = proc.stdout.splitlines()
    if not lines:
        return [], []
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidParameter("Couldn't find PID field in ps output")
    column = titles.index("PID")
    wanted = set(pids)
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in wanted:
            rows.append(fields)
    return titles, rows
