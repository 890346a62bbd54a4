"""The lab's fork server for host daemons: ``python -m seaway.lab.launcher --lab DIR``.

Starting a ``seawayd`` costs about a CPU-second, nearly all of it importing its code. A
lab with many hosts imports it once, here, and forks one daemon per host: the child
enters the host's namespace, takes ``seawayd`` as its process name, and runs the
daemon's ``main`` with the host's flags. Requests come one JSON line at a time on
stdin (``{"netns", "log", "argv", "env"}``); each answer is the child's PID. The children
keep this program's command line, which names the lab's directory, so ``down`` knows
them as the lab's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path

from seaway.daemon import app
from seaway.kernel import process


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m seaway.lab.launcher")
    p.add_argument("--lab", required=True, help="the lab's directory (marks the daemons as the lab's)")
    p.parse_args(argv)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            daemon_argv = [str(a) for a in request["argv"]]
            env = {str(k): str(v) for k, v in (request.get("env") or {}).items()}
            body = partial(_run_daemon, daemon_argv, env)
            pid = process.fork_into(request["netns"], Path(request["log"]), "seawayd", body)
            answer: dict[str, object] = {"pid": pid}
        except Exception as exc:  # the request fails, the server goes on
            answer = {"error": str(exc)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def _run_daemon(argv: list[str], env: dict[str, str]) -> int:
    """In the forked child: the host's environment, then the daemon."""
    os.environ.update(env)
    return app.main(argv)


if __name__ == "__main__":
    sys.exit(main())
