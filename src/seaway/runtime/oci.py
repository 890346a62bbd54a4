"""The OCI runtime (runc) and its monitor (conmon): create, start, signal, delete, exec.

conmon is started in a session of its own, so it and the container survive the daemon;
it writes the container's output to a k8s-file log and its exit code to
``<exit-dir>/<id>``. The daemon learns that a container was created from conmon's sync
pipe (``{"data": <pid>}`` or a negative ``data`` with a message).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from seaway.errors import InternalError, ProgramNotRunnable, Unsupported

RUNC = "runc"
CREATE_TIMEOUT = 60  # seconds for conmon + runc create
CONMON = "conmon"


def find_tools() -> tuple[str, str]:
    """Paths of runc and conmon; Unsupported naming the Debian package if one is missing."""
    runc = shutil.which(RUNC) or shutil.which(RUNC, path="/usr/sbin:/sbin")
    conmon = shutil.which(CONMON) or shutil.which(CONMON, path="/usr/libexec/podman:/usr/bin")
    if not runc:
        raise Unsupported("runc is not installed (Debian package runc): seawayd needs it to run containers")
    if not conmon:
        raise Unsupported("conmon is not installed (Debian package conmon): seawayd needs it to run containers")
    return runc, conmon


@dataclass(frozen=True, slots=True)
class Paths:
    """Where one container's runtime files live."""

    bundle: Path
    log: Path
    pidfile: Path
    conmon_pidfile: Path
    exit_dir: Path
    socket_dir: Path


class Runtime:
    def __init__(self, runc_root: Path) -> None:
        self.runc, self.conmon = find_tools()
        self.root = runc_root
        runc_root.mkdir(parents=True, exist_ok=True)

    def _runc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([self.runc, "--root", str(self.root), *args], capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise InternalError(f"runc {args[0]} {args[-1]}: {_runc_error(proc.stderr)}")
        return proc

    def create(
        self, container_id: str, name: str, paths: Paths, tty: bool, stdin: bool = False, keep_stdin: bool = False
    ) -> int:
        """Create the container under conmon; return the container's pid. ``keep_stdin``:
        the container's stdin stays open when an attached client leaves (not StdinOnce)."""
        paths.exit_dir.mkdir(parents=True, exist_ok=True)
        paths.socket_dir.mkdir(parents=True, exist_ok=True)
        (paths.exit_dir / container_id).unlink(missing_ok=True)
        read_end, write_end = os.pipe()
        cmd = [
            self.conmon, "--api-version", "1", "-c", container_id, "-u", container_id, "-n", name,
            "-r", self.runc, "-b", str(paths.bundle), "-p", str(paths.pidfile),
            "-P", str(paths.conmon_pidfile), "-l", f"k8s-file:{paths.log}",
            "--exit-dir", str(paths.exit_dir), "--socket-dir-path", str(paths.socket_dir),
            "--log-level", "error", "--runtime-arg", f"--root={self.root}",
        ]  # fmt: skip
        if tty:
            cmd.append("-t")
        if stdin:  # the container's stdin: conmon's attach socket (seaway.runtime.attach)
            cmd.append("--stdin")
        if stdin and keep_stdin:
            cmd.append("--leave-stdin-open")
        try:
            launcher = subprocess.Popen(
                cmd,
                pass_fds=(write_end,),
                env={**os.environ, "_OCI_SYNCPIPE": str(write_end)},
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        finally:
            os.close(write_end)
        try:
            launcher.wait(timeout=CREATE_TIMEOUT)
            # conmon keeps the pipe open (it reports the exit there too): read one message
            reply = _read_line(read_end, CREATE_TIMEOUT)
        except (subprocess.TimeoutExpired, TimeoutError):
            self._abandon(container_id, paths)
            raise InternalError(f"create container {name}: runc did not answer within {CREATE_TIMEOUT} s") from None
        finally:
            os.close(read_end)
        err = launcher.stderr.read() if launcher.stderr and reply == "" else b""
        if launcher.stderr:
            launcher.stderr.close()
        try:
            data = json.loads(reply.splitlines()[0]) if reply else {}
        except ValueError:
            data = {}
        pid = int(data.get("data", -1))
        if pid <= 0:
            message = data.get("message") or err.decode(errors="replace").strip() or "conmon failed"
            self._runc("delete", "--force", container_id, check=False)
            text = f"create container {name}: {_runc_error(message)}"
            code = start_exit_code(text)
            raise ProgramNotRunnable(text, code) if code != 128 else InternalError(text)
        return pid

    def _abandon(self, container_id: str, paths: Paths) -> None:
        """A create that hung: stop its conmon (by its pidfile) and forget the container."""
        try:
            os.kill(int(paths.conmon_pidfile.read_text().strip()), 9)
        except (OSError, ValueError):
            pass
        self._runc("delete", "--force", container_id, check=False)

    def start(self, container_id: str) -> None:
        self._runc("start", container_id)

    def update(self, container_id: str, resources: dict[str, object]) -> None:
        """Change a running container's cgroup limits (OCI ``linux.resources``)."""
        proc = subprocess.run(
            [self.runc, "--root", str(self.root), "update", "-r", "-", container_id],
            input=json.dumps(resources), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise InternalError(f"Cannot update container {container_id}: {_runc_error(proc.stderr)}")

    def pause(self, container_id: str) -> None:
        self._runc("pause", container_id)

    def resume(self, container_id: str) -> None:
        self._runc("resume", container_id)

    def pids(self, container_id: str) -> list[int]:
        """The container's processes, as the host sees them (``runc ps``)."""
        proc = self._runc("ps", "--format", "json", container_id, check=False)
        if proc.returncode != 0:
            return []
        return [int(p) for p in json.loads(proc.stdout or "[]") or []]

    def kill(self, container_id: str, signal: str) -> None:
        """Send a signal; a container that is not running is not an error."""
        proc = self._runc("kill", container_id, signal, check=False)
        if proc.returncode != 0 and "not running" not in proc.stderr and "does not exist" not in proc.stderr:
            raise InternalError(f"kill container {container_id[:12]}: {_runc_error(proc.stderr)}")

    def delete(self, container_id: str) -> None:
        proc = self._runc("delete", "--force", container_id, check=False)
        if proc.returncode != 0 and "does not exist" not in proc.stderr:
            raise InternalError(f"delete container {container_id[:12]}: {_runc_error(proc.stderr)}")

    def status(self, container_id: str) -> str | None:
        """runc's status (created, running, stopped), or None if runc does not know it."""
        proc = self._runc("state", container_id, check=False)
        if proc.returncode != 0:
            return None
        return str(json.loads(proc.stdout).get("status"))

    def statuses(self) -> dict[str, str]:
        """Every container runc knows under this root, with its status (one ``runc list``)."""
        proc = self._runc("list", "--format", "json", check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            return {}
        return {str(c["id"]): str(c["status"]) for c in json.loads(proc.stdout) or []}

    def exec_command(
        self, container_id: str, args: list[str], env: list[str], tty: bool, workdir: str, pid_file: Path
    ) -> list[str]:
        """The argv of ``runc exec`` for a process in the container (run by the caller).
        runc writes ``pid_file`` once the process runs: an exit without it is a process
        that never started (runc's own error is then a JSON line on stderr, see
        ``exec_error``)."""
        cmd = [self.runc, "--root", str(self.root), "--log-format", "json", "exec", "--pid-file", str(pid_file)]
        for item in env:
            cmd += ["--env", item]
        if workdir:
            cmd += ["--cwd", workdir]
        if tty:
            cmd.append("--tty")
        return [*cmd, container_id, *args]


#: ``runc exec``'s exit code when it could not start the process
EXEC_FAILED = 255


def exec_error(stderr: bytes) -> str:
    """Docker's text for an exec whose process could not start, from runc's JSON log
    line: ``OCI runtime exec failed: exec failed: …: unknown`` (containerd's words around
    runc's, as dockerd shows them)."""
    message = ""
    for line in stderr.decode(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") == "error":
            message = str(entry.get("msg", ""))
    return f"OCI runtime exec failed: {message or 'exec failed'}: unknown"


def start_exit_code(message: str) -> int:
    """A container's exit code for a start that failed with runc's ``message``, as Docker
    sets it: 127 when its program does not exist, 126 when it cannot be run, else 128."""
    if "unable to start container process: exec:" not in message:
        return 128
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 128


def read_exit_code(exit_dir: Path, container_id: str) -> int | None:
    try:
        text = (exit_dir / container_id).read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _read_line(fd: int, timeout: float) -> str:
    """One newline-terminated message (or what there is before EOF), within ``timeout``."""
    data = b""
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            raise TimeoutError("no answer from conmon")
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def _runc_error(text: str) -> str:
    """The readable part of runc's logfmt error output."""
    text = text.strip()
    marker = 'msg="'
    if marker in text:
        text = text[text.rindex(marker) + len(marker) :].rsplit('"', 1)[0]
    return text.replace('\\"', '"') or "unknown error"
