"""Many docker-py clients at once, creating, connecting and removing containers on the
same networks: no address handed out twice, no deadlock (every call returns within a
bound), no lost update (what the clients were told is what the daemon lists), and the
doctor finds no difference afterwards."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from seaway.testing.daemon import SeawayDaemon
from seaway.testing.torture import import_image

pytestmark = pytest.mark.netns

CLIENTS = 8
ROUNDS = 5  # per client: run, connect, maybe remove
DEADLINE = 240  # seconds for the whole load; far more than it needs, so a timeout means a deadlock


def test_parallel_clients_get_unique_addresses_and_nothing_is_lost(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    import_image(seawayd, busybox_tar)
    setup = seawayd.client()
    setup.networks.create("left", driver="bridge")
    setup.networks.create("right", driver="bridge")
    kept: dict[str, dict[str, str]] = {}  # container name -> network -> address, as told to clients
    removed: set[str] = set()
    lock = threading.Lock()

    def client_work(index: int) -> None:
        rng = random.Random(index)
        client = seawayd.client()
        try:
            for round_ in range(ROUNDS):
                name = f"c{index}-{round_}"
                ctr = client.containers.run("busybox", ["sleep", "600"], detach=True, name=name, network="left")
                client.networks.get("right").connect(ctr)
                ctr.reload()
                nets = ctr.attrs["NetworkSettings"]["Networks"]
                addresses = {n: nets[n]["IPAddress"] for n in ("left", "right")}
                if rng.random() < 0.4:
                    ctr.remove(force=True)
                    with lock:
                        removed.add(name)
                else:
                    with lock:
                        kept[name] = addresses
        finally:
            client.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client_work, i) for i in range(CLIENTS)]
        for future in futures:
            future.result(timeout=DEADLINE)  # raises on an error, times out on a deadlock

    listed = {c.name: c for c in setup.containers.list(all=True)}
    assert set(listed) == set(kept), "a container the clients kept is missing, or a removed one is back"
    assert not removed & set(listed)
    for network in ("left", "right"):
        told = [kept[name][network] for name in kept]
        assert len(told) == len(set(told)), f"an address on {network} was given twice: {sorted(told)}"
        members = setup.networks.get(network).attrs["Containers"]
        in_network = {m["Name"]: m["IPv4Address"].split("/")[0] for m in members.values()}
        assert in_network == {name: kept[name][network] for name in kept}
    status, body = seawayd.request("GET", "/seaway/system/doctor")
    assert status == 200 and body["Findings"] == []
    setup.close()
