"""Replays recorded real-server sessions against the emulator and compares the answers field by field.

The recordings are Arnavion/k8s-openapi's test replays against real v1.36 kube-apiservers
(Tests/Fixtures/k8s-openapi-test-replays/v1-36, Apache-2.0; see Tests/Fixtures/README.md). Each file is replayed in order on a
fresh `edgeml sim`; a response matches when the status code is equal and the JSON bodies are equal
after dropping what differs on every server: uid, resourceVersion, timestamps (managedFields are
compared, their `time` dropped), pod IPs and node names, and random generateName suffixes. The
recording client sent no User-Agent, so neither does the replay (the field manager is `unknown`).
"""
import glob
import json
import os
import ssl
import urllib.request

import pytest

from conftest import FIXTURES, Sim

REPLAYS = os.path.join(FIXTURES, "k8s-openapi-test-replays", "v1-36")
IGNORED_KEYS = {"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "lastTransitionTime", "time",
                "podIP", "podIPs", "hostIP", "hostIPs", "startTime", "startedAt", "finishedAt",
                "containerID", "imageID", "nodeName", "lastProbeTime", "controller-uid",
                "batch.kubernetes.io/controller-uid", "remainingItemCount", "continue"}

# Every exchange, by file and index, is either expected to match or a known difference with its
# reason; a regression in one cannot hide behind another's fix, and a difference that starts to
# match fails too, so that it moves to EXPECTED.
EXPECTED = {
    "api_versions-list.json": {0},
    "custom_resource_definition-test.json": {0} | set(range(2, 15)),
    "job-create.json": {0, 1},
    "patch-deployment.json": {0, 1, 2, 3, 4},
}
_NO_CONTROLLERS = ("the recorded cluster ran kube-controller-manager; the replay runs the bare API server "
                   "(no Job or ReplicaSet controller)")
_KUBE_SYSTEM = "the recorded cluster's kube-system workloads (CoreDNS, kube-proxy, etcd …); a bare sim runs none"
KNOWN_DIFFERENCES = {
    ("custom_resource_definition-test.json", 1): "the real apiextensions controller had not yet written the CRD's "
        "status (Established) when this GET ran; the emulator establishes it with the create, so its status manager "
        "is already in managedFields (the next GET, #2, matches)",
    ("deployment-list.json", 0): _KUBE_SYSTEM,
    ("pod-list.json", 0): _KUBE_SYSTEM,
    ("watch_event-watch_pods.json", 0): _KUBE_SYSTEM,
    ("watch_event-watch_pods_without_initial_events.json", 0): _KUBE_SYSTEM,
    **{("job-create.json", i): _NO_CONTROLLERS + ": the Job controller's status write is the second managedFields entry"
       for i in (2, 3, 4, 5, 6, 8)},
    ("job-create.json", 7): _NO_CONTROLLERS + ": the Job's pod",
    ("job-create.json", 9): _NO_CONTROLLERS + ": the Job's pod",
    ("patch-deployment.json", 5): _NO_CONTROLLERS + ": the Deployment's pods",
}


def normalize(value):
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'recorded' if k in a else 'emulator'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items recorded, {len(b)} from emulator"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"


def parse_body(text):
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]   # a watch stream


def send(sim, token, ctx, exchange, expected_events):
    url = sim.url + exchange["request_url"]
    watching = "watch=true" in exchange["request_url"]
    if watching:
        url += "&timeoutSeconds=2"
    data = exchange["request_body"].encode() if exchange["request_body"] else None
    req = urllib.request.Request(url, data=data, method=exchange["request_method"])
    req.add_header("User-Agent", "")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Accept", "application/json")
    if exchange["request_content_type"]:
        req.add_header("Content-Type", exchange["request_content_type"])
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            status, body = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    if watching and expected_events is not None:
        lines = [l for l in body.splitlines() if l.strip()][:expected_events]
        body = "\n".join(lines)
    return status, body


def replay_all():
    files = sorted(glob.glob(os.path.join(REPLAYS, "*.json")))
    assert files, f"no replays found under {REPLAYS}"
    results = []
    for path in files:
        sim = Sim()
        try:
            token = open(sim.kubeconfig).read().split("token: ")[1].split()[0]
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            for i, exchange in enumerate(json.load(open(path))):
                recorded = parse_body(exchange["response_body"] or "")
                expected_events = len(recorded) if isinstance(recorded, list) and "watch=true" in exchange["request_url"] else None
                status, body = send(sim, token, ctx, exchange, expected_events)
                got = parse_body(body)
                diff = None
                if status != exchange["response_status_code"]:
                    diff = f"status {status} != recorded {exchange['response_status_code']}"
                else:
                    diff = first_difference(normalize(recorded), normalize(got))
                results.append((os.path.basename(path), i, exchange["request_method"], exchange["request_url"], diff))
        finally:
            sim.stop()
    return results


def test_replayed_real_server_sessions_match():
    results = replay_all()
    matched = [r for r in results if r[4] is None]
    print(f"\nreplay: {len(matched)}/{len(results)} exchanges match the recorded real-server responses")
    for f, i, method, url, diff in results:
        print(f"  {'ok  ' if diff is None else 'DIFF'} {f}#{i} {method} {url}" + ("" if diff is None else f" -- {diff}"))
    named = {(f, i) for f, indexes in EXPECTED.items() for i in indexes}
    assert not named & set(KNOWN_DIFFERENCES), "an exchange is both expected and a known difference"
    seen = {(f, i) for f, i, *_ in results}
    assert seen == named | set(KNOWN_DIFFERENCES), f"exchanges neither expected nor known: {sorted(seen - named - set(KNOWN_DIFFERENCES))}"
    regressed = [(f, i, url, diff) for f, i, _, url, diff in results if (f, i) in named and diff is not None]
    assert not regressed, f"expected to match, but differ: {regressed}"
    fixed = [(f, i, url) for f, i, _, url, diff in results if (f, i) in KNOWN_DIFFERENCES and diff is None]
    assert not fixed, f"known differences that now match (move them to EXPECTED): {fixed}"
