"""The node agent keeps a node's engine cache within its budget, on EdgeSim through a series of
EdgeModel version bumps: the real operator rolls each version out, the kubelet runs the real
`edgeml-engine` (which fills the node's cache under the sim root), and `edgeml node-agent` runs with
the DaemonSet's own service account (manifests/node-agent.yaml's ClusterRole) against that node's
cache directory.
"""
import hashlib
import json
import os
import subprocess
import time
import urllib.request

import pytest
import yaml

from conftest import EDGEML, ROOT, Sim, free_port, wait_for
from onnx_fixture import model as onnx_model
from rbac_helpers import token_kubeconfig

NODE = "orin-nx-16gb-0"


class Cluster:
    def __init__(self):
        self.sim = Sim("--nodes", "orin-nx-16gb=1", "--speed", "0.002", "--no-pod-metrics", edgesim=True)
        self.sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
        self.log = open(os.path.join(self.sim.dir, "operator.log"), "w")
        self.operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", self.sim.kubeconfig, "--metrics-bind-address", "0",
                                          "--health-port", "0", "--workers", "2"], stdout=self.log, stderr=subprocess.STDOUT)
        self.agent = None
        self.models = os.path.join(self.sim.dir, "models")
        os.makedirs(self.models, exist_ok=True)
        # The node's engine cache: the EdgeModels' default hostPath on the simulated node's disk.
        self.cache = os.path.join(self.sim.sim_root, "nodes", NODE, "var", "lib", "edgeml", "engines")

    def apply_version(self, version):
        data = onnx_model(salt=f"v{version}")
        path = os.path.join(self.models, f"detector-v{version}.onnx")
        with open(path, "wb") as f:
            f.write(data)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.sim.kubectl("apply", "-f", "-", input=f"""
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {{name: detector}}
spec:
  model: {{uri: "file://{path}", digest: "{digest}", version: "{version}"}}
  engine: {{precision: fp16}}
  placement: {{replicas: 1}}
  serving: {{image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}}
""")

    def ready_on(self, version):
        """The key of `version` once the model is Ready on it with every pod serving it."""
        r = self.sim.kubectl("get", "edgemodel", "detector", "-o", "json", check=False)
        if r.returncode != 0:
            return None
        status = json.loads(r.stdout).get("status", {})
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
        if not (ready and status.get("currentVersion") == str(version) and len(status.get("engines", [])) == 1):
            return None
        pods = self.pods()
        if not pods or any(p["metadata"]["labels"].get("edgeml.io/model-version") != str(version) for p in pods):
            return None
        return status["engines"][0]["key"].removeprefix("sha256:")

    def pods(self):
        out = self.sim.kubectl("get", "pods", "-l", "edgeml.io/model=detector", "-o", "json").stdout
        return json.loads(out)["items"]

    def cached_keys(self):
        """Keys with a committed engine (plan and record) in the node's cache."""
        names = os.listdir(self.cache) if os.path.isdir(self.cache) else []
        return {n[:-5] for n in names if n.endswith(".json") and n[:-5] + ".plan" in names}

    def cache_bytes(self):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(self.cache) for f in files)

    def start_agent(self, budget):
        # The DaemonSet's namespace, service account and ClusterRole, as manifests/ ships them.
        objects = [o for o in yaml.safe_load_all(open(os.path.join(ROOT, "manifests", "node-agent.yaml"))) if o]
        rbac = [o for o in objects if o["kind"] in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding")]
        self.sim.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
        kubeconfig = token_kubeconfig(self.sim, "edgeml-node-agent", "edgeml-node-agent")
        self.metrics_port = free_port()
        self.agent_log_path = os.path.join(self.sim.dir, "node-agent.log")
        self.agent_log = open(self.agent_log_path, "w")
        self.agent = subprocess.Popen([EDGEML, "node-agent", "--fixture", "orin-nx-16gb-r36.4.3", "--node-name", NODE,
                                       "--kubeconfig", kubeconfig, "--metrics-port", str(self.metrics_port),
                                       "--bind-address", "127.0.0.1", "--cache-dir", self.cache,
                                       "--cache-budget", str(budget), "--cache-interval", "1s"],
                                      stdout=self.agent_log, stderr=subprocess.STDOUT)

    def metrics(self):
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        except OSError:
            return {}
        samples = {}
        for line in text.splitlines():
            if line.startswith("edgeml_engine_cache"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def stop(self):
        for proc in (self.agent, self.operator):
            if proc:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.log.close()
        if self.agent:
            self.agent_log.close()
        self.sim.stop()


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def test_the_cache_stays_within_budget_through_version_bumps_and_keeps_the_engine_in_use(cluster):
    cluster.apply_version(1)
    v1 = wait_for(lambda: cluster.ready_on(1))
    assert v1, cluster.sim.kubectl("describe", "edgemodel", "detector").stdout
    assert cluster.cached_keys() == {v1}
    # A budget of two and a half engines of this model: two fit, three do not.
    entry = cluster.cache_bytes()
    budget = int(entry * 2.5)
    cluster.start_agent(budget)
    m = wait_for(lambda: cluster.metrics().get("edgeml_engine_cache_entries") == 1 and cluster.metrics(), timeout=30)
    assert m, open(cluster.agent_log_path).read()
    assert m["edgeml_engine_cache_budget_bytes"] == budget and m["edgeml_engine_cache_bytes"] == cluster.cache_bytes()

    # Version 2: two engines fit, so version 1's stays although nothing names it (a rollback finds it).
    cluster.apply_version(2)
    v2 = wait_for(lambda: cluster.ready_on(2))
    assert v2 and v2 != v1
    assert wait_for(lambda: cluster.metrics().get("edgeml_engine_cache_entries") == 2, timeout=30), cluster.metrics()
    assert cluster.cached_keys() == {v1, v2}
    assert cluster.metrics()['edgeml_engine_cache_evictions_total{reason="unreferenced"}'] == 0

    # Versions 3 and 4: each time the oldest unreferenced engine goes, and while the rollout runs
    # the engine of every serving pod stays in the cache.
    history = [v1, v2]
    for version in (3, 4):
        cluster.apply_version(version)
        deadline = time.monotonic() + 120
        key = None
        while time.monotonic() < deadline and not key:
            for pod in cluster.pods():
                serving = any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))
                if serving and pod.get("metadata", {}).get("deletionTimestamp") is None:
                    in_use = pod["metadata"]["annotations"]["edgeml.io/engine-key"].removeprefix("sha256:")
                    assert in_use in cluster.cached_keys(), f"the engine of serving pod {pod['metadata']['name']} was removed"
            key = cluster.ready_on(version)
            time.sleep(0.2)
        assert key, cluster.sim.kubectl("describe", "edgemodel", "detector").stdout
        history.append(key)
        evicted = version - 2
        assert wait_for(lambda: cluster.metrics().get('edgeml_engine_cache_evictions_total{reason="unreferenced"}') == evicted,
                        timeout=30), (cluster.metrics(), open(cluster.agent_log_path).read())
        # The oldest engines went, in order; the one in use and the one before it stay.
        assert cluster.cached_keys() == set(history[-2:]), (history, cluster.cached_keys())
        assert cluster.cache_bytes() <= budget
        # The agent's gauges are from its last pass, which follows the directory by a moment: a new
        # engine written just before the eviction shows on the next one.
        m = wait_for(lambda: (lambda m: m if m.get("edgeml_engine_cache_entries") == 2 else None)(cluster.metrics()), timeout=30)
        assert m, cluster.metrics()
        assert m["edgeml_engine_cache_bytes"] <= budget and m["edgeml_engine_cache_entries"] == 2
        assert m['edgeml_engine_cache_evictions_total{reason="lru"}'] == 0

    log = open(cluster.agent_log_path).read()
    assert "forbidden" not in log.lower(), log
    assert log.count("Engine removed from the cache") == 2, log
