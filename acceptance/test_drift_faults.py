"""DriftPolicy faults with the real operator and kubectl: the operator SIGKILLed after it created a
retraining Job and before its status write landed (exactly one Job once a new operator runs), and a
reference that cannot be read (404, digest mismatch) as `kubectl describe` shows it, without a retry
storm. The agent, which also serves the reference, is test_driftpolicy.py's stand-in on loopback.
"""
import hashlib
import json
import os
import random
import signal
import threading
import time

import pytest

from conftest import ROOT, Operator, Sim, condition, free_port, get_json, wait_for
from test_driftpolicy import Agent, draws, serving_pod, summary_report
from test_faults import call

POLICY = """
apiVersion: edgeml.io/v1alpha1
kind: DriftPolicy
metadata: {{name: {name}}}
spec:
  modelRef: {{name: detector}}
  source: {{podMetrics: {{}}}}
  reference: {reference}
  features:
  - {{name: brightness, type: numerical, test: ks}}
  - {{name: object_count, type: numerical, test: ks}}
  - {{name: scene, type: categorical, test: psi, threshold: 0.2}}
  schedule: {{interval: 10m, window: 1h, minSamples: 500}}
  retraining:
    cooldown: 6h
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: Never
            containers: [{{name: train, image: registry.example.com/detector-train:1.4}}]
"""


@pytest.fixture
def cluster():
    sim = Sim()
    sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
    sim.kubectl("wait", "--for=condition=Established", "crd/driftpolicies.edgeml.io", "--timeout=20s")
    sim.kubectl("apply", "-f", os.path.join(ROOT, "examples", "edgemodel-orin-nx-fp16.yaml"))
    serving_pod(sim)
    port = free_port()
    server = Agent(port)
    yield sim, server, port
    server.stop()
    sim.stop()


def set_faults(sim, faults):
    status, _, body = call(sim, "PUT", "/edgeml.io/emulator/faults", faults)
    assert status == 200, body


def test_an_operator_killed_between_the_job_and_the_status_leaves_one_job_that_the_next_adopts(cluster):
    sim, server, port = cluster
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import config, watch
    rng = random.Random(11)
    sim.kubectl("create", "configmap", "detector-reference", f"--from-literal=reference.json={json.dumps({'features': draws(rng, 600)})}")
    server.report = summary_report(draws(rng, 600, shift=0.2, scene_bias=0.3))
    # The policy's status writes are refused: the operator's last write that lands is the Job.
    set_faults(sim, {"refuse": [{"verb": "PATCH", "resource": "driftpolicies", "subresource": "status"}]})

    # Every Job event, seen through the official client's watch from before the first operator.
    api = kubernetes.client.BatchV1Api(config.new_client_from_config(config_file=sim.kubeconfig))
    seen, first_added = [], threading.Event()
    stop = threading.Event()

    # Resumed from the last resourceVersion each time, so no event is seen twice or missed.
    start = api.list_namespaced_job("default").metadata.resource_version

    def watch_jobs():
        rv = start
        while not stop.is_set():
            for e in watch.Watch().stream(api.list_namespaced_job, "default", resource_version=rv, timeout_seconds=2):
                rv = e["object"].metadata.resource_version
                seen.append((e["type"], e["object"].metadata.name))
                if e["type"] == "ADDED":
                    first_added.set()
    watcher = threading.Thread(target=watch_jobs, daemon=True)
    watcher.start()

    first = Operator(sim, "--drift-agent-port", str(port))
    sim.kubectl("apply", "-f", "-", input=POLICY.format(name="detector-drift",
                                                        reference="{configMapRef: {name: detector-reference, key: reference.json}}"))
    assert first_added.wait(60), sim.kubectl("get", "jobs", check=False).stdout
    first.proc.send_signal(signal.SIGKILL)          # kill -9: no clean shutdown
    first.proc.wait()
    first.log.close()
    status = get_json(sim, "driftpolicy", "detector-drift").get("status", {})
    assert "lastRetrainJob" not in status and "retrainCount" not in status, status

    set_faults(sim, {})
    second = Operator(sim, "--drift-agent-port", str(port))
    try:
        adopted = wait_for(lambda: (lambda s: s if s.get("lastRetrainJob") == "detector-drift-retrain-1" else None)(
            get_json(sim, "driftpolicy", "detector-drift").get("status", {})), timeout=60)
        assert adopted and adopted["retrainCount"] == 1, get_json(sim, "driftpolicy", "detector-drift").get("status")
        assert adopted["retrainJobs"][0]["name"] == "detector-drift-retrain-1"
        # The new operator evaluated again (the old one's attempt was never recorded), found the
        # drift again, and added nothing: one Job runs (maxConcurrent 1) and cooldown began at its trigger.
        assert wait_for(lambda: condition(get_json(sim, "driftpolicy", "detector-drift"), "Drifted").get("status") == "True", timeout=30)
        time.sleep(2)
        names = [j["metadata"]["name"] for j in get_json(sim, "jobs").get("items", [])]
        assert names == ["detector-drift-retrain-1"], names
        stop.set()
        watcher.join(timeout=10)
        assert [e for e in seen if e[0] == "ADDED"] == [("ADDED", "detector-drift-retrain-1")], seen
    finally:
        stop.set()
        second.stop()


def test_a_reference_that_cannot_be_read_is_described_and_retried_with_backoff(cluster):
    sim, server, port = cluster
    rng = random.Random(12)
    reference = json.dumps({"features": draws(rng, 600)}).encode()
    server.files["/reference.json"] = reference
    server.report = summary_report(draws(rng, 600))
    digest = "sha256:" + hashlib.sha256(reference).hexdigest()
    model = get_json(sim, "edgemodel", "detector")
    operator = Operator(sim, "--drift-agent-port", str(port))
    try:
        sim.kubectl("apply", "-f", "-", input=POLICY.format(
            name="missing-reference", reference=f"{{uri: 'http://127.0.0.1:{port}/missing.json', digest: '{digest}'}}"))
        sim.kubectl("apply", "-f", "-", input=POLICY.format(
            name="wrong-digest", reference=f"{{uri: 'http://127.0.0.1:{port}/reference.json', digest: 'sha256:{'0' * 64}'}}"))

        def described(name, text):
            out = sim.kubectl("describe", "driftpolicy", name).stdout
            return out if text in out and "Warning" in out else None
        missing = wait_for(lambda: described("missing-reference", f"reference http://127.0.0.1:{port}/missing.json answered 404"), timeout=30)
        assert missing, sim.kubectl("describe", "driftpolicy", "missing-reference").stdout
        assert "ReferenceUnreadable" in missing
        wrong = wait_for(lambda: described("wrong-digest", f"does not match the policy's sha256:{'0' * 64}"), timeout=30)
        assert wrong, sim.kubectl("describe", "driftpolicy", "wrong-digest").stdout
        assert "ReferenceUnreadable" in wrong and f"digest {digest}" in wrong

        # Backoff, not a storm: tries at 0 s, 10 s, 30 s … so at most 3 fetches of each in 25 s.
        time.sleep(25)
        assert 1 <= server.requests("/missing.json") <= 3, server.queries
        assert 1 <= server.requests("/reference.json") <= 3, server.queries
        for name in ("missing-reference", "wrong-digest"):
            p = get_json(sim, "driftpolicy", name)
            assert condition(p, "Drifted")["status"] == "Unknown" and "lastEvaluation" not in p.get("status", {}), p.get("status")
        assert get_json(sim, "jobs").get("items") == []
        # The served model is as it was.
        now = get_json(sim, "edgemodel", "detector")
        assert now["spec"] == model["spec"] and now["metadata"]["generation"] == model["metadata"]["generation"]
    finally:
        operator.stop()
