"""A DriftPolicy end to end with the real operator and kubectl: examples/driftpolicy-*.yaml applied
as a user applies them, its reference in a ConfigMap (columnar observations), a serving pod whose
drift agent (a stand-in speaking the agent's HTTP contract, docs/drift-agent.md) reports drifted
summaries, and the status, the report ConfigMap and the retraining Job read back with kubectl.
"""
import base64
import glob
import http.server
import json
import os
import random
import struct
import threading

import pytest

from conftest import ROOT, Operator, Sim, condition, free_port, get_json, wait_for

FEATURES = {"brightness": "numerical", "object_count": "numerical", "scene": "categorical"}


def kll_sketch(values, k=400):
    """An exact KLL sketch (one level, every value) in `KLLSketch.serialized()`'s layout:
    "KLL1", k, count, min, max, coin state, level count, then each level's size and values."""
    out = b"KLL1" + struct.pack("<IQdd", k, len(values), min(values), max(values))
    out += struct.pack("<QI", 0x9E3779B97F4A7C15, 1) + struct.pack("<I", len(values))
    out += b"".join(struct.pack("<d", v) for v in values)
    return base64.b64encode(out).decode()


def draws(rng, n, shift=0.0, scene_bias=0.0):
    return {
        "brightness": [rng.gauss(0.5 + shift, 0.1) for _ in range(n)],
        "object_count": [float(rng.randint(0, 40)) for _ in range(n)],
        "scene": [("street" if u < 0.5 + scene_bias else "highway" if u < 0.8 + scene_bias / 2 else "parking")
                  for u in (rng.random() for _ in range(n))],
    }


def summary_report(columns, source="detector-7f9c-abcde"):
    """A `DriftSummaryReport` as `GET /v1/summaries` returns it."""
    features = {}
    for name, values in columns.items():
        if FEATURES[name] == "numerical":
            features[name] = {"type": "numerical", "count": len(values), "sketch": kll_sketch(values)}
        else:
            counts = {}
            for v in values:
                counts[v] = counts.get(v, 0) + 1
            features[name] = {"type": "categorical", "count": len(values), "counts": counts}
    return {"apiVersion": "edgeml.io/drift-summary/v1", "source": source, "start": 0, "end": 600, "features": features}


class Agent:
    """The drift agent's `GET /v1/summaries` on loopback, answering with `self.report` (503 while
    it is None), and files to fetch (`self.files`, path → bytes); any other path 404."""

    def __init__(self, port):
        agent = self
        self.report = None
        self.files = {}
        self.queries = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                agent.queries.append(self.path)
                path = self.path.split("?")[0]
                if path == "/v1/summaries":
                    body, code = (b"", 503) if agent.report is None else (json.dumps(agent.report).encode(), 200)
                else:
                    body, code = (agent.files[path], 200) if path in agent.files else (b"not found", 404)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests(self, path):
        """How many GETs `path` got (any query)."""
        return sum(1 for q in self.queries if q.split("?")[0] == path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def serving_pod(sim, name="detector-7f9c-abcde"):
    """A Ready serving pod of the model `detector` at 127.0.0.1: its agent is the stand-in on loopback."""
    sim.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"edgeml.io/model": "detector", "app.kubernetes.io/managed-by": "edgeml-operator"}},
        "spec": {"containers": [{"name": "serving", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"}]}}))
    sim.kubectl("patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"phase": "Running", "podIP": "127.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}}))


@pytest.fixture(scope="module")
def cluster():
    sim = Sim()
    sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
    sim.kubectl("wait", "--for=condition=Established", "crd/driftpolicies.edgeml.io", "--timeout=20s")
    # One Orin NX node, as the node agent labels it, so the example model is placed.
    sim.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "orin-nx-0", "labels": {
            "kubernetes.io/hostname": "orin-nx-0", "edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/l4t": "36.4.3",
            "edgeml.io/tensorrt": "10.3.0", "edgeml.io/gpu.arch": "sm_87", "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "15000"}}}))
    sim.kubectl("patch", "node", "orin-nx-0", "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"conditions": [{"type": "Ready", "status": "True"}], "allocatable": {"nvidia.com/gpu": "1"}}}))
    port = free_port()
    agent = Agent(port)
    operator = Operator(sim, "--drift-agent-port", str(port))
    yield sim, agent
    operator.stop()
    agent.stop()
    sim.stop()


get = get_json


def test_an_example_driftpolicy_detects_drift_and_starts_a_retraining_job(cluster):
    sim, agent = cluster
    rng = random.Random(7)
    sim.kubectl("apply", "-f", os.path.join(ROOT, "examples", "edgemodel-orin-nx-fp16.yaml"))
    # The reference the example names: columnar observations, as a data scientist exports them.
    reference = json.dumps({"features": draws(rng, 300)})
    sim.kubectl("create", "configmap", "detector-reference", f"--from-literal=reference.json={reference}")
    serving_pod(sim)
    # Drifted brightness and scene: 2 of 3 features, share ≥ 0.5.
    agent.report = summary_report(draws(rng, 600, shift=0.2, scene_bias=0.3))
    examples = sorted(glob.glob(os.path.join(ROOT, "examples", "driftpolicy-*.yaml")))
    assert examples
    for path in examples:
        sim.kubectl("apply", "-f", path)

    policy = wait_for(lambda: (lambda p: p if condition(p, "Drifted").get("status") == "True" else None)(get(sim, "driftpolicy", "detector-drift")),
                      timeout=60)
    assert policy, json.dumps(get(sim, "driftpolicy", "detector-drift").get("status"), indent=1)
    evaluation = policy["status"]["lastEvaluation"]
    drifted = {f["name"] for f in evaluation["features"] if f["drifted"]}
    assert {"brightness", "scene"} <= drifted, evaluation
    assert evaluation["datasetDrift"] is True and evaluation["pods"] == 1 and evaluation["samples"] == 600
    assert {f["name"]: f["test"] for f in evaluation["features"]} == {"brightness": "ks", "object_count": "ks", "scene": "psi"}
    assert any(q.startswith("/v1/summaries?since=") for q in agent.queries)

    # The printer columns a user sees.
    table = sim.kubectl("get", "dpol", "detector-drift").stdout
    assert "detector" in table and "True" in table, table

    # The report a retraining Job mounts, and the Job with the model's lineage.
    report = json.loads(get(sim, "configmap", "detector-drift-drift-report")["data"]["report.json"])
    assert report["datasetDrift"] is True and report["model"]["name"] == "detector"
    job = wait_for(lambda: get(sim, "job", "detector-drift-retrain-1"), timeout=30)
    assert job, sim.kubectl("get", "jobs", check=False).stdout
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["EDGEML_MODEL_NAME"] == "detector" and env["EDGEML_DRIFT_POLICY"] == "detector-drift"
    assert env["EDGEML_DRIFT_REPORT"] == "/etc/edgeml/drift/report.json"
    assert {"name": "edgeml-drift-report", "mountPath": "/etc/edgeml/drift", "readOnly": True} in container["volumeMounts"]
    status = get(sim, "driftpolicy", "detector-drift")["status"]
    assert status["retrainCount"] == 1 and status["lastRetrainJob"] == "detector-drift-retrain-1"
    assert condition(get(sim, "driftpolicy", "detector-drift"), "RetrainingTriggered")["status"] == "True"
    events = json.loads(sim.kubectl("get", "events", "-o", "json").stdout)["items"]
    assert any(e.get("reason") == "DriftDetected" for e in events), [e.get("reason") for e in events]
    # The baseline example waits for its first hour before it decides anything.
    baseline = wait_for(lambda: condition(get(sim, "driftpolicy", "detector-baseline"), "Drifted"), timeout=30)
    assert baseline.get("status") == "Unknown" and baseline.get("reason") == "BaselineCollecting", baseline


def test_the_serving_workloads_carry_the_drift_agent_sidecar(cluster):
    sim, _ = cluster
    def sidecar():
        for d in get(sim, "deployments", "-l", "edgeml.io/model=detector").get("items", []):
            for c in d["spec"]["template"]["spec"]["containers"]:
                if c["name"] == "drift-agent":
                    return c
        return None
    agent = wait_for(sidecar, timeout=30)
    assert agent, json.dumps(get(sim, "deployments"), indent=1)[:2000]
    args = agent["args"]
    assert agent["command"] == ["edgeml"]
    assert args[:5] == ["drift-agent", "--port", "9470", "--host", "$(POD_IP)"], args
    assert "brightness:numerical" in args and "scene:categorical" in args and "--keep-samples" not in args
    assert agent["ports"][0]["name"] == "drift" and agent["ports"][0]["containerPort"] == 9470
    assert agent["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "drift"}
