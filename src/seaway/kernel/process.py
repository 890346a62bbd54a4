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

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from seaway.errors import InternalError, Unsupported
from seaway.kernel import netns as netns_files

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


def spawn(netns: str | None, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a daemon inside ``netns`` (None: here) in a new session, its output appended
    to ``log``; its PID. The caller checks readiness and records the PID."""
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


def gone(pid: int) -> bool:
    """``pid`` has exited (no such process, or a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def runs(pid: int, marker: str) -> bool:
    """``pid`` is alive and its command line contains ``marker`` (not a recycled PID)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and marker.encode() in cmdline


def marked(marker: str) -> list[int]:
    """PIDs of the live processes whose command line contains ``marker`` (other than us):
    how a tool finds what it started when its own record may have missed a PID (it was
    killed between a fork and writing the PID down)."""
    own = os.getpid()
    return sorted(
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and int(entry.name) != own and runs(int(entry.name), marker)
    )


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


def fork_into(netns: str, log: Path, name: str, body: Callable[[], int]) -> int:
    """Fork a child that leaves our session, enters namespace ``netns``, writes its output
    to ``log``, names itself ``name`` and exits with ``body()``; the child's PID.

    Call it only from a single-threaded process (the fork server below): a fork copies
    just the calling thread."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        netns_files.enter_for_good(netns_path(netns))
        netns_files.set_process_name(name)
        code = body()
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class ForkServer:
    """A helper process that imports a daemon's code once and forks one daemon per
    request (copy-on-write), instead of a fresh interpreter importing it all again.

    ``argv`` starts the helper; it reads one JSON request per line on stdin and answers
    ``{"pid": N}`` or ``{"error": "..."}`` per line on stdout. Its children inherit its
    command line (so a marker in ``argv`` marks them too) and outlive it."""

    def __init__(self, argv: Sequence[str], log: Path) -> None:
        with log.open("ab") as err:
            self._proc = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                start_new_session=True,
            )  # fmt: skip
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def start(self, request: Mapping[str, object]) -> int:
        """Ask for one daemon; its PID."""
        with self._lock:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except OSError as exc:
                raise InternalError(f"fork server: {exc}") from None
        if not line:
            raise InternalError(f"fork server exited with status {self._proc.wait()}")
        answer = json.loads(line)
        if "error" in answer:
            raise InternalError(f"fork server: {answer['error']}")
        return int(answer["pid"])

    def close(self) -> None:
        """End the helper (its daemons run on)."""
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
