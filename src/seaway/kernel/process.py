"""Programs run inside named network namespaces: one-shot commands, long-lived daemons.

A namespace is named as ``ip netns`` names it (a file under /run/netns), or given by
the path of its file. Programs enter
it with ``nsenter --net=`` only, so they keep the machine's /sys and cgroup mounts (runc
needs both). Daemons are started in their own session so they outlive the tool that
started them; they are stopped by PID, and only after checking that the PID still runs
the program we started (its command line carries a marker we chose), so a recycled
PID is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from seaway.errors import InternalError, Unsupported

NETNS_DIR = Path("/run/netns")

#: what a finished program gives back (layers above use this name, not subprocess's)
Completed = subprocess.CompletedProcess


def netns_path(name: str) -> str:
    """The file of namespace ``name`` (a path is returned as it is)."""
    return name if name.startswith("/") else str(NETNS_DIR / name)


def _argv(netns: str | None, argv: Sequence[str]) -> list[str]:
    return list(argv) if netns is None else ["nsenter", f"--net={netns_path(netns)}", *argv]


def run(
    netns: str | None,
    argv: Sequence[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion inside namespace ``netns`` (None: here); with ``check``
    a non-zero exit is an InternalError carrying the program's stderr."""
    try:
        proc = subprocess.run(
            _argv(netns, argv), input=input, capture_output=True, text=True, env=None if env is None else dict(env),
            timeout=timeout, check=False,
        )  # fmt: skip
    except FileNotFoundError as exc:
        raise Unsupported(f"{argv[0]} is not installed: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise InternalError(f"{' '.join(argv)} did not finish within {timeout} s") from None
    if check and proc.returncode != 0:
        where = f" in {netns}" if netns else ""
        raise InternalError(f"{' '.join(argv)}{where}: {proc.stderr.strip() or f'exit status {proc.returncode}'}")
    return proc


def replace_with(netns: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
    """Become ``argv`` inside ``netns`` (never returns): for interactive commands."""
    full = _argv(netns, argv)
    os.execvpe(full[0], full, dict(env))


def spawn(netns: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a daemon inside ``netns`` in a new session, its output appended to ``log``;
    its PID. The caller checks readiness and records the PID."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            _argv(netns, argv), stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
            env=None if env is None else dict(env),
        )  # fmt: skip
    return proc.pid


def exited(pid: int) -> int | None:
    """Reap ``pid`` if it is our child and has exited (its status), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def runs(pid: int, marker: str) -> bool:
    """``pid`` is alive and its command line contains ``marker`` (not a recycled PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and marker.encode() in cmdline


def stop(pid: int, marker: str, timeout: float = 10) -> None:
    """SIGTERM ``pid`` if it still runs our program, SIGKILL after ``timeout``; returns
    once it is gone (a process that is not ours, or gone already, is left alone)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not runs(pid, marker):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            exited(pid)
            if not runs(pid, marker):
                return
            time.sleep(0.02)
    raise InternalError(f"process {pid} did not exit after SIGKILL")
