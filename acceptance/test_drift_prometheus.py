"""A DriftPolicy whose `source.prometheus` reads per-bucket counts from a real Prometheus (Debian's
`prometheus`, started here on loopback) scraping the drift-agent sidecars of EdgeSim's serving pods,
with the real operator and kubectl: quiet while nothing drifts, drift commanded on some nodes
(`edgeml sim drift`) detected through Prometheus, and Prometheus stopped → `SourceUnreachable`,
retried on the policy's schedule, never in a loop (docs/drift-policy.md, "Reading from Prometheus").
"""
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import EDGEML, free_port
from test_edgemodel_e2e import Cluster, edgemodel, wait_for

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="prometheus is not installed (scripts/setup.sh installs Debian's package)")

BOUNDS = [round(0.1 * i, 1) for i in range(1, 16)]   # 0.1 … 1.5: the simulated clients send N(0.5, 0.1)

POLICY = """
apiVersion: edgeml.io/v1alpha1
kind: DriftPolicy
metadata: {{name: detector-drift}}
spec:
  modelRef: {{name: detector}}
  source:
    prometheus:
      address: http://127.0.0.1:{port}
      query: sum by (feature, le) (increase(edgeml_drift_agent_feature_value_bucket{{namespace="$namespace"}}[$window]))
      buckets: {{brightness: {bounds}, contrast: {bounds}}}
  reference: {{baseline: {{window: 10s}}}}
  features:
  - {{name: brightness, type: numerical}}
  - {{name: contrast, type: numerical}}
  datasetDrift: {{share: 0.5}}
  schedule: {{interval: 5s, window: 10s, minSamples: 200}}
  retraining:
    cooldown: 1h
    jobTemplate:
      spec:
        backoffLimit: 0
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: train
              image: ghcr.io/edgeml/edgeml:0.1.0
              command: [edgeml]
              args: [retrain, --output-dir, "{models}", --termination-log, /dev/termination-log]
"""


class Stack:
    """EdgeSim with feature traffic and the operator (`Cluster`), and a Prometheus scraping the
    pods' drift agents (port 9470), found through a file the test keeps current (file_sd), labelled
    as Kubernetes service discovery labels them (namespace, pod)."""

    def __init__(self):
        # 2 simulated requests a second per pod at speed 0.002: 1,000 feature rows a second per agent.
        self.c = Cluster(pod_metrics=True, sim_args=("--background-rps", "2"))
        self.dir = self.c.sim.dir
        self.targets = os.path.join(self.dir, "targets.json")
        with open(self.targets, "w") as f:
            f.write("[]")
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
- job_name: drift-agents
  file_sd_configs: [{{files: ["{self.targets}"]}}]
""")
        self.prom_log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.port = None
        self.prometheus = None
        self.start_prometheus()
        self.stop_event = threading.Event()
        threading.Thread(target=self.keep_targets, daemon=True).start()

    def start_prometheus(self):
        # Another test may take a free port before Prometheus binds it: start again on another.
        for _ in range(3):
            self.port = free_port()
            self.prometheus = subprocess.Popen(["prometheus", f"--config.file={self.dir}/prometheus.yml",
                                                f"--storage.tsdb.path={self.dir}/tsdb", f"--web.listen-address=127.0.0.1:{self.port}"],
                                               stdout=self.prom_log, stderr=subprocess.STDOUT)
            if wait_for(lambda: self.ready(), timeout=30):
                return
            self.prometheus.kill()
            self.prometheus.wait()
        raise RuntimeError("prometheus did not start: " + open(self.prom_log.name).read()[-2000:])

    def ready(self):
        if self.prometheus.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def keep_targets(self):
        last = None
        while not self.stop_event.is_set():
            r = self.c.sim.kubectl("get", "pods", "-l", "edgeml.io/model=detector", "-o", "json", check=False)
            if r.returncode == 0:
                groups = [{"targets": [f"{p['status']['podIP']}:9470"],
                           "labels": {"namespace": p["metadata"]["namespace"], "pod": p["metadata"]["name"]}}
                          for p in json.loads(r.stdout)["items"]
                          if p.get("status", {}).get("podIP") and any(c["name"] == "drift-agent" for c in p["spec"]["containers"])]
                text = json.dumps(groups, sort_keys=True)
                if text != last:
                    tmp = self.targets + ".tmp"
                    with open(tmp, "w") as f:
                        f.write(text)
                    os.replace(tmp, self.targets)
                    last = text
            time.sleep(0.5)

    def policy(self):
        r = self.c.sim.kubectl("get", "driftpolicy", "detector-drift", "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def stop_prometheus(self):
        if self.prometheus.poll() is None:
            self.prometheus.terminate()
            try:
                self.prometheus.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()

    def stop(self):
        self.stop_event.set()
        self.stop_prometheus()
        self.prom_log.close()
        self.c.stop()


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    s.stop()


def condition(obj, type_):
    return next((x for x in obj.get("status", {}).get("conditions", []) if x["type"] == type_), {})


def explain(stack):
    return json.dumps(stack.policy().get("status"), indent=1)


def test_quiet_without_drift_then_drift_on_some_nodes_is_detected_through_prometheus(stack):
    c = stack.c
    uri, digest = c.model_file("detector-v1.onnx", salt="drift-prometheus-1")
    c.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", uri, digest, "1", replicas=3))
    assert wait_for(lambda: c.status("detector").get("phase") == "Ready", timeout=120), c.status("detector")
    c.sim.kubectl("apply", "-f", "-", input=POLICY.format(port=stack.port, bounds=json.dumps(BOUNDS), models=c.models))

    # The sidecars export the policy's buckets; Prometheus scrapes them.
    def agents_export_buckets():
        pods = [p for p in c.pods("detector") if not p["metadata"].get("deletionTimestamp")]
        agents = [x for p in pods for x in p["spec"]["containers"] if x["name"] == "drift-agent"]
        return agents and all("brightness=" + ",".join(str(b) for b in BOUNDS) in x["args"] for x in agents)
    assert wait_for(agents_export_buckets, timeout=90), json.dumps([p["spec"]["containers"] for p in c.pods("detector")], indent=1)

    # A baseline of version 1's traffic is captured from Prometheus (binned, as Prometheus counts), then quiet.
    quiet = wait_for(lambda: stack.policy().get("status", {}).get("lastEvaluation", {}).get("datasetDrift") is False, timeout=150)
    assert quiet, explain(stack)
    baseline = json.loads(c.sim.kubectl("get", "configmap", "detector-drift-baseline", "-o", "json").stdout)
    reference = json.loads(baseline["data"]["reference.json"])
    assert reference["features"]["brightness"]["buckets"] == BOUNDS, reference
    assert reference["features"]["brightness"]["count"] >= 200
    evaluation = stack.policy()["status"]["lastEvaluation"]
    # Over 1,000 observations in buckets: Jensen–Shannon over the buckets (Evidently's choice for categories).
    assert {f["test"] for f in evaluation["features"]} == {"jensen-shannon"}, evaluation
    assert not any(f["drifted"] for f in evaluation["features"]), evaluation
    assert c.sim.kubectl("get", "jobs", "-o", "name").stdout.strip() == ""

    # Drift on the Orin NX nodes only, commanded as a user does.
    on_orin = [p for p in c.pods("detector") if p["spec"].get("nodeName", "").startswith("orin-nx-16gb")]
    assert on_orin, "the test needs a serving pod on an Orin NX node"
    subprocess.run([EDGEML, "sim", "drift", "--kubeconfig", c.sim.kubeconfig, "--model", "detector", "--feature", "brightness",
                    "--shift", "0.3", "--nodes", "edgeml.io/jetson.module=orin-nx-16gb"], check=True, capture_output=True, timeout=30)
    assert wait_for(lambda: condition(stack.policy(), "Drifted").get("status") == "True", timeout=60), explain(stack)
    evaluation = stack.policy()["status"]["lastEvaluation"]
    flags = {f["name"]: f["drifted"] for f in evaluation["features"]}
    assert flags == {"brightness": True, "contrast": False}, evaluation
    assert wait_for(lambda: condition(stack.policy(), "RetrainingTriggered").get("reason") in ("JobCreated", "AwaitingPromotion"), timeout=30), explain(stack)


def test_prometheus_stopped_is_source_unreachable_retried_on_schedule_not_in_a_loop(stack):
    stack.stop_prometheus()
    down = wait_for(lambda: condition(stack.policy(), "Drifted").get("reason") == "SourceUnreachable", timeout=30)
    assert down, explain(stack)
    message = condition(stack.policy(), "Drifted")["message"]
    assert f"127.0.0.1:{stack.port}" in message and "did not answer" in message, message
    first = stack.policy()["status"]["attemptFailures"]
    before = stack.policy()["status"]["lastEvaluation"]
    time.sleep(12)
    status = stack.policy()["status"]
    # interval 5s: back-off 10 s, 20 s, … capped at the interval, so at most 3 attempts in 12 s.
    assert 0 <= status["attemptFailures"] - first <= 3, status
    # The last decision is kept; nothing else changed because Prometheus went away.
    assert status["lastEvaluation"] == before
    events = [e for e in json.loads(stack.c.sim.kubectl("get", "events.events.k8s.io", "-o", "json").stdout)["items"]
              if e.get("regarding", {}).get("name") == "detector-drift" and e["reason"] == "SourceUnreachable"]
    assert events and all(e["type"] == "Warning" for e in events), events
    assert [j for j in stack.c.sim.kubectl("get", "jobs", "-o", "name").stdout.split() if j] == ["job.batch/detector-drift-retrain-1"]
