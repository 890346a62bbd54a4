"""A long series of attaches, for crash tests: run inside a fake host, killed at will.

``python -m seaway.testing.workload --data-root D --exec-root E --network N --count K``
creates network N if missing, then K sandboxes each attached to it, printing
``attached <sandbox id> <address>`` after each attach completes (flushed), so a test can
kill the process with SIGKILL at a chosen moment and know what had completed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seaway.engine import Engine
from seaway.engine.config import EngineConfig
from seaway.errors import NotFound
from seaway.model.network import NetworkSpec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--exec-root", type=Path, required=True)
    parser.add_argument("--network", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    engine = Engine.start(EngineConfig(data_root=args.data_root, exec_root=args.exec_root))
    try:
        engine.network(args.network)
    except NotFound:
        engine.create_network(NetworkSpec(name=args.network))
    print("started", flush=True)
    for i in range(args.count):
        sb = engine.create_sandbox(f"w{i}")
        ep = engine.connect(sb.id, args.network)
        sys.stdout.write(f"attached {sb.id} {ep.ipv4}\n")
        sys.stdout.flush()
    engine.close()


if __name__ == "__main__":
    main()
