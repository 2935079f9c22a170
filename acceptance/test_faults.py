"""Fault injection in `edgeml sim`: each fault happens as configured, deterministically."""
import json
import ssl
import time
import urllib.request

import pytest

from conftest import Sim


def token_of(sim):
    return open(sim.kubeconfig).read().split("token: ")[1].split()[0]


def call(sim, method, path, body=None, timeout=30):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(sim.url + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("Authorization", f"Bearer {token_of(sim)}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


@pytest.fixture
def fresh_sim():
    s = Sim()
    yield s
    s.stop()


def test_a_share_of_requests_gets_429_with_retry_after(fresh_sim):
    call(fresh_sim, "PUT", "/edgeml.io/emulator/faults", {"tooManyRequestsRate": 0.3, "retryAfterSeconds": 2, "seed": 7})
    codes = [call(fresh_sim, "GET", "/api/v1/namespaces/default/configmaps") for _ in range(200)]
    throttled = [c for c in codes if c[0] == 429]
    assert 40 <= len(throttled) <= 80          # 30% of 200, with room for the seeded draw
    assert all(c[0] in (200, 429) for c in codes)
    assert all(c[1].get("Retry-After") == "2" for c in throttled)
    assert json.loads(throttled[0][2])["reason"] == "TooManyRequests"
    # Same seed, same sequence.
    call(fresh_sim, "PUT", "/edgeml.io/emulator/faults", {"tooManyRequestsRate": 0.3, "retryAfterSeconds": 2, "seed": 7})
    again = [call(fresh_sim, "GET", "/api/v1/namespaces/default/configmaps")[0] for _ in range(200)]
    assert again == [c[0] for c in codes]


def test_500_and_503_faults(fresh_sim):
    call(fresh_sim, "PUT", "/edgeml.io/emulator/faults", {"internalErrorRate": 0.5, "unavailableRate": 0.5})
    codes = {call(fresh_sim, "GET", "/api/v1/namespaces")[0] for _ in range(50)}
    assert codes == {500, 503}
    # Discovery and health are never faulted, so clients can still find their way.
    assert call(fresh_sim, "GET", "/version")[0] == 200


def test_added_latency(fresh_sim):
    call(fresh_sim, "PUT", "/edgeml.io/emulator/faults", {"latencyMilliseconds": 300})
    t0 = time.monotonic()
    call(fresh_sim, "GET", "/api/v1/namespaces")
    assert time.monotonic() - t0 >= 0.3


def test_watch_closed_after_n_events(fresh_sim):
    for i in range(5):
        call(fresh_sim, "POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
    call(fresh_sim, "PUT", "/edgeml.io/emulator/faults", {"closeWatchAfterEvents": 3})
    status, _, body = call(fresh_sim, "GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=20")
    events = [json.loads(l) for l in body.splitlines() if l.strip()]
    assert status == 200 and len(events) == 3


def test_compaction_makes_old_watches_410(fresh_sim):
    _, _, body = call(fresh_sim, "GET", "/api/v1/namespaces/default/configmaps")
    rv = json.loads(body)["metadata"]["resourceVersion"]
    call(fresh_sim, "POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    call(fresh_sim, "POST", "/edgeml.io/emulator/compact")
    status, _, body = call(fresh_sim, "GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5")
    event = json.loads(body.splitlines()[0])
    assert event["type"] == "ERROR" and event["object"]["code"] == 410


def test_fault_flags_on_the_command_line():
    s = Sim("--fault-503-rate", "1")
    try:
        assert call(s, "GET", "/api/v1/namespaces")[0] == 503
        status, _, body = call(s, "GET", "/edgeml.io/emulator/faults")
        assert json.loads(body)["unavailableRate"] == 1
    finally:
        s.stop()


def test_bookmarks_never_overtake_events():
    """A client resuming from a bookmark's resourceVersion must not miss an event: every event after
    a bookmark has a larger resourceVersion than the bookmark."""
    import threading
    s = Sim("--bookmark-seconds", "1")
    try:
        frames = []

        def watch():
            _, _, body = call(s, "GET", "/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=4")
            frames.extend(json.loads(l) for l in body.splitlines() if l.strip())

        t = threading.Thread(target=watch)
        t.start()
        deadline = time.monotonic() + 3.5
        i = 0
        while time.monotonic() < deadline:
            call(s, "POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"b{i}"}})
            i += 1
        t.join()
        bookmarks = [f for f in frames if f["type"] == "BOOKMARK"]
        assert len(bookmarks) >= 2
        highest_bookmark = 0
        for f in frames:
            rv = int(f["object"]["metadata"]["resourceVersion"])
            if f["type"] == "BOOKMARK":
                highest_bookmark = max(highest_bookmark, rv)
            else:
                assert rv > highest_bookmark, "an event arrived after a bookmark that already covered it"
    finally:
        s.stop()
