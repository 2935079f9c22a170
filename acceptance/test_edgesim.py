"""`edgeml sim` with its simulated Jetson fleet, driven by kubectl."""
import json

import pytest

from conftest import Sim


@pytest.fixture(scope="module")
def fleet_sim():
    s = Sim("--nodes", "orin-nx-16gb=2,xavier-nx-8gb=1", "--speed", "0.01", "--no-pod-metrics", edgesim=True)
    yield s
    s.stop()


def test_nodes_are_listed_ready_with_jetson_facts(fleet_sim):
    nodes = json.loads(fleet_sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["orin-nx-16gb-0", "orin-nx-16gb-1", "xavier-nx-8gb-0"]
    xavier = next(n for n in nodes if n["metadata"]["name"] == "xavier-nx-8gb-0")
    assert xavier["status"]["nodeInfo"]["architecture"] == "arm64"
    assert xavier["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert {c["type"]: c["status"] for c in xavier["status"]["conditions"]}["Ready"] == "True"


def test_a_deployment_rolls_out_and_kubectl_waits_for_it(fleet_sim):
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
"""
    fleet_sim.kubectl("apply", "-f", "-", input=manifest)
    fleet_sim.kubectl("rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    pods = json.loads(fleet_sim.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    assert len(pods) == 3
    assert {p["spec"]["nodeName"] for p in pods} == {"orin-nx-16gb-0", "orin-nx-16gb-1", "xavier-nx-8gb-0"}
    fleet_sim.kubectl("delete", "deployment", "web", "--wait=true", "--timeout=60s", timeout=90)


def test_a_deleted_pods_secret_volume_leaves_the_nodes_disk(fleet_sim):
    # A kubelet removes pods/<uid>/volumes once the pod is gone (pkg/kubelet/kubelet_volumes.go,
    # cleanupOrphanedPodDirs): an engine's AES key must not stay on a Jetson after its pod.
    import os
    import time
    fleet_sim.kubectl("create", "secret", "generic", "engine-key", "--from-literal=aes.key=s3cr3t")
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: keyed}
spec:
  volumes: [{name: key, secret: {secretName: engine-key}}]
  containers: [{name: app, image: nginx:1.27, volumeMounts: [{name: key, mountPath: /keys}]}]
"""
    fleet_sim.kubectl("apply", "-f", "-", input=manifest)
    fleet_sim.kubectl("wait", "pod/keyed", "--for=condition=Ready", "--timeout=60s", timeout=90)
    uid = fleet_sim.kubectl("get", "pod", "keyed", "-o", "jsonpath={.metadata.uid}").stdout
    assert fleet_sim.sim_root
    volumes = os.path.join(fleet_sim.sim_root, "pods", uid, "volumes")
    with open(os.path.join(volumes, "key", "aes.key")) as f:
        assert f.read() == "s3cr3t"
    fleet_sim.kubectl("delete", "pod", "keyed", "--wait=true", "--timeout=60s", timeout=90)
    deadline = time.time() + 30
    while os.path.exists(volumes) and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(volumes)
    fleet_sim.kubectl("delete", "secret", "engine-key")
