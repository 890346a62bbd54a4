"""Wall-clock per phase of Engine.connect and Engine.create_network (in a fake host), by wrapping functions."""

import collections
import importlib
import os
import statistics
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from bench.core import _engine
from seaway.lab.fakehost import FakeHost
from seaway.model.network import IPAMConfigSpec, NetworkSpec

acc = collections.defaultdict(list)


def wrap(modname, attr):
    mod = importlib.import_module(modname)
    obj, _, name = attr.rpartition(".")
    owner = getattr(mod, obj) if obj else mod
    f = getattr(owner, name)

    def w(*a, **k):
        t0 = time.perf_counter_ns()
        try:
            return f(*a, **k)
        finally:
            acc[attr].append(time.perf_counter_ns() - t0)

    setattr(owner, name, w)


for m, a in [
    ("seaway.engine.endpoints", "EndpointPlanner.plan"),
    ("seaway.state.store", "Store.transaction"),
    ("seaway.engine.realizer", "Realizer._apply_endpoint_firewall"),
    ("seaway.engine.realizer", "Realizer.ensure_network"),
    ("seaway.drivers.bridge", "BridgeDriver.join"),
    ("seaway.drivers.bridge", "BridgeDriver.create_network"),
    ("seaway.kernel.links", "add_link"),
    ("seaway.kernel.links", "ensure_bridge"),
    ("seaway.kernel.links", "set_up"),
    ("seaway.kernel.sandbox", "configure"),
    ("seaway.kernel.sandbox", "netns_fd"),
    ("seaway.kernel.sysctl", "write"),
    ("seaway.kernel.addresses", "onlink_routes"),
    ("seaway.kernel.addresses", "add_address"),
    ("seaway.kernel.addresses", "ensure_subnet_route"),
    ("seaway.kernel.nftnl", "ElementSocket.apply"),
    ("seaway.engine.networks", "NetworkPlanner.plan"),
    ("seaway.engine.engine", "Engine.connect"),
    ("seaway.engine.engine", "Engine.create_network"),
    ("seaway.engine.snapshot", "Snapshot.with_endpoint"),
    ("seaway.engine.snapshot", "Snapshot.members"),
    ("seaway.engine.realizer", "_routes"),
    ("seaway.kernel.links", "create_veth"),
    ("seaway.state.store", "Store.put_endpoint"),
    ("seaway.state.store", "Store.set_endpoint_state"),
]:
    wrap(m, a)

N = int(os.environ.get("N", "40"))  # timed operations
FILL = max(N, int(os.environ.get("AT", "0")))  # endpoints (and networks) there are when they are timed
host = FakeHost()
try:
    with host.entered():
        e = _engine(host)
        e.create_network(NetworkSpec(name="bench", ipam_configs=(IPAMConfigSpec(subnet="10.0.0.0/16"),)))
        sbs = [e.create_sandbox(f"s{i}") for i in range(FILL)]
        for sb in sbs[: FILL - N]:  # untimed: the curve's point
            e.connect(sb.id, "bench")
        acc.clear()
        for sb in sbs[FILL - N :]:
            e.connect(sb.id, "bench")

        def show(title):
            print(title)
            for k, v in sorted(acc.items(), key=lambda kv: -sum(kv[1])):
                print(
                    f"  {k:40} calls/op {len(v) / N:4.1f}  per op {sum(v) / N / 1e6:6.3f} ms  (median call {statistics.median(v) / 1e6:.3f})"
                )
            acc.clear()

        show("connect")
        for i in range(FILL - N):  # untimed
            e.create_network(NetworkSpec(name=f"f{i}"))
        acc.clear()
        for i in range(N):
            e.create_network(NetworkSpec(name=f"n{i}"))
        show("create_network")
        e.close()
finally:
    host.close()
print("load", os.getloadavg())
