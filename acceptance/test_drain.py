"""`kubectl drain` and the eviction subresource: PodDisruptionBudgets as a real cluster keeps them.

The API server admits or refuses each eviction from the budget's status
(pkg/registry/core/pod/storage/eviction.go); EdgeSim's disruption controller keeps that status
current (pkg/controller/disruption/disruption.go).
"""
import json
import subprocess
import threading
import time

import pytest

from conftest import Sim

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, volumeMounts: [{name: scratch, mountPath: /scratch}]}]
      volumes: [{name: scratch, emptyDir: {}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
"""


@pytest.fixture(scope="module")
def fleet_sim():
    s = Sim("--nodes", "orin-nx-16gb=3", "--speed", "0.01", "--no-pod-metrics", edgesim=True)
    yield s
    s.stop()


def web_pods(sim):
    return json.loads(sim.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]


def is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def wait_for(predicate, timeout=60, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_drain_empties_a_node_without_breaking_the_disruption_budget(fleet_sim):
    sim = fleet_sim
    target = "orin-nx-16gb-0"
    # Put all three replicas on the node to drain: the other two are cordoned while they start.
    # Cordoning must keep the scheduler off a node (spec.unschedulable).
    sim.kubectl("cordon", "orin-nx-16gb-1")
    sim.kubectl("cordon", "orin-nx-16gb-2")
    sim.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    sim.kubectl("rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    assert {p["spec"]["nodeName"] for p in web_pods(sim)} == {target}
    sim.kubectl("uncordon", "orin-nx-16gb-1")
    sim.kubectl("uncordon", "orin-nx-16gb-2")

    def budget():
        return json.loads(sim.kubectl("get", "pdb", "web", "-o", "json").stdout)

    wait_for(lambda: budget().get("status", {}).get("disruptionsAllowed") == 1)

    # Sample, while the drain runs, how many replicas are Ready and not being deleted.
    fewest_ready = [3]
    stop = threading.Event()

    def watch_ready():
        while not stop.is_set():
            pods = web_pods(sim)
            ready = sum(1 for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp"))
            fewest_ready[0] = min(fewest_ready[0], ready)
            time.sleep(0.1)

    sampler = threading.Thread(target=watch_ready)
    sampler.start()
    try:
        drain = sim.kubectl("drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s", timeout=150)
    finally:
        stop.set()
        sampler.join()

    out = drain.stdout + drain.stderr
    assert f"node/{target} drained" in out
    # At least one eviction was refused (429) and retried: the budget held.
    assert "Cannot evict pod as it would violate the pod's disruption budget." in out
    assert fewest_ready[0] >= 2, out

    node = json.loads(sim.kubectl("get", "node", target, "-o", "json").stdout)
    assert node["spec"].get("unschedulable") is True
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 3 and all(is_ready(p) for p in ps) else None)(web_pods(sim)))
    assert all(p["spec"]["nodeName"] != target for p in pods)

    # The status the disruption controller wrote once the replacements were Ready.
    status = wait_for(lambda: (lambda s: s if s.get("currentHealthy") == 3 and not s.get("disruptedPods") else None)(budget()["status"]))
    assert status["expectedPods"] == 3
    assert status["desiredHealthy"] == 2
    assert status["disruptionsAllowed"] == 1
    assert status["observedGeneration"] == 1
    condition = next(c for c in status["conditions"] if c["type"] == "DisruptionAllowed")
    assert (condition["status"], condition["reason"]) == ("True", "SufficientPods")
    sim.kubectl("uncordon", target)
    sim.kubectl("delete", "-f", "-", input=DEPLOYMENT)


@pytest.fixture(scope="module")
def bare_sim():
    s = Sim()
    yield s
    s.stop()


def running_pod(sim, name, app="web"):
    sim.kubectl("run", name, "--image=nginx", f"--labels=app={app}")
    status = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    sim.kubectl("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def budget(sim, name, allowed):
    sim.kubectl("create", "pdb", name, "--selector=app=web", "--max-unavailable=1")
    status = {"status": {"observedGeneration": 1, "disruptionsAllowed": allowed, "currentHealthy": 3,
                         "desiredHealthy": 2, "expectedPods": 3}}
    sim.kubectl("patch", "pdb", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def evict(sim, name):
    body = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}})
    return sim.kubectl("create", "--raw", f"/api/v1/namespaces/default/pods/{name}/eviction", "-f", "-", input=body, check=False)


def test_eviction_refused_by_a_spent_budget_and_allowed_by_one_with_room(bare_sim):
    sim = bare_sim
    running_pod(sim, "spent")
    budget(sim, "spent", 0)
    r = evict(sim, "spent")
    assert r.returncode != 0
    assert "Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget." in r.stderr
    assert sim.kubectl("get", "pod", "spent").returncode == 0

    sim.kubectl("patch", "pdb", "spent", "--subresource=status", "--type=merge", "-p", '{"status":{"disruptionsAllowed":1}}')
    r = evict(sim, "spent")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "Success"
    assert sim.kubectl("get", "pod", "spent", check=False).returncode != 0
    status = json.loads(sim.kubectl("get", "pdb", "spent", "-o", "json").stdout)["status"]
    assert status["disruptionsAllowed"] == 0
    assert "spent" in status["disruptedPods"]
    sim.kubectl("delete", "pdb", "spent")


def test_a_pod_in_two_budgets_cannot_be_evicted(bare_sim):
    sim = bare_sim
    running_pod(sim, "twice")
    budget(sim, "one", 1)
    budget(sim, "two", 1)
    r = evict(sim, "twice")
    assert r.returncode != 0
    assert "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." in r.stderr
    sim.kubectl("delete", "pdb", "one", "two")
