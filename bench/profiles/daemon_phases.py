"""Where the time of ``run -d`` (none and bridge), ``network connect`` and ``network
create``/``rm`` goes inside seawayd: the daemon runs under ``traced.py`` (spans around
named functions) in a fake host, driven by raw HTTP on its socket; per operation, the
client's time and the median per-op time of each span. ``N`` samples (default 20),
``AT`` containers running first (default 0)."""

import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.images import busybox_rootfs_tar

N = int(os.environ.get("N", "20"))
AT = int(os.environ.get("AT", "0"))
trace = Path(tempfile.mkdtemp()) / "trace"
os.environ["TRACE"] = str(trace)
host = FakeHost()
d = SeawayDaemon(host, "--log-level", "warn", program=(sys.executable, str(Path(__file__).with_name("traced.py"))))
client: dict[str, list[float]] = collections.defaultdict(list)
spans: dict[str, dict[str, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))


def op(figure, method, path, body=None):
    start = trace.stat().st_size if trace.exists() else 0
    t0 = time.perf_counter()
    status, answer = d.request(method, path, body)
    client[figure].append((time.perf_counter() - t0) * 1e3)
    if status >= 300:
        raise RuntimeError(f"{method} {path}: {status} {answer}")
    per = collections.defaultdict(float)
    with trace.open() as f:
        f.seek(start)
        for line in f:
            name, ns = line.split()
            per[name] += int(ns) / 1e6
    for name, ms in per.items():
        spans[figure][name].append(ms)
    return answer


def run(figure, net, name):
    body = {"Image": "busybox", "Cmd": ["sleep", "3600"], "HostConfig": {"NetworkMode": net}}
    cid = op(figure + ".create", "POST", f"/containers/create?name={name}", body)["Id"]
    op(figure + ".start", "POST", f"/containers/{cid}/start")


try:
    d.start()
    with tempfile.TemporaryDirectory() as tmp:
        d.docker("import", str(busybox_rootfs_tar(Path(tmp) / "b.tar")), "busybox", check=True)
    d.request("POST", "/networks/create", {"Name": "bench", "IPAM": {"Config": [{"Subnet": "10.0.0.0/16"}]}})
    d.request("POST", "/networks/create", {"Name": "extra", "IPAM": {"Config": [{"Subnet": "10.1.0.0/16"}]}})
    for i in range(AT):
        run("fill", "bench", f"f{i}")
    client.clear()
    spans.clear()
    for j in range(N):
        run("run_none", "none", f"n{j}")
        run("run_bridge", "bench", f"b{j}")
        op("connect", "POST", "/networks/extra/connect", {"Container": f"b{j}", "EndpointConfig": {}})
        op("net_create", "POST", "/networks/create", {"Name": f"x{j}"})
        op("net_rm", "DELETE", f"/networks/x{j}")
    for figure in sorted(client):
        print(f"{figure}: client p50 {statistics.median(client[figure]):.2f} ms")
        for name, v in sorted(spans[figure].items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"    {name:40} {statistics.median(v):7.3f} ms  (calls in {len(v)}/{len(client[figure])} ops)")
    print("load", os.getloadavg())
finally:
    d.close()
    host.close()
