"""schemathesis against seawayd, driven by the OpenAPI description seawayd serves: for
every implemented operation, generated requests (valid and invalid) must get an answer
(no hang) that is not a 5xx, and afterwards the doctor must find nothing half-made.

Bounded: ``SEAWAY_SCHEMATHESIS_EXAMPLES`` (default 50) cases per operation, 10 s per
request. Streaming operations that wait by design (attach, wait, logs, exec start) are
called with their non-blocking forms only or left out, as listed in ``SKIP``.
"""

from __future__ import annotations

import os
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns

EXAMPLES = int(os.environ.get("SEAWAY_SCHEMATHESIS_EXAMPLES", "50"))
#: operations that block by design until something happens (a stream, a container's exit)
SKIP = {
    ("POST", "/containers/{id}/attach"),
    ("POST", "/containers/{id}/wait"),
    ("GET", "/containers/{id}/logs"),
    ("POST", "/exec/{id}/start"),
    ("POST", "/images/create"),  # streams an image body from the request
    ("POST", "/swarm/init"),  # starts an etcd member: tests/integration/test_cluster.py
    ("POST", "/swarm/join"),  # reaches out to a remote manager: ditto
}
#: paths where Docker's own refusal is 503 ("This node is not a swarm manager…", "…not part of a swarm")
UNAVAILABLE_BY_CONTRACT = ("/swarm", "/nodes", "/services", "/tasks")
BASE = "http://seawayd.invalid"  # routed to the unix socket by the adapter below


def _session(daemon: SeawayDaemon) -> requests.Session:
    from docker.transport import UnixHTTPAdapter

    session = requests.Session()
    session.mount(BASE, UnixHTTPAdapter(f"http+unix://{daemon.socket}", timeout=10))
    return session


def test_generated_requests_get_no_server_error_and_leave_nothing_half_made(seawayd: SeawayDaemon) -> None:
    session = _session(seawayd)
    spec = session.get(f"{BASE}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    calls = 0
    start = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def exercise(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            try:
                response = case.call(base_url=BASE, session=session, timeout=10)
            except requests.exceptions.RequestException as exc:
                failures.append(f"{case.method} {case.formatted_path}: no answer ({exc.__class__.__name__})")
                return
            if response.status_code == 503 and case.operation.path.startswith(UNAVAILABLE_BY_CONTRACT):
                return
            if response.status_code >= 500 and response.status_code != 501:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r:.200}: {response.status_code} {response.text[:200]}"
                )

        exercise()
    print(f"schemathesis: {calls} requests in {time.monotonic() - start:.0f} s")
    assert failures == [], "\n".join(failures[:30])
    assert seawayd.ping()
    status, body = seawayd.request("GET", "/seaway/system/doctor")
    assert status == 200 and body["Findings"] == []
