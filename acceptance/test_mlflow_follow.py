"""An EdgeModel that follows an MLflow alias, end to end on EdgeSim: a real `mlflow server` holds the
model files, the real operator resolves the alias and pins each version's sha256, and the kubelet
runs the real `edgeml-engine` in each pod's init container, which fetches the version from MLflow
and checks it against that digest before building (docs/mlflow.md, "Pinning").
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest

from conftest import EDGEML, ROOT, Sim, free_port, terminate, wait_for
from onnx_fixture import model as onnx_model


def mlflow_program():
    """`mlflow` on PATH, else in scripts/setup.sh's fetch-tools venv (where the Swift tests look too)."""
    tools = os.environ.get("EDGEML_FETCH_TOOLS", os.path.expanduser("~/.cache/edgeml-operator/fetch-tools"))
    venv = os.path.join(tools, "bin", "mlflow")
    return shutil.which("mlflow") or (venv if os.access(venv, os.X_OK) else None)


pytestmark = pytest.mark.skipif(mlflow_program() is None, reason="mlflow is not installed (scripts/setup.sh installs it)")


class Tracking:
    """A tracking server spoken to through MLflow's REST API, as a retraining Job would."""

    def __init__(self, directory):
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.log = open(os.path.join(directory, "mlflow.log"), "w")
        self.proc = subprocess.Popen([mlflow_program(), "server", "--host", "127.0.0.1", "--port", port, "--workers", "1",
                                      "--backend-store-uri", f"sqlite:///{directory}/mlflow.db",
                                      "--artifacts-destination", f"{directory}/artifacts"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
                                     start_new_session=True)
        assert wait_for(self.healthy, timeout=120), open(os.path.join(directory, "mlflow.log")).read()[-3000:]

    def healthy(self):
        try:
            return urllib.request.urlopen(self.url + "/health", timeout=2).status == 200
        except OSError:
            return False

    def call(self, method, path, body=None, content_type="application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def register(self, name, data):
        """Uploads `data` as a run's model/model.onnx and registers that folder as a new version of `name`."""
        run = self.call("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "0"})["run"]["info"]
        folder = run["artifact_uri"][len("mlflow-artifacts:"):].strip("/")
        self.call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{folder}/model/model.onnx", data, "application/octet-stream")
        try:
            self.call("POST", "/api/2.0/mlflow/registered-models/create", {"name": name})
        except urllib.error.HTTPError as e:
            assert json.loads(e.read()).get("error_code") == "RESOURCE_ALREADY_EXISTS"
        created = self.call("POST", "/api/2.0/mlflow/model-versions/create",
                            {"name": name, "source": run["artifact_uri"] + "/model", "run_id": run["run_id"]})
        return created["model_version"]["version"]

    def set_alias(self, name, alias, version):
        self.call("POST", "/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias, "version": version})

    def stop(self):
        terminate(self.proc)
        self.log.close()


EDGEMODEL = """
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {name: detector}
spec:
  model:
    uri: mlflow://detector@champion
    follow: {mode: update, interval: 2s}
  engine: {precision: fp16}
  placement: {jetson: {l4t: ">=36.2"}, replicas: 2}
  serving: {image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}
"""


@pytest.fixture(scope="module")
def setup():
    directory = tempfile.mkdtemp(prefix="edgeml-mlflow-")
    mlflow = Tracking(directory)
    sim = operator = log = None
    try:
        sim = Sim("--nodes", "orin-nx-16gb=2", "--speed", "0.002", "--no-pod-metrics", edgesim=True)
        sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
        # The engine builds reach MLflow through the Secret every model's init container reads.
        sim.kubectl("create", "secret", "generic", "edgeml-source-credentials", f"--from-literal=MLFLOW_TRACKING_URI={mlflow.url}")
        log = open(os.path.join(sim.dir, "operator.log"), "w")
        operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", sim.kubeconfig, "--metrics-bind-address", "0", "--health-port", "0"],
                                    stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_TRACKING_URI": mlflow.url})
        yield mlflow, sim
    finally:
        if operator:
            terminate(operator)
            log.close()
        if sim:
            sim.stop()
        mlflow.stop()
        shutil.rmtree(directory, ignore_errors=True)


def engine_digests(sim, model="detector", track=None):
    """The --model-digest of every pod's engine init container (of one track: `stable` or `candidate`)."""
    pods = json.loads(sim.kubectl("get", "pods", "-l", f"edgeml.io/model={model}", "-o", "json").stdout)["items"]
    digests = set()
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if track and pod["metadata"]["labels"].get("edgeml.io/track", "stable") != track:
            continue
        args = next(c for c in pod["spec"]["initContainers"] if c["name"] == "engine")["args"]
        digests.add(args[args.index("--model-digest") + 1] if "--model-digest" in args else None)
    return digests


def status(sim, model="detector"):
    return json.loads(sim.kubectl("get", "edgemodel", model, "-o", "json").stdout).get("status", {})


def test_a_followed_alias_builds_its_engines_checked_against_the_pinned_digest_and_follows_a_move(setup):
    mlflow, sim = setup
    v1, v2 = onnx_model(salt="mlflow-v1"), onnx_model(salt="mlflow-v2")
    assert mlflow.register("detector", v1) == "1" and mlflow.register("detector", v2) == "2"
    mlflow.set_alias("detector", "champion", "1")
    pin1, pin2 = ("sha256:" + hashlib.sha256(b).hexdigest() for b in (v1, v2))

    sim.kubectl("apply", "-f", "-", input=EDGEMODEL)
    r = sim.kubectl("wait", "--for=condition=Ready", "edgemodel/detector", "--timeout=120s", check=False, timeout=130)
    assert r.returncode == 0, sim.kubectl("describe", "edgemodel", "detector").stdout
    s = status(sim)
    assert s["follow"]["servingVersion"] == "1" and s["follow"]["servingDigest"] == pin1
    assert s["currentVersion"] == "1" and all(e["state"] == "Built" for e in s["engines"])
    assert engine_digests(sim) == {pin1}
    # The engine fetched the version from MLflow and checked it before building.
    pods = json.loads(sim.kubectl("get", "pods", "-l", "edgeml.io/model=detector", "-o", "json").stdout)["items"]
    logs = [sim.kubectl("logs", p["metadata"]["name"], "-c", "engine").stdout for p in pods]
    assert all("Engine in place" in log for log in logs) and any("Model fetched" in log for log in logs), logs

    # A retraining moves the alias: the pods roll to version 2, built from MLflow's file, checked against its digest.
    mlflow.set_alias("detector", "champion", "2")
    moved = wait_for(lambda: (lambda s: s.get("currentVersion") == "2" and s.get("phase") == "Ready"
                              and s.get("follow", {}).get("servingDigest") == pin2)(status(sim)), timeout=120)
    assert moved, sim.kubectl("describe", "edgemodel", "detector").stdout
    assert wait_for(lambda: engine_digests(sim) == {pin2}, timeout=60), engine_digests(sim)
    # spec.model is as it was applied: the pins live in the status only (GitOps sees no drift).
    spec = json.loads(sim.kubectl("get", "edgemodel", "detector", "-o", "json").stdout)["spec"]["model"]
    assert "digest" not in spec and spec["uri"] == "mlflow://detector@champion"


ROLLOUT = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {name: lane-v2}
spec:
  modelRef: {name: lane}
  candidate: {model: {uri: "mlflow://lane/2", version: "2"}}
  strategy: {canary: {steps: [{setWeight: 50}, {setWeight: 100}]}}
"""


def test_a_rollout_candidate_named_by_an_mlflow_version_without_a_digest_is_built_checked_and_promoted(setup):
    mlflow, sim = setup
    v1, v2 = onnx_model(salt="lane-v1"), onnx_model(salt="lane-v2")
    assert mlflow.register("lane", v1) == "1" and mlflow.register("lane", v2) == "2"
    pin1, pin2 = ("sha256:" + hashlib.sha256(b).hexdigest() for b in (v1, v2))
    # The two simulated GPUs go to this test's model.
    sim.kubectl("delete", "edgemodel", "detector", "--ignore-not-found", "--wait=true", "--timeout=60s")
    assert wait_for(lambda: not json.loads(sim.kubectl("get", "pods", "-l", "edgeml.io/model=detector", "-o", "json").stdout)["items"], timeout=60)
    sim.kubectl("apply", "-f", "-", input=EDGEMODEL.replace("name: detector", "name: lane")
                .replace("uri: mlflow://detector@champion", "uri: mlflow://lane/1").replace("    follow: {mode: update, interval: 2s}\n", ""))
    r = sim.kubectl("wait", "--for=condition=Ready", "edgemodel/lane", "--timeout=120s", check=False, timeout=130)
    assert r.returncode == 0, sim.kubectl("describe", "edgemodel", "lane").stdout
    assert engine_digests(sim, "lane") == {pin1}

    # The candidate is named as a version only (as a retraining Job may report it): the operator pins
    # it, the real edgeml-engine fetches version 2 from MLflow and checks it; the canary promotes it.
    sim.kubectl("apply", "-f", "-", input=ROLLOUT)
    def rollout():
        return json.loads(sim.kubectl("get", "rollout", "lane-v2", "-o", "json").stdout)
    assert wait_for(lambda: engine_digests(sim, "lane", track="candidate") == {pin2}, timeout=120), sim.kubectl("describe", "edgemodel", "lane").stdout
    done = wait_for(lambda: rollout().get("status", {}).get("phase") == "Promoted", timeout=240)
    assert done, json.dumps(rollout().get("status"), indent=1) + sim.kubectl("describe", "edgemodel", "lane").stdout
    assert wait_for(lambda: (lambda s: s.get("currentVersion") == "2" and s.get("phase") == "Ready")(status(sim, "lane")), timeout=120)
    assert wait_for(lambda: engine_digests(sim, "lane", track="stable") == {pin2}, timeout=60), engine_digests(sim, "lane")
    assert {"uri": "mlflow://lane/2", "digest": pin2} in status(sim, "lane").get("pins", [])
    # The Rollout's spec is as it was applied: no digest written into it.
    assert "digest" not in rollout()["spec"]["candidate"]["model"]
