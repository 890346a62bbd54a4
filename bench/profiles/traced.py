"""seawayd with wall-clock spans around named functions: ``TRACE=FILE python traced.py ARGS``
runs ``seawayd ARGS`` and appends one line per call to FILE (``name ns``), from any thread.
Used by ``daemon_phases.py``; the spans are what ``phases.py`` wraps in-process."""

import importlib
import os
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))

SPANS = [
    ("seaway.daemon.containers", "Containers.create"),
    ("seaway.daemon.containers", "Containers._start"),
    ("seaway.daemon.containers", "Containers.connect"),
    ("seaway.daemon.containers", "Containers._save"),
    ("seaway.daemon.containers", "Containers._save_networks"),
    ("seaway.daemon.containers", "Containers._start_resolver"),
    ("seaway.daemon.containers", "Containers._write_files"),
    ("seaway.daemon.containers", "Containers._write_bundle"),
    ("seaway.daemon.containers", "Containers._gateway_bridge"),
    ("seaway.daemon.containers", "Containers._linked"),
    ("seaway.daemon.dnsfeed", "DnsFeed.joined"),
    ("seaway.resolver.server", "Resolver.attach"),
    ("seaway.resolver.server", "Resolver.set_view"),
    ("seaway.runtime.rootfs", "prepare"),
    ("seaway.engine.engine", "Engine.create_sandbox"),
    ("seaway.engine.engine", "Engine.connect"),
    ("seaway.engine.engine", "Engine.create_network"),
    ("seaway.engine.engine", "Engine.remove_network"),
    ("seaway.engine.engine", "Engine.publish"),
    ("seaway.engine.realizer", "Realizer.ensure_sandbox"),
    ("seaway.kernel.sandbox", "init_loopback"),
    ("seaway.kernel.sandbox", "configure"),
    ("seaway.kernel.netns", "create"),
    ("seaway.kernel.fdlimit", "check_headroom"),
    ("seaway.drivers.bridge", "BridgeDriver.join"),
    ("seaway.drivers.bridge", "BridgeDriver.create_network"),
    ("seaway.drivers.bridge", "BridgeDriver.delete_network"),
    ("seaway.kernel.nft", "apply_in_process"),
    ("seaway.kernel.nft", "apply"),
    ("seaway.state.store", "Store.transaction"),
]

_fd = os.open(os.environ["TRACE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def _wrap(modname: str, attr: str) -> None:
    mod = importlib.import_module(modname)
    obj, _, name = attr.rpartition(".")
    owner = getattr(mod, obj) if obj else mod
    f = getattr(owner, name)
    if name == "transaction":  # a context manager: time the block
        import contextlib

        @contextlib.contextmanager
        def cm(*a, **k):
            t0 = time.perf_counter_ns()
            with f(*a, **k) as v:
                yield v
            os.write(_fd, f"{attr} {time.perf_counter_ns() - t0}\n".encode())

        setattr(owner, name, cm)
        return

    def w(*a, **k):
        t0 = time.perf_counter_ns()
        try:
            return f(*a, **k)
        finally:
            os.write(_fd, f"{attr} {time.perf_counter_ns() - t0}\n".encode())

    setattr(owner, name, w)


for _m, _a in SPANS:
    _wrap(_m, _a)

from seaway.daemon.app import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
