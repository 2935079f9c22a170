"""The closed loop end to end on EdgeSim, with the real operator (`edgeml operator`) and kubectl:
a DriftPolicy on a served model, drift commanded on the Orin NX nodes (`edgeml sim drift`), detected
from the real drift-agent sidecars, a retraining Job whose container is the real `edgeml retrain`
process, its model canaried by the policy's Rollout and promoted, and the new version's
evaluations quiet (its baseline restarted). Each stage is asserted, and their order from the Events.
"""
import json
import os
import subprocess

import pytest

from conftest import EDGEML
from test_edgemodel_e2e import Cluster, edgemodel, wait_for

POLICY = """
apiVersion: edgeml.io/v1alpha1
kind: DriftPolicy
metadata: {{name: detector-drift}}
spec:
  modelRef: {{name: detector}}
  source: {{podMetrics: {{}}}}
  reference: {{baseline: {{window: 10s}}}}
  features:
  - {{name: brightness, type: numerical, test: ks}}
  - {{name: contrast, type: numerical, test: ks}}
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
    promote:
      rollout:
        strategy: {{canary: {{steps: [{{setWeight: 50}}, {{setWeight: 100}}]}}}}
"""


@pytest.fixture(scope="module")
def cluster():
    # 2 simulated requests a second per pod at speed 0.002: 1,000 feature rows a second per agent.
    c = Cluster(pod_metrics=True, sim_args=("--background-rps", "2"))
    yield c
    c.stop()


def get(c, *args):
    r = c.sim.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def condition(obj, type_):
    return next((x for x in obj.get("status", {}).get("conditions", []) if x["type"] == type_), {})


def policy_events(c):
    """(time, reason) of the Events about the policy and its Rollout, oldest first."""
    items = get(c, "events.events.k8s.io").get("items", [])
    out = [(e.get("eventTime") or e["metadata"]["creationTimestamp"], e["regarding"]["kind"], e["reason"])
           for e in items if e.get("regarding", {}).get("name", "").startswith("detector-drift")]
    return sorted(out)


def first(events, kind, reason):
    return next((i for i, e in enumerate(events) if e[1] == kind and e[2] == reason), None)


def test_drift_is_detected_retrained_rolled_out_and_the_loop_goes_quiet(cluster):
    c = cluster
    uri, digest = c.model_file("detector-v1.onnx", salt="drift-loop-1")
    c.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", uri, digest, "1", replicas=3))
    assert wait_for(lambda: c.status("detector").get("phase") == "Ready", timeout=120), c.status("detector")
    c.sim.kubectl("apply", "-f", "-", input=POLICY.format(models=c.models))
    policy = lambda: get(c, "driftpolicy", "detector-drift")

    # The sidecars start, the baseline is captured, an evaluation finds nothing.
    quiet = wait_for(lambda: policy().get("status", {}).get("lastEvaluation", {}).get("datasetDrift") is False, timeout=120)
    assert quiet, json.dumps(policy().get("status"), indent=1)
    assert get(c, "jobs").get("items") == []

    # Drift on the Orin NX nodes only, commanded as a user does.
    subprocess.run([EDGEML, "sim", "drift", "--kubeconfig", c.sim.kubeconfig, "--model", "detector", "--feature", "brightness",
                    "--shift", "0.3", "--nodes", "edgeml.io/jetson.module=orin-nx-16gb"], check=True, capture_output=True, timeout=30)
    drifted = wait_for(lambda: condition(policy(), "Drifted").get("status") == "True", timeout=60)
    assert drifted, json.dumps(policy().get("status"), indent=1)
    evaluation = policy()["status"]["lastEvaluation"]
    flags = {f["name"]: f["drifted"] for f in evaluation["features"]}
    assert flags["brightness"] is True and evaluation["datasetDrift"] is True, evaluation
    assert all(f["pValue"] is not None for f in evaluation["features"]), evaluation

    # The retraining Job ran the real program and reported version 2; its Rollout promoted it.
    job = wait_for(lambda: (lambda j: j if condition(j, "Complete").get("status") == "True" else None)(get(c, "job", "detector-drift-retrain-1")),
                   timeout=90)
    assert job, json.dumps(get(c, "job", "detector-drift-retrain-1").get("status"), indent=1)
    logs = c.sim.kubectl("logs", "-l", "job-name=detector-drift-retrain-1").stdout
    assert "drifted brightness" in logs and "wrote version 2" in logs, logs
    rollout = wait_for(lambda: (lambda r: r if r.get("status", {}).get("phase") == "Promoted" else None)(get(c, "rollout", "detector-drift-retrain-1")),
                       timeout=120)
    assert rollout, json.dumps(get(c, "rollout", "detector-drift-retrain-1").get("status"), indent=1)
    assert rollout["spec"]["candidate"]["model"]["version"] == "2"
    assert rollout["spec"]["candidate"]["model"]["uri"].endswith("/detector-v2.onnx")
    assert wait_for(lambda: c.status("detector").get("currentVersion") == "2" and c.status("detector").get("phase") == "Ready", timeout=120)

    # Version 2 gets its own baseline, and is quiet against it though the drift goes on.
    def quiet_on_2():
        p = policy()
        baseline = get(c, "configmap", "detector-drift-baseline")
        return (condition(p, "Drifted").get("reason") == "NoDatasetDrift"
                and baseline.get("metadata", {}).get("annotations", {}).get("edgeml.io/model-version") == "2"
                and "reference.json" in baseline.get("data", {}))
    assert wait_for(quiet_on_2, timeout=120), json.dumps(policy().get("status"), indent=1)
    status = policy()["status"]
    assert status["retrainCount"] == 1 and [j["metadata"]["name"] for j in get(c, "jobs")["items"]] == ["detector-drift-retrain-1"]
    assert status["retrainJobs"][0]["phase"] == "Succeeded" and status["retrainJobs"][0]["rollout"] == "detector-drift-retrain-1"

    # The stages, in the order they happened.
    events = policy_events(c)
    order = [first(events, "DriftPolicy", "DriftDetected"), first(events, "DriftPolicy", "RetrainingTriggered"),
             first(events, "DriftPolicy", "RolloutCreated"), first(events, "Rollout", "Promoted"),
             first(events, "DriftPolicy", "BaselineRestarted")]
    assert None not in order and order == sorted(order), events
    # Quiet after the restart: no drift detected again.
    assert not any(e[2] == "DriftDetected" for e in events[order[-1]:]), events
