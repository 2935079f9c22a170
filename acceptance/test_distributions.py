"""A MicroK8s-like cluster has no `nvidia` RuntimeClass: the API server's RuntimeClass admission
refuses the EdgeModel's pods, the ReplicaSet says why in a FailedCreate Event, and creating the
RuntimeClass (deploy/microk8s/runtimeclass.yaml) lets them start (docs/distributions.md)."""
import json
import os
import subprocess

from conftest import EDGEML, ROOT, Sim, wait_for
from test_edgemodel_e2e import edgemodel
from onnx_fixture import model as onnx_model
import hashlib


def test_microk8s_without_the_runtime_class_refuses_the_pods_until_it_exists():
    sim = Sim("--nodes", "orin-nx-16gb=1", "--speed", "0.002", "--no-pod-metrics", "--distribution", "microk8s", edgesim=True)
    log = open(os.path.join(sim.dir, "operator.log"), "w")
    operator = None
    try:
        assert sim.kubectl("get", "runtimeclass", "nvidia", check=False).returncode != 0
        sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
        operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", sim.kubeconfig, "--metrics-port", "0", "--health-port", "0"],
                                    stdout=log, stderr=subprocess.STDOUT)
        data = onnx_model(salt="distribution")
        path = os.path.join(sim.dir, "model.onnx")
        open(path, "wb").write(data)
        sim.kubectl("apply", "-f", "-", input=edgemodel("detector", "file://" + path, "sha256:" + hashlib.sha256(data).hexdigest(), "1",
                                                         replicas=1).replace("placement: {jetson: {l4t: \">=36.2\"}, replicas: 1}",
                                                                             "placement: {replicas: 1}"))

        def refused():
            events = json.loads(sim.kubectl("get", "events", "-o", "json").stdout)["items"]
            return [e for e in events if e["reason"] == "FailedCreate" and e["involvedObject"]["kind"] == "ReplicaSet"]
        assert wait_for(lambda: refused(), timeout=60), sim.kubectl("get", "events").stdout
        message = refused()[0]["message"]
        assert 'is forbidden: pod rejected: RuntimeClass "nvidia" not found' in message and message.startswith("Error creating: pods")
        assert json.loads(sim.kubectl("get", "pods", "-o", "json").stdout)["items"] == []
        rs = json.loads(sim.kubectl("get", "replicasets", "-o", "json").stdout)["items"][0]
        failure = next(c for c in rs["status"]["conditions"] if c["type"] == "ReplicaFailure")
        assert failure["status"] == "True" and failure["reason"] == "FailedCreate"

        sim.kubectl("apply", "-f", os.path.join(ROOT, "deploy", "microk8s", "runtimeclass.yaml"))
        r = sim.kubectl("wait", "--for=condition=Ready", "edgemodel/detector", "--timeout=120s", check=False, timeout=130)
        assert r.returncode == 0, sim.kubectl("describe", "edgemodel", "detector").stdout
        rs = json.loads(sim.kubectl("get", "replicasets", "-o", "json").stdout)["items"][0]
        assert not [c for c in rs["status"].get("conditions", []) if c["type"] == "ReplicaFailure"]
    finally:
        if operator:
            operator.terminate()
            operator.wait(timeout=15)
        log.close()
        sim.stop()


def test_an_unknown_distribution_is_refused():
    r = subprocess.run([EDGEML, "sim", "--distribution", "kind"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "--distribution must be k3s or microk8s" in r.stderr
