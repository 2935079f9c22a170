"""`edgeml operator` against `edgeml sim`, observed with the real kubectl: status is written, a
steady cluster sees no writes, a SIGKILLed operator restarted converges, and of two replicas with
leader election exactly one leads, with failover after the lease expires."""
import datetime
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import EDGEML, ROOT, Sim


def start_operator(sim, *args):
    log = open(os.path.join(sim.dir, f"operator-{time.monotonic_ns()}.log"), "w")
    ports = [] if "--health-port" in args else ["--metrics-bind-address", "0", "--health-port", "0"]
    return subprocess.Popen([EDGEML, "operator", "--kubeconfig", sim.kubeconfig, *ports, *args], stdout=log, stderr=subprocess.STDOUT)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def edgemodel_status(sim, name):
    r = sim.kubectl("get", "edgemodel", name, "-o", "json", check=False)
    return json.loads(r.stdout).get("status", {}) if r.returncode == 0 else {}


def acknowledged(sim, name, generation):
    s = edgemodel_status(sim, name)
    types = {c["type"]: c for c in s.get("conditions", [])}
    # Every generation gets the four conditions, each stamped with the generation it describes.
    return (s.get("observedGeneration") == generation and set(types) == {"Scheduled", "EngineReady", "Available", "Ready"}
            and all(c.get("observedGeneration") == generation for c in types.values()))


def global_resource_version(sim):
    out = sim.kubectl("get", "--raw", "/api/v1/namespaces").stdout
    return int(json.loads(out)["metadata"]["resourceVersion"])


@pytest.fixture(scope="module")
def crd_sim(sim):
    sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
    sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
    return sim


def model(name, version="1"):
    return f"""
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {{name: {name}}}
spec:
  model: {{uri: "oci://registry.example.com/{name}:{version}", version: "{version}"}}
  serving: {{image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}}
"""


def test_status_follows_generation_and_a_steady_cluster_sees_no_writes(crd_sim):
    op = start_operator(crd_sim)
    try:
        crd_sim.kubectl("apply", "-f", "-", input=model("steady"))
        assert wait_for(lambda: acknowledged(crd_sim, "steady", 1))
        crd_sim.kubectl("apply", "-f", "-", input=model("steady", version="2"))
        assert wait_for(lambda: acknowledged(crd_sim, "steady", 2))
        # The operator's Events (they follow the status write that caused them).
        assert wait_for(lambda: all(t in crd_sim.kubectl("describe", "edgemodel", "steady").stdout
                                    for t in ("NoEligibleNodes", "Scheduled=False: 0/")))
        time.sleep(1)
        before = global_resource_version(crd_sim)
        time.sleep(4)
        assert global_resource_version(crd_sim) == before, "the operator wrote while nothing changed"
    finally:
        op.terminate()
        op.wait(timeout=15)


def test_a_sigkilled_operator_restarted_converges(crd_sim):
    op = start_operator(crd_sim)
    crd_sim.kubectl("apply", "-f", "-", input=model("before-kill"))
    assert wait_for(lambda: acknowledged(crd_sim, "before-kill", 1))
    op.send_signal(signal.SIGKILL)
    op.wait()
    crd_sim.kubectl("apply", "-f", "-", input=model("while-down"))
    crd_sim.kubectl("apply", "-f", "-", input=model("before-kill", version="2"))
    op = start_operator(crd_sim)
    try:
        assert wait_for(lambda: acknowledged(crd_sim, "while-down", 1) and acknowledged(crd_sim, "before-kill", 2))
    finally:
        op.terminate()
        op.wait(timeout=15)


def jetson_nodes(sim, names):
    """Registers Ready Jetson nodes (one GPU each) on the bare emulator, as the node agent and the
    kubelet would label and report them."""
    for name in names:
        sim.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/l4t": "36.4.3",
            "edgeml.io/tensorrt": "10.3.0", "edgeml.io/gpu.arch": "sm_87", "edgeml.io/memory.mib": "15000"}}}))
        sim.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": {
            "conditions": [{"type": "Ready", "status": "True"}], "allocatable": {"nvidia.com/gpu": "1"}}}))


def owned_objects(sim, model_prefix):
    """`kind/name` of every Deployment and Service the operator made for the models whose names start
    with `model_prefix`, with the uids they name as owners."""
    out = {}
    for kind in ("deployments", "services"):
        r = sim.kubectl("get", kind, "-l", "app.kubernetes.io/managed-by=edgeml-operator", "-o", "json")
        for item in json.loads(r.stdout)["items"]:
            if item["metadata"].get("labels", {}).get("edgeml.io/model", "").startswith(model_prefix):
                out[f"{kind}/{item['metadata']['name']}"] = [o["uid"] for o in item["metadata"].get("ownerReferences", [])]
    return out


def test_models_deleted_while_the_operator_is_killed_at_random_leave_nothing_behind(crd_sim):
    import random
    rng = random.Random(20)
    jetson_nodes(crd_sim, ["nx-a", "nx-b", "nx-c"])
    op = start_operator(crd_sim)
    try:
        crd_sim.kubectl("apply", "-f", "-", input="---".join(model(f"gone-{i}") for i in range(20)))
        assert wait_for(lambda: len(owned_objects(crd_sim, "gone-")) >= 10)   # the operator is at work
        for i in range(20):
            if rng.random() < 0.35:                               # killed mid-work, no clean shutdown
                op.send_signal(signal.SIGKILL)
                op.wait()
                op = start_operator(crd_sim)
            crd_sim.kubectl("delete", "edgemodel", f"gone-{i}", "--wait=false")
        # Once the operator has caught up, nothing it made is left, and nothing comes back.
        assert wait_for(lambda: owned_objects(crd_sim, "gone-") == {}, timeout=30), owned_objects(crd_sim, "gone-")
        names = {m["metadata"]["name"] for m in json.loads(crd_sim.kubectl("get", "edgemodels", "-o", "json").stdout)["items"]}
        assert not any(n.startswith("gone-") for n in names)
        steady = global_resource_version(crd_sim)
        time.sleep(2)
        assert owned_objects(crd_sim, "gone-") == {}
        assert global_resource_version(crd_sim) == steady
    finally:
        op.terminate()
        op.wait(timeout=15)
        crd_sim.kubectl("delete", "node", "nx-a", "nx-b", "nx-c")


def lease(sim):
    r = sim.kubectl("get", "lease", "edgeml-operator-leader", "-n", "edgeml-system", "-o", "json", check=False)
    return json.loads(r.stdout)["spec"] if r.returncode == 0 else {}


def lease_holder(sim):
    return lease(sim).get("holderIdentity")


def micro_time(text):
    """Seconds since the epoch of a metav1.MicroTime ("2026-12-06T10:00:00.123456Z")."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def test_two_replicas_one_leader_and_failover(crd_sim):
    crd_sim.kubectl("apply", "-f", "-", input='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"edgeml-system"}}')
    timing = ["--leader-elect", "--lease-duration-seconds", "4", "--renew-deadline-seconds", "3", "--retry-period-seconds", "1"]
    a = start_operator(crd_sim, *timing, "--identity", "replica-a")
    b = None
    try:
        assert wait_for(lambda: lease_holder(crd_sim) == "replica-a")
        b = start_operator(crd_sim, *timing, "--identity", "replica-b")
        # While a renews, b never takes the lease: two renewals of a's seen with b running, and no
        # transition counted.
        first = lease(crd_sim)["renewTime"]
        assert wait_for(lambda: lease(crd_sim)["renewTime"] != first)
        second = lease(crd_sim)["renewTime"]
        assert wait_for(lambda: lease(crd_sim)["renewTime"] != second)
        held = lease(crd_sim)
        assert held["holderIdentity"] == "replica-a" and held.get("leaseTransitions", 0) == 0
        crd_sim.kubectl("apply", "-f", "-", input=model("led"))
        assert wait_for(lambda: acknowledged(crd_sim, "led", 1))
        a.send_signal(signal.SIGKILL)                          # no release: b must wait for expiry
        a.wait()
        last_renew = micro_time(lease(crd_sim)["renewTime"])
        assert wait_for(lambda: lease_holder(crd_sim) == "replica-b", timeout=15)
        taken = lease(crd_sim)
        # b took it only once a's last renewal was a lease duration old, and the hand-over is counted.
        assert micro_time(taken["acquireTime"]) >= last_renew + 4
        assert taken["leaseTransitions"] == 1
        crd_sim.kubectl("apply", "-f", "-", input=model("after-failover"))
        assert wait_for(lambda: acknowledged(crd_sim, "after-failover", 1))
        b.terminate()                                          # clean shutdown releases the lease
        b.wait(timeout=15)
        assert wait_for(lambda: lease_holder(crd_sim) in (None, ""), timeout=5)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()


def test_health_readiness_and_metrics_endpoints(crd_sim):
    metrics, health = free_port(), free_port()
    op = start_operator(crd_sim, "--metrics-bind-address", f"127.0.0.1:{metrics}", "--metrics-secure=false", "--health-port", str(health), "--bind-address", "127.0.0.1",
                        "--log-format", "json")
    try:
        assert wait_for(lambda: http_get(health, "/readyz")[0] == 200)
        assert http_get(health, "/healthz") == (200, "ok")
        crd_sim.kubectl("apply", "-f", "-", input=model("measured"))
        assert wait_for(lambda: acknowledged(crd_sim, "measured", 1))
        status, text = http_get(metrics, "/metrics")
        assert status == 200
        assert 'edgeml_reconcile_total{controller="edgemodel",result="success"}' in text
        assert 'edgeml_api_requests_total{verb="PATCH",code="200"}' in text
        assert "edgeml_reconcile_duration_seconds_bucket" in text
        assert 'edgeml_workqueue_queue_duration_seconds_count{name="edgemodel"}' in text
    finally:
        op.terminate()
        op.wait(timeout=15)
