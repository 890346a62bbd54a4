"""API-level timings of connect, run -d (none vs bridge), network create against a seawayd in a fake host;
optionally py-spy records the daemon meanwhile."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from pathlib import Path

from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.images import busybox_rootfs_tar

N = int(os.environ.get("N", "20"))
SPY = os.environ.get("SPY")  # figure name to record
host = FakeHost()
d = SeawayDaemon(host, "--log-level", "warn")
spy = None


def req(m, p, b=None, ok=(200, 201, 204)):
    t0 = time.perf_counter()
    st, body = d.request(m, p, b)
    dt = (time.perf_counter() - t0) * 1e3
    if st not in ok:
        raise RuntimeError(f"{m} {p}: {st} {body}")
    return dt, body


try:
    d.start()
    with tempfile.TemporaryDirectory() as tmp:
        tar = busybox_rootfs_tar(Path(tmp) / "b.tar")
        d.docker("import", str(tar), "busybox", check=True)
    req("POST", "/networks/create", {"Name": "bench", "IPAM": {"Config": [{"Subnet": "10.0.0.0/16"}]}})
    req("POST", "/networks/create", {"Name": "extra", "IPAM": {"Config": [{"Subnet": "10.1.0.0/16"}]}})

    def run(net, name):
        body = {"Image": "busybox", "Cmd": ["sleep", "3600"], "HostConfig": {"NetworkMode": net}}
        t1, r = req("POST", f"/containers/create?name={name}", body)
        t2, _ = req("POST", f"/containers/{r['Id']}/start")
        return t1 + t2

    res = {k: [] for k in ("run_none", "run_bridge", "connect", "disconnect", "net_create", "net_rm")}
    if SPY:
        spy = subprocess.Popen(
            ["py-spy", "record", "-p", str(d.proc.pid), "-r", "500", "-f", "raw", "-o", f"spy-{SPY}.txt", "--threads"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
    for j in range(N):
        if not SPY or SPY == "run":
            res["run_none"].append(run("none", f"n{j}"))
            res["run_bridge"].append(run("bench", f"b{j}"))
        if not SPY or SPY == "connect":
            if SPY and j == 0:
                run("bench", "b0")
            name = f"b{j}" if not SPY else "b0"
            res["connect"].append(req("POST", "/networks/extra/connect", {"Container": name, "EndpointConfig": {}})[0])
            if SPY:
                res["disconnect"].append(req("POST", "/networks/extra/disconnect", {"Container": name})[0])
        if not SPY or SPY == "create":
            res["net_create"].append(req("POST", "/networks/create", {"Name": f"x{j}"})[0])
            res["net_rm"].append(req("DELETE", f"/networks/x{j}")[0])
    for k, v in res.items():
        if v:
            print(f"{k:>12}: p50 {statistics.median(v):6.2f} ms  min {min(v):6.2f}  n {len(v)}")
    print("load", os.getloadavg())
    if os.environ.get("OUT"):  # one JSON line per run, appended: samples (ms) and the load average
        with open(os.environ["OUT"], "a") as out:
            out.write(json.dumps({"label": os.environ.get("LABEL", ""), "load": os.getloadavg(), "ms": res}) + "\n")
finally:
    if spy:
        spy.send_signal(2)
        spy.wait(20)
    d.close()
    host.close()
