"""Canary analysis from a real Prometheus (Debian's `prometheus`, started here on loopback) scraping
EdgeSim's serving pods while simulated clients send them inference requests: a candidate whose p99
latency fails the query's condition is aborted on its own, one that passes is promoted.

EdgeSim's Triton endpoints count the requests routed to each pod and export Triton's latency
summaries (`nv_inference_request_summary_us{quantile="0.99"}`); version 2 of the model is slow
(`--variant-behaviour`), version 3 is fast.
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import EDGEML, ROOT, Sim, free_port, wait_for
from onnx_fixture import model as onnx_model
import hashlib

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="prometheus is not installed (scripts/setup.sh installs Debian's package)")


class Stack:
    """EdgeSim with inference traffic, the operator, and a Prometheus scraping the serving pods."""

    def __init__(self):
        self.sim = Sim("--nodes", "orin-nx-16gb=4", "--speed", "0.01",
                       "--traffic", "model=pace,rps=40",
                       "--variant-behaviour", "label=edgeml.io/model-version=2,latencyMs=60,p99Ms=150",
                       "--variant-behaviour", "label=edgeml.io/model-version=3,latencyMs=6,p99Ms=12,errorRate=0.05",
                       "--variant-behaviour", "label=edgeml.io/model-version=4,latencyMs=6,p99Ms=12,errorRate=0.005",
                       "--variant-behaviour", "label=edgeml.io/model-version=1,latencyMs=8,p99Ms=16",
                       "--variant-behaviour", "label=edgeml.io/model-version=5,latencyMs=12,p99Ms=24",
                       "--traffic-seed", "7", edgesim=True)
        self.sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.sim.kubectl("wait", "--for=condition=Established", "crd/rollouts.edgeml.io", "--timeout=20s")
        self.dir = self.sim.dir
        self.log = open(os.path.join(self.dir, "operator.log"), "w")
        self.operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", self.sim.kubeconfig, "--metrics-bind-address", "0",
                                          "--health-port", "0", "--workers", "2"], stdout=self.log, stderr=subprocess.STDOUT)
        # Prometheus finds the pods in a file the test keeps current (file_sd: a change is read at
        # once), labelled as the Kubernetes service discovery labels them (namespace, pod).
        self.targets = os.path.join(self.dir, "targets.json")
        with open(self.targets, "w") as f:
            f.write("[]")
        self.port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
- job_name: triton
  file_sd_configs: [{{files: ["{self.targets}"]}}]
""")
        self.prom_log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.prometheus = subprocess.Popen(["prometheus", f"--config.file={self.dir}/prometheus.yml",
                                            f"--storage.tsdb.path={self.dir}/tsdb", f"--web.listen-address=127.0.0.1:{self.port}"],
                                           stdout=self.prom_log, stderr=subprocess.STDOUT)
        self.stop_event = threading.Event()
        threading.Thread(target=self.keep_targets, daemon=True).start()

    def keep_targets(self):
        last = None
        while not self.stop_event.is_set():
            r = self.sim.kubectl("get", "pods", "-l", "edgeml.io/model=pace", "-o", "json", check=False)
            if r.returncode == 0:
                groups = [{"targets": [f"{p['status']['podIP']}:8002"],
                           "labels": {"namespace": p["metadata"]["namespace"], "pod": p["metadata"]["name"]}}
                          for p in json.loads(r.stdout)["items"] if p.get("status", {}).get("podIP")]
                text = json.dumps(groups, sort_keys=True)
                if text != last:
                    tmp = self.targets + ".tmp"
                    with open(tmp, "w") as f:
                        f.write(text)
                    os.replace(tmp, self.targets)
                    last = text
            time.sleep(0.5)

    def model_file(self, version):
        data = onnx_model(salt="pace-" + version)
        path = os.path.join(self.dir, f"pace-v{version}.onnx")
        with open(path, "wb") as f:
            f.write(data)
        return "file://" + path, "sha256:" + hashlib.sha256(data).hexdigest()

    def get(self, kind, name):
        r = self.sim.kubectl("get", kind, name, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def stop(self):
        self.stop_event.set()
        for p in (self.operator, self.prometheus):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()
        self.prom_log.close()
        self.sim.stop()


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    s.stop()


EDGEMODEL = """
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {{name: pace}}
spec:
  model: {{uri: "{uri}", digest: "{digest}", version: "1"}}
  placement: {{jetson: {{modules: [orin-nx-16gb]}}, replicas: 2}}
  serving: {{image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}}
"""

ROLLOUT = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  modelRef: {{name: pace}}
  candidate: {{model: {{uri: "{uri}", digest: "{digest}", version: "{version}"}}}}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis: {{metrics: [p99-latency]}}
      - setWeight: 100
  analysis:
    interval: 3s
    metrics:
    - name: p99-latency
      provider:
        prometheus:
          address: http://127.0.0.1:{port}
          query: max(nv_inference_request_summary_us{{quantile="0.99",{{{{candidate}}}}}}) / 1000
      successCondition: result[0] < 40    # max(...) is a vector of one value
      # The first look may come before Prometheus has scraped the candidate's first pods: one
      # inconclusive measurement (no data) is tolerated, never counted as a pass.
      count: 3
      inconclusiveLimit: 1
"""


def explain(stack, name):
    return json.dumps({"rollout": stack.get("rollout", name).get("status"), "model": stack.get("edgemodel", "pace").get("status")}, indent=1)


def test_a_slow_candidate_is_aborted_by_its_p99_from_prometheus(stack):
    uri, digest = stack.model_file("1")
    stack.sim.kubectl("apply", "-f", "-", input=EDGEMODEL.format(uri=uri, digest=digest))
    assert wait_for(lambda: stack.get("edgemodel", "pace").get("status", {}).get("phase") == "Ready", timeout=120)
    uri, digest = stack.model_file("2")
    stack.sim.kubectl("apply", "-f", "-", input=ROLLOUT.format(name="pace-v2", uri=uri, digest=digest, version="2", port=stack.port))
    s = wait_for(lambda: (lambda s: s if s.get("phase") == "Aborted" else None)(stack.get("rollout", "pace-v2").get("status", {})),
                 timeout=180)
    assert s, explain(stack, "pace-v2")
    assert s["abort"]["reason"] == "AnalysisFailed" and s["abort"]["step"] == 1, s
    # The measurement is in status, from Prometheus: a p99 far above 40 ms.
    [result] = s["analysisRuns"]
    assert result["name"] == "p99-latency" and result["phase"] == "Failed", result
    value = float(result["measurements"][-1]["value"].strip("[]"))
    assert value > 40, result
    assert s["stableWeight"] == 100 and s["candidateWeight"] == 0
    # The candidate is gone, version 1 serves.
    assert wait_for(lambda: not [p for p in json.loads(stack.sim.kubectl("get", "pods", "-l", "edgeml.io/track=candidate", "-o", "json").stdout)["items"]
                                 if not p["metadata"].get("deletionTimestamp")], timeout=60)
    assert stack.get("edgemodel", "pace")["status"]["currentVersion"] == "1"


def test_a_fast_candidate_passes_its_analysis_and_is_promoted(stack):
    uri, digest = stack.model_file("3")
    stack.sim.kubectl("apply", "-f", "-", input=ROLLOUT.format(name="pace-v3", uri=uri, digest=digest, version="3", port=stack.port))
    s = wait_for(lambda: (lambda s: s if s.get("phase") in ("Promoted", "Aborted") else None)(stack.get("rollout", "pace-v3").get("status", {})),
                 timeout=240)
    assert s and s["phase"] == "Promoted", explain(stack, "pace-v3")
    assert wait_for(lambda: stack.get("edgemodel", "pace")["status"].get("currentVersion") == "3", timeout=60)


AB_TEST = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {{name: pace-ab}}
spec:
  modelRef: {{name: pace}}
  candidate: {{model: {{uri: "{uri}", digest: "{digest}", version: "4"}}}}
  strategy:
    abTest:
      variants: [{{name: a, weight: 50}}, {{name: b, weight: 50}}]
      duration: 1h
      metric: {{name: nv_inference_request_success, kind: proportion}}
      decision: {{test: two-proportion, alpha: 0.01, minSamples: 400, autoPromote: true}}
  analysis: {{interval: 2s}}
"""


def test_an_ab_test_decides_on_the_success_rates_the_pods_count_and_promotes_the_winner(stack):
    """Version 3 fails 5 % of its requests, version 4 0.5 %: with the replica ratio each serves
    about half the simulated requests, the operator reads both sides' Triton counters, and the
    two-proportion test names version 4 the winner, which is promoted."""
    uri, digest = stack.model_file("4")
    stack.sim.kubectl("apply", "-f", "-", input=AB_TEST.format(uri=uri, digest=digest))
    s = wait_for(lambda: (lambda s: s if s.get("phase") in ("Promoted", "Aborted") else None)(stack.get("rollout", "pace-ab").get("status", {})),
                 timeout=240)
    assert s and s["phase"] == "Promoted", explain(stack, "pace-ab")
    ab = s["abTest"]
    assert ab["decision"] == "Winner" and ab["winner"] == "b", ab
    assert ab["pValue"] < 0.01 and ab["effect"] > 0, ab
    a, b = ab["variants"]
    assert a["trials"] >= 400 and b["trials"] >= 400, ab
    assert 0.92 < a["rate"] < 0.98 and b["rate"] > 0.98, ab
    assert wait_for(lambda: stack.get("edgemodel", "pace")["status"].get("currentVersion") == "4", timeout=60)


AB_LATENCY = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {{name: pace-latency}}
spec:
  modelRef: {{name: pace}}
  candidate: {{model: {{uri: "{uri}", digest: "{digest}", version: "5"}}}}
  strategy:
    abTest:
      variants: [{{name: a, weight: 50}}, {{name: b, weight: 50}}]
      duration: 1h
      metric: {{name: nv_inference_request_duration_us, kind: continuous, better: lower}}
      decision: {{test: mann-whitney, alpha: 0.01, minSamples: 8, sequential: true, autoPromote: true}}
  analysis: {{interval: 2s}}
"""


def test_an_ab_test_on_latency_keeps_the_faster_stable_model(stack):
    """Version 5 answers in about 12 ms where version 4 (stable since the test above) takes 6: each
    pod's mean latency per request over an interval, from its Triton duration and request
    counters, is one sample; the always-valid sequential test names the stable variant the winner
    and, with autoPromote, the candidate is rolled back."""
    uri, digest = stack.model_file("5")
    stack.sim.kubectl("apply", "-f", "-", input=AB_LATENCY.format(uri=uri, digest=digest))
    s = wait_for(lambda: (lambda s: s if s.get("phase") in ("Promoted", "Aborted") else None)(stack.get("rollout", "pace-latency").get("status", {})),
                 timeout=240)
    assert s and s["phase"] == "Aborted" and s["abort"]["reason"] == "ABTestLost", explain(stack, "pace-latency")
    ab = s["abTest"]
    assert ab["winner"] == "a" and ab["pValue"] < 0.01, ab
    a, b = ab["variants"]
    assert a["samples"] >= 8 and b["samples"] >= 8, ab
    # Means per request in microseconds, as Triton counts them.
    assert 4_000 < a["mean"] < 9_000 and 9_000 < b["mean"] < 16_000 and ab["effect"] > 3_000, ab
    assert stack.get("edgemodel", "pace")["status"].get("currentVersion") == "4"
