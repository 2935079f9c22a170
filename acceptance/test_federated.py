"""Federated retraining with the real Flower processes (docs/federated.md): a DriftPolicy with
`retraining.federated` applied with kubectl against EdgeSim and the real operator. EdgeSim runs
the SuperLink, the SuperNodes and the run Job as real `flower-superlink`, `flower-supernode` and
`flwr run` processes (flwr 1.42 from the venv scripts/setup.sh makes) on the repository's Flower
App (federated/app: linear regression in numpy on each node's own data). Drift is commanded with
`edgeml sim drift`; one SuperNode is a straggler (its ClientApp answers only after four minutes)."""
import hashlib
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import EDGEML, ROOT, Operator, Sim, condition, get_json, wait_for
from test_drift_agent import POD

FLOWER = os.environ.get("EDGEML_FLOWER", os.path.expanduser("~/.cache/edgeml-operator/flower"))
STRAGGLER = "orin-nx-16gb-2"
SLOW_SECONDS = 240

MODEL = {
    "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": {"name": "detector"},
    "spec": {"model": {"uri": "https://models.example.com/detector/3/model.onnx", "version": "3",
                       "digest": "sha256:" + "4f" * 32},
             # Served by the hand-made pod below: no node fits the model's own workload.
             "placement": {"nodeSelector": {"edgeml.io/absent": "true"}},
             "serving": {"image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"}}}

POLICY = {
    "apiVersion": "edgeml.io/v1alpha1", "kind": "DriftPolicy", "metadata": {"name": "detector-fl"},
    "spec": {
        "modelRef": {"name": "detector"},
        "source": {"podMetrics": {"path": "/metrics", "prefix": "edgeml_feature_"}},
        "reference": {"baseline": {"window": "15s"}},
        "features": [{"name": "brightness", "type": "numerical", "test": "ks"},
                     {"name": "label", "type": "categorical", "test": "chi2"}],
        "schedule": {"interval": "10s", "window": "10s", "minSamples": 50},
        "retraining": {
            "cooldown": "1h",
            "federated": {"rounds": 2, "minClients": 2, "roundTimeout": "5s",
                          "serverImage": "ghcr.io/edgeml/flower-server:1.42", "clientImage": "ghcr.io/edgeml/flower-client:1.42",
                          "nodeSelector": {"edgeml.io/jetson.module": "orin-nx-16gb"},
                          "runConfig": {"slow-nodes": STRAGGLER, "slow-seconds": str(SLOW_SECONDS)}},
            "promote": {"rollout": {"strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}}}}}}


@pytest.fixture(scope="module")
def cluster():
    if not os.access(os.path.join(FLOWER, "bin", "flower-superlink"), os.X_OK):
        pytest.fail(f"no Flower venv at {FLOWER}: run scripts/setup.sh")
    bin_dir = os.path.join(FLOWER, "bin")
    path = os.environ["PATH"]
    # The run program finds `flwr` on PATH, as in the server image.
    os.environ["PATH"] = bin_dir + os.pathsep + path
    try:
        sim = Sim("--nodes", "orin-nx-16gb=3", "--speed", "0.1", "--background-rps", "20",
                  "--executable", f"flower-superlink={bin_dir}/flower-superlink",
                  "--executable", f"flower-supernode={bin_dir}/flower-supernode",
                  "--executable", f"edgeml-federated-run={ROOT}/federated/edgeml-federated-run",
                  "--executable", f"/app={ROOT}/federated/app", edgesim=True)
    finally:
        os.environ["PATH"] = path
    sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
    sim.kubectl("wait", "--for=condition=Established", "crd/driftpolicies.edgeml.io", "--timeout=20s")
    operator = Operator(sim)
    yield sim
    operator.stop()
    ips = {p["status"].get("podIP") for p in get(sim, "pods", "-A").get("items", [])} - {None, ""}
    sim.stop()
    # flower-superlink and flower-supernode start flower-superexec children. EdgeSim signals a
    # container's whole process group, as a runtime stops its whole cgroup; this sweep is only a
    # safety net for anything left if `edgeml sim` itself ends before its containers are stopped.
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(a.startswith(bin_dir) for a in args) and any(ip in a for a in args for ip in ips):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


get = get_json


def test_drift_runs_a_federated_round_that_a_straggler_does_not_hold(cluster):
    s = cluster
    s.kubectl("apply", "-f", "-", input=json.dumps(MODEL))
    s.kubectl("apply", "-f", "-", input=POD.format(name="detector-a", node="orin-nx-16gb-0"))
    # A serving pod of the model (the operator scrapes the pods it manages), its real drift agent fed by EdgeSim's clients.
    s.kubectl("label", "pod", "detector-a", "app.kubernetes.io/managed-by=edgeml-operator")
    s.kubectl("wait", "--for=condition=Ready", "pod/detector-a", "--timeout=90s", timeout=120)
    s.kubectl("apply", "-f", "-", input=json.dumps(POLICY))

    # The Flower deployment, before any drift: one SuperLink, one SuperNode per selected Jetson.
    def flower_up():
        pods = get(s, "pods", "-l", "edgeml.io/drift-policy=detector-fl").get("items", [])
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        kinds = sorted(p["metadata"]["labels"]["edgeml.io/flower"] for p in running)
        return kinds if kinds == ["superlink", "supernode", "supernode", "supernode"] else None
    assert wait_for(flower_up, timeout=60), s.kubectl("get", "pods", "-o", "wide").stdout
    link = get(s, "pods", "-l", "edgeml.io/flower=superlink")["items"][0]["metadata"]["name"]

    def activated():
        log = s.kubectl("logs", link, check=False).stdout
        return len(set(re.findall(r"Activated node_id=(\d+)", log))) == 3
    # All three SuperNodes joined the SuperLink (the one started before the SuperLink was Ready retried).
    nodes = [p["metadata"]["name"] for p in get(s, "pods", "-l", "edgeml.io/flower=supernode")["items"]]
    assert wait_for(activated, timeout=90), "\n".join(s.kubectl("logs", n, check=False).stdout[-1500:] for n in nodes)
    assert get(s, "service", "detector-fl-superlink")["spec"]["ports"][0]["port"] == 9093
    daemonset = get(s, "daemonset", "detector-fl-supernode")
    assert daemonset["spec"]["template"]["spec"]["nodeSelector"] == {"edgeml.io/jetson.module": "orin-nx-16gb"}
    assert daemonset["metadata"]["ownerReferences"][0]["kind"] == "DriftPolicy"

    # The baseline window passes undrifted; then brightness moves on the serving node.
    baseline = wait_for(lambda: get(s, "configmap", "detector-fl-baseline"), timeout=60)
    assert baseline, json.dumps(get(s, "driftpolicy", "detector-fl").get("status"), indent=1)
    out = subprocess.run([EDGEML, "sim", "drift", "--model", "detector", "--feature", "brightness", "--shift", "2",
                          "--kubeconfig", s.kubeconfig], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr

    job = wait_for(lambda: get(s, "job", "detector-fl-retrain-1"), timeout=60)
    assert job, json.dumps(get(s, "driftpolicy", "detector-fl").get("status"), indent=1)
    submitted = time.time()
    run = job["spec"]["template"]["spec"]["containers"][0]
    assert run["command"] == ["edgeml-federated-run"]
    assert "num-server-rounds=2 min-clients=2 round-timeout=5.0" in run["args"][run["args"].index("--run-config") + 1]

    def finished():
        j = get(s, "job", "detector-fl-retrain-1")
        return j if any(c["status"] == "True" for c in j.get("status", {}).get("conditions", [])) else None
    done = wait_for(finished, timeout=SLOW_SECONDS)
    elapsed = time.time() - submitted
    pods = get(s, "pods", "-l", "job-name=detector-fl-retrain-1")["items"]
    logs = s.kubectl("logs", "job/detector-fl-retrain-1", check=False).stdout
    assert done and condition(done, "Complete").get("status") == "True", logs[-3000:]
    print(f"federated run of 2 rounds, 3 SuperNodes, one straggler: {elapsed:.1f} s from the Job's creation")
    # Both rounds aggregated the two prompt clients; the straggler was late and did not hold them.
    message = json.loads(pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["message"])
    assert [r["clients"] for r in message["rounds"]] == [2, 2], message
    assert [r["late"] for r in message["rounds"]] == [1, 1], message
    assert all(r["seconds"] < SLOW_SECONDS for r in message["rounds"]), message
    assert elapsed < SLOW_SECONDS
    # The model learned y = 2·x0 − x1 + 0.5·x2 + 0.25 from data that never left the nodes.
    assert [round(w, 1) for w in message["weights"]] == [2.0, -1.0, 0.5], message

    # The aggregated model goes the way of any retrained model: into a Rollout, digest pinned.
    rollout = wait_for(lambda: get(s, "rollout", "detector-fl-retrain-1"), timeout=30)
    assert rollout, json.dumps(get(s, "driftpolicy", "detector-fl").get("status"), indent=1)
    candidate = rollout["spec"]["candidate"]["model"]
    assert candidate == {"uri": message["uri"], "digest": message["digest"]}
    # The file the ServerApp wrote in the SuperLink pod's volume is the model the digest names.
    path = candidate["uri"].removeprefix("file://")
    with open(path, "rb") as f:
        assert "sha256:" + hashlib.sha256(f.read()).hexdigest() == candidate["digest"]
    status = get(s, "driftpolicy", "detector-fl")["status"]
    assert status["retrainJobs"][0]["phase"] == "Succeeded" and status["retrainJobs"][0]["rollout"] == "detector-fl-retrain-1"
    # Drift persists until the new model serves: the next evaluations hold the cooldown, no second run.
    assert condition(get(s, "driftpolicy", "detector-fl"), "RetrainingTriggered")["reason"] in ("RolloutCreated", "CooldownActive")
    events = json.loads(s.kubectl("get", "events", "-o", "json").stdout)["items"]
    assert any(e.get("reason") == "RolloutCreated" for e in events), [e.get("reason") for e in events]
    assert not get(s, "job", "detector-fl-retrain-2")
