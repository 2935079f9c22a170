"""A Rollout end to end on EdgeSim with the replica-ratio router: the real operator runs the
candidate beside the stable model, moves step by step (gated on the candidate's engines), waits at
an indefinite pause for a manual gate written through the status subresource as `kubectl edgeml`
writes it, promotes, and the EdgeModel then serves the candidate. A second Rollout whose engine
cannot be built pauses with a Warning and is aborted: stable traffic is never touched.
"""
import json
import os
import subprocess

import pytest

from conftest import KUBECTL_EDGEML
from test_edgemodel_e2e import Cluster, edgemodel, wait_for

ROLLOUT = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  modelRef: {{name: {model}}}
  candidate: {{model: {{uri: "{uri}", digest: "{digest}", version: "{version}"}}}}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {{}}
      - setWeight: 100
"""


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def rollout(c, name):
    r = c.sim.kubectl("get", "rollout", name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def explain(c, name, model):
    """The Rollout's and the EdgeModel's status and the model's pods, for a failed wait."""
    pods = [(p["metadata"]["name"], p["metadata"]["labels"].get("edgeml.io/track"), p.get("status", {}).get("phase"),
             [x["type"] + "=" + x["status"] for x in p.get("status", {}).get("conditions", [])]) for p in c.pods(model)]
    return json.dumps({"rollout": rollout(c, name).get("status"), "model": c.status(model), "pods": pods}, indent=1)


def plugin(c, *args, check=True):
    """`kubectl edgeml …` run by the real kubectl, which finds the plugin on PATH."""
    env = dict(os.environ, PATH=os.path.dirname(KUBECTL_EDGEML) + os.pathsep + os.environ["PATH"], USER="acceptance")
    r = subprocess.run(["kubectl", "edgeml", *args, "--kubeconfig", c.sim.kubeconfig], capture_output=True, text=True, env=env, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl edgeml {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def request(c, name, action):
    """A manual gate, as a user gives it."""
    r = plugin(c, action, name)
    assert f"rollout.edgeml.io/{name} {action} requested" in r.stdout and "controller: Accepted" in r.stdout, r.stdout


def tracks(c, model):
    out = {"stable": [], "candidate": []}
    for p in c.pods(model):
        if p["metadata"].get("deletionTimestamp"):
            continue
        out[p["metadata"]["labels"].get("edgeml.io/track", "stable")].append(p)
    return out


def ready(pods):
    return [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]


def test_a_canary_moves_step_by_step_waits_for_resume_and_promotes(cluster):
    uri, digest = cluster.model_file("lane-v3.onnx", "v3")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("lane", uri, digest, "3", replicas=2,
                                                            extra="").replace("jetson: {l4t: \">=36.2\"}", "jetson: {modules: [orin-nx-16gb, agx-orin-64gb]}"))
    assert wait_for(lambda: cluster.status("lane").get("phase") == "Ready", timeout=120), cluster.status("lane")
    # Every node group's serving pods get a PodDisruptionBudget (default maxUnavailable 1).
    pdbs = json.loads(cluster.sim.kubectl("get", "pdb", "-l", "edgeml.io/model=lane", "-o", "json").stdout)["items"]
    assert pdbs and all(p["spec"]["maxUnavailable"] == 1 for p in pdbs)

    curi, cdigest = cluster.model_file("lane-v4.onnx", "v4")
    cluster.sim.kubectl("apply", "-f", "-", input=ROLLOUT.format(name="lane-v4", model="lane", uri=curi, digest=cdigest, version="4"))
    # Step 0 (setWeight 50) completes only once the candidate's pods are Ready; then the pause.
    def paused():
        s = rollout(cluster, "lane-v4").get("status", {})
        return s if s.get("phase") == "Paused" and s.get("currentStep") == 1 else None
    s = wait_for(paused, timeout=120)
    assert s, explain(cluster, "lane-v4", "lane")
    assert s["candidateWeight"] == 50 and s["stableWeight"] == 50 and s["pause"]["reason"] == "PauseStep"
    t = tracks(cluster, "lane")
    assert ready(t["candidate"]), "no candidate pod is Ready at weight 50"
    assert all(p["metadata"]["labels"]["edgeml.io/model-version"] == "4" for p in t["candidate"])
    # Replica ratio: one stable pod stepped aside for each Ready candidate pod, never below one.
    assert len(ready(t["stable"])) >= 1 and len(ready(t["stable"])) + len(ready(t["candidate"])) >= 2
    em = cluster.status("lane")
    assert em["candidate"]["rollout"] == "lane-v4" and em["candidate"]["weight"] == 50
    assert em["currentVersion"] == "3"

    shown = plugin(cluster, "status", "lane-v4").stdout
    assert "Phase:      Paused" in shown and "Traffic:    stable 50%, candidate 50%" in shown and "▶ 1: pause until resumed" in shown, shown
    # A gate that makes no sense now is answered, and changes nothing.
    r = plugin(cluster, "retry", "lane-v4", check=False)
    assert r.returncode == 3 and "ignored: only an aborted rollout can be retried" in r.stdout, r.stdout
    missing = plugin(cluster, "promote", "no-such-rollout", check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr, missing.stderr
    request(cluster, "lane-v4", "resume")
    done = wait_for(lambda: rollout(cluster, "lane-v4").get("status", {}).get("phase") == "Promoted", timeout=180)
    assert done, explain(cluster, "lane-v4", "lane")
    s = rollout(cluster, "lane-v4")["status"]
    assert "request" not in s and s["lastRequest"]["action"] == "resume" and s["lastRequest"]["outcome"] == "Accepted"
    assert s["lastRequest"]["requestedBy"].startswith("acceptance")
    assert s["stableWeight"] == 100 and s["candidateWeight"] == 0
    # The EdgeModel serves the candidate from its stable workloads; the candidate's go.
    assert wait_for(lambda: cluster.status("lane").get("currentVersion") == "4" and cluster.status("lane").get("phase") == "Ready", timeout=60)
    assert wait_for(lambda: tracks(cluster, "lane")["candidate"] == [], timeout=60)
    assert "candidate" not in cluster.status("lane")
    deployments = json.loads(cluster.sim.kubectl("get", "deployments", "-l", "edgeml.io/model=lane", "-o", "json").stdout)["items"]
    assert deployments and all(d["metadata"]["labels"].get("edgeml.io/track") != "candidate" for d in deployments)
    # The user's EdgeModel spec was never written by the controller.
    spec = json.loads(cluster.sim.kubectl("get", "edgemodel", "lane", "-o", "json").stdout)["spec"]
    assert spec["model"]["version"] == "3"
    reasons = {e.get("reason") for e in json.loads(cluster.sim.kubectl("get", "events", "-o", "json").stdout)["items"]
               if e["involvedObject"]["name"] == "lane-v4"}
    assert {"WeightSet", "Promoting", "Promoted"} <= reasons, reasons


def test_a_candidate_whose_engine_fails_pauses_and_abort_leaves_stable_untouched(cluster):
    before = {p["metadata"]["uid"] for p in tracks(cluster, "lane")["stable"]}
    uri, _ = cluster.model_file("lane-v5.onnx", "v5")
    cluster.sim.kubectl("apply", "-f", "-", input=ROLLOUT.format(name="lane-v5", model="lane", uri=uri, digest="sha256:" + "0" * 64, version="5"))
    s = wait_for(lambda: (lambda s: s if s.get("pause", {}).get("reason") == "CandidateFailed" else None)(
        rollout(cluster, "lane-v5").get("status", {})), timeout=120)
    assert s, explain(cluster, "lane-v5", "lane")
    assert s["phase"] == "Paused" and s["candidateWeight"] == 0 and "digest" in s["message"].lower()
    request(cluster, "lane-v5", "abort")
    assert wait_for(lambda: rollout(cluster, "lane-v5").get("status", {}).get("phase") == "Aborted", timeout=60)
    assert wait_for(lambda: tracks(cluster, "lane")["candidate"] == [], timeout=60)
    # The stable pods were never restarted, and the EdgeModel still serves version 4.
    assert {p["metadata"]["uid"] for p in tracks(cluster, "lane")["stable"]} == before
    assert cluster.status("lane").get("currentVersion") == "4"


def test_kubectl_drain_before_a_jetpack_upgrade_respects_the_models_disruption_budget(cluster):
    """An administrator drains the two Orin NX nodes one after the other: the first drain evicts
    the model's pod there (the budget allows one down), the second is refused while that pod's
    replacement has nowhere to run, so the group never loses both replicas at once."""
    cluster.sim.kubectl("delete", "edgemodel", "lane", "--ignore-not-found")
    assert wait_for(lambda: cluster.pods("lane") == [], timeout=60)
    uri, digest = cluster.model_file("guard-v1.onnx", "g1")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("guard", uri, digest, "1", replicas=2).replace(
        "jetson: {l4t: \">=36.2\"}", "jetson: {modules: [orin-nx-16gb]}"))
    assert wait_for(lambda: cluster.status("guard").get("phase") == "Ready", timeout=120), cluster.status("guard")
    nodes = sorted(p["spec"]["nodeName"] for p in cluster.pods("guard"))
    assert nodes == ["orin-nx-16gb-0", "orin-nx-16gb-1"], nodes
    [budget] = json.loads(cluster.sim.kubectl("get", "pdb", "-l", "edgeml.io/model=guard", "-o", "json").stdout)["items"]
    assert wait_for(lambda: json.loads(cluster.sim.kubectl("get", "pdb", budget["metadata"]["name"], "-o", "json").stdout)
                    .get("status", {}).get("disruptionsAllowed") == 1, timeout=30)
    try:
        cluster.sim.kubectl("drain", "orin-nx-16gb-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s", timeout=90)
        # Its replacement cannot be scheduled (the other node's GPU is taken): one pod is down,
        # which is all the budget (maxUnavailable 1) allows.
        assert wait_for(lambda: [p for p in cluster.pods("guard") if not p["spec"].get("nodeName")], timeout=30)
        r = cluster.sim.kubectl("drain", "orin-nx-16gb-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5s",
                                check=False, timeout=60)
        assert r.returncode != 0, r.stdout + r.stderr
        assert "disruption budget" in (r.stdout + r.stderr), r.stdout + r.stderr
        last = [p for p in cluster.pods("guard") if p["spec"].get("nodeName") == "orin-nx-16gb-1"]
        assert ready(last), "the last serving pod of the group was evicted"
    finally:
        cluster.sim.kubectl("uncordon", "orin-nx-16gb-0", "orin-nx-16gb-1")
    # Uncordoned, the model comes back to full strength.
    assert wait_for(lambda: cluster.status("guard").get("phase") == "Ready" and cluster.status("guard").get("readyReplicas") == 2,
                    timeout=120), cluster.status("guard")
    cluster.sim.kubectl("delete", "edgemodel", "guard")
    assert wait_for(lambda: cluster.pods("guard") == [], timeout=60)


def restart_operator(c, kill=True):
    """kill -9 the operator (no clean shutdown) and start a new one, as a node failure would."""
    if kill:
        c.operator.kill()
        c.operator.wait(timeout=15)
    c.operator = subprocess.Popen(c.operator.args, stdout=c.log, stderr=subprocess.STDOUT)


def test_a_sigkilled_operator_resumes_every_step_kind_without_repeating_or_skipping(cluster):
    uri, digest = cluster.model_file("k9-v1.onnx", "k1")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("k9", uri, digest, "1", replicas=2).replace(
        "jetson: {l4t: \">=36.2\"}", "jetson: {modules: [orin-nx-16gb]}"))
    assert wait_for(lambda: cluster.status("k9").get("phase") == "Ready", timeout=120), cluster.status("k9")
    curi, cdigest = cluster.model_file("k9-v2.onnx", "k2")
    seen = []

    def at(step, phase=None):
        s = rollout(cluster, "k9-v2").get("status", {})
        if s:
            seen.append((s.get("currentStep"), s.get("candidateWeight"), s.get("phase")))
        return s if s.get("currentStep") == step and (phase is None or s.get("phase") == phase) else None

    # Killed before it has seen the Rollout at all.
    cluster.operator.kill()
    cluster.operator.wait(timeout=15)
    cluster.sim.kubectl("apply", "-f", "-", input=ROLLOUT.format(name="k9-v2", model="k9", uri=curi, digest=cdigest, version="2"))
    restart_operator(cluster, kill=False)
    # Killed while the candidate's engine builds for the first setWeight step.
    assert wait_for(lambda: tracks(cluster, "k9")["candidate"], timeout=60), explain(cluster, "k9-v2", "k9")
    restart_operator(cluster)
    assert wait_for(lambda: at(1, "Paused"), timeout=120), explain(cluster, "k9-v2", "k9")
    # Killed at the pause; the gate is given while no operator runs, and is acted on exactly once.
    cluster.operator.kill()
    cluster.operator.wait(timeout=15)
    r = plugin(cluster, "resume", "k9-v2", "--wait", "0")
    assert "resume requested" in r.stdout
    restart_operator(cluster, kill=False)
    # Killed again while it promotes (stable workloads moving to the candidate).
    assert wait_for(lambda: rollout(cluster, "k9-v2").get("status", {}).get("promotedAt") or at(3), timeout=120), explain(cluster, "k9-v2", "k9")
    restart_operator(cluster)
    assert wait_for(lambda: at(3, "Promoted"), timeout=180), explain(cluster, "k9-v2", "k9")
    s = rollout(cluster, "k9-v2")["status"]
    assert s["lastRequest"]["action"] == "resume" and s["lastRequest"]["outcome"] == "Accepted"
    assert wait_for(lambda: cluster.status("k9").get("currentVersion") == "2", timeout=60)
    # Steps only went forward and weights only moved step by step: 0 → 50 → 100 → 0 (promoted).
    steps = [x[0] for x in seen if x[0] is not None]
    assert steps == sorted(steps), seen
    weights = [w for _, w, phase in seen if phase != "Promoted"]
    assert weights == sorted(weights) and set(weights) <= {0, 50, 100}, seen
    # Each weight was set once (an Event per weight change, none repeated by a restarted operator).
    events = [e for e in json.loads(cluster.sim.kubectl("get", "events", "-o", "json").stdout)["items"]
              if e["involvedObject"]["name"] == "k9-v2" and e.get("reason") == "WeightSet"]
    notes = [e.get("message") or e.get("note") for e in events]
    assert len(notes) == len(set(notes)) and sum(e.get("count", 1) for e in events) == len(events), notes
