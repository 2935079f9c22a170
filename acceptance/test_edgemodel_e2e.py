"""EdgeModel end to end on EdgeSim: `kubectl apply` an EdgeModel, the real operator places it on the
simulated Jetson nodes that `edgeml node-agent` labelled, the kubelet runs the real `edgeml-engine`
in each pod's init container against the trtexec double, and the model becomes Ready.
"""
import hashlib
import json
import os
import subprocess
import time

import pytest

from conftest import EDGEML, ROOT, Sim, wait_for
from onnx_fixture import model as onnx_model

FLEET = "orin-nx-16gb=2,agx-orin-64gb=1,orin-nano-8gb=1,xavier-nx-8gb=1"


# The shared engine cache the EdgeModels below name (spec.engine.cache.sharedClaimName).
ENGINE_CACHE_CLAIM = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: edgeml-engine-cache}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 10Gi}}
"""


class Cluster:
    def __init__(self, fleet=FLEET, pod_metrics=False, sim_args=()):
        self.sim = Sim("--nodes", fleet, "--speed", "0.002", *([] if pod_metrics else ["--no-pod-metrics"]), *sim_args, edgesim=True)
        self.sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
        self.log = open(os.path.join(self.sim.dir, "operator.log"), "w")
        self.operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", self.sim.kubeconfig, "--metrics-bind-address", "0",
                                          "--health-port", "0", "--workers", "4"], stdout=self.log, stderr=subprocess.STDOUT)
        self.models = os.path.join(self.sim.dir, "models")
        os.makedirs(self.models, exist_ok=True)
        self.sim.kubectl("apply", "-f", "-", input=ENGINE_CACHE_CLAIM)

    def model_file(self, name, salt, data=None):
        data = data if data is not None else onnx_model(salt=salt)
        path = os.path.join(self.models, name)
        with open(path, "wb") as f:
            f.write(data)
        return "file://" + path, "sha256:" + hashlib.sha256(data).hexdigest()

    def status(self, name):
        r = self.sim.kubectl("get", "edgemodel", name, "-o", "json", check=False)
        return json.loads(r.stdout).get("status", {}) if r.returncode == 0 else {}

    def condition(self, name, type_):
        return next((c for c in self.status(name).get("conditions", []) if c["type"] == type_), {})

    def pods(self, name):
        out = self.sim.kubectl("get", "pods", "-l", f"edgeml.io/model={name}", "-o", "json").stdout
        return json.loads(out)["items"]

    def stop(self):
        self.operator.terminate()
        try:
            self.operator.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.operator.kill()
        self.log.close()
        self.sim.stop()


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def edgemodel(name, uri, digest, version, replicas=4, extra=""):
    return f"""
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {{name: {name}}}
spec:
  model: {{uri: "{uri}", digest: "{digest}", version: "{version}"}}
  engine: {{precision: fp16, cache: {{sharedClaimName: edgeml-engine-cache}}}}
  placement: {{jetson: {{l4t: ">=36.2"}}, replicas: {replicas}}}
  serving: {{image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}}
{extra}"""


def test_nodes_carry_the_node_agents_labels(cluster):
    nodes = json.loads(cluster.sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in nodes}
    assert labels["orin-nx-16gb-0"]["edgeml.io/jetson.module"] == "orin-nx-16gb"
    assert labels["orin-nx-16gb-0"]["edgeml.io/tensorrt"] == "10.3.0"
    assert labels["orin-nx-16gb-0"]["edgeml.io/gpu.arch"] == "sm_87"
    assert labels["orin-nano-8gb-0"]["edgeml.io/dla.cores"] == "0"
    assert labels["xavier-nx-8gb-0"]["edgeml.io/l4t"] == "35.6.0"
    assert labels["xavier-nx-8gb-0"]["edgeml.io/gpu.arch"] == "sm_72"
    # node-agent only adds its own keys: the kubelet's labels are still there.
    assert labels["agx-orin-64gb-0"]["kubernetes.io/hostname"] == "agx-orin-64gb-0"


def test_apply_with_kubectl_becomes_ready_with_an_engine_per_node_group(cluster):
    uri, digest = cluster.model_file("detector-v1.onnx", "v1")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", uri, digest, "1"))
    r = cluster.sim.kubectl("wait", "--for=condition=Ready", "edgemodel/detector", "--timeout=120s", check=False, timeout=130)
    assert r.returncode == 0, cluster.sim.kubectl("describe", "edgemodel", "detector").stdout
    s = cluster.status("detector")
    assert s["phase"] == "Ready" and s["readyReplicas"] == 4 and s["currentVersion"] == "1"
    groups = sorted((e["nodeGroup"]["module"], e["nodeGroup"]["tensorrt"], e["state"]) for e in s["engines"])
    assert groups == [("agx-orin-64gb", "10.3.0", "Built"), ("orin-nano-8gb", "10.3.0", "Built"), ("orin-nx-16gb", "10.3.0", "Built")]
    assert s["placement"]["eligibleNodes"] == 4 and s["placement"]["nodeGroups"] == 3
    # The Xavier NX (L4T 35.6.0) is not eligible, and the Scheduled condition says why.
    assert "1 L4T 35.6.0 < 36.2" in cluster.condition("detector", "Scheduled")["message"]
    # Each pod runs on a node of its own group: the engine it was built for.
    nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in json.loads(cluster.sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]}
    for pod in cluster.pods("detector"):
        group = pod["metadata"]["labels"]["edgeml.io/node-group"]
        assert group.startswith(nodes[pod["spec"]["nodeName"]]["edgeml.io/jetson.module"] + "-")
    # The two Orin NX nodes share one engine: one build, one cache hit from the shared cache.
    nx = next(e for e in s["engines"] if e["nodeGroup"]["module"] == "orin-nx-16gb")
    assert nx["cacheHits"] == 1 and nx["buildSeconds"] > 0
    # `kubectl logs POD -c engine` is the init container's own build log.
    built = [cluster.sim.kubectl("logs", p["metadata"]["name"], "-c", "engine").stdout for p in cluster.pods("detector")]
    assert all("Engine in place" in log for log in built), built
    assert any("Building the engine with trtexec" in log for log in built), built
    # Events follow the status writes that caused them.
    def reasons():
        return {e.get("reason") for e in json.loads(cluster.sim.kubectl("get", "events", "-o", "json").stdout)["items"]}
    assert wait_for(lambda: {"EngineBuilt", "Ready", "NodesEligible"} <= reasons(), timeout=20), reasons()


def test_a_failing_node_reschedules_its_pods_and_the_engine_is_reused(cluster):
    s = cluster.status("detector")
    keys = sorted(e["key"] for e in s["engines"])
    # Scale the NX group's Deployment to one pod so a node of its group is free for the move.
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", *cluster.model_file("detector-v1.onnx", "v1"), "1", replicas=3))
    wait_for(lambda: len([p for p in cluster.pods("detector") if not p["metadata"].get("deletionTimestamp")]) == 3)
    node = next(p["spec"]["nodeName"] for p in cluster.pods("detector") if p["spec"]["nodeName"].startswith("orin-nx-16gb"))
    other = "orin-nx-16gb-1" if node == "orin-nx-16gb-0" else "orin-nx-16gb-0"
    cluster.sim.kubectl("annotate", "node", node, "sim.edgeml.io/power=off")
    try:
        moved = wait_for(lambda: any(p["spec"].get("nodeName") == other and not p["metadata"].get("deletionTimestamp")
                                     for p in cluster.pods("detector")), timeout=120)
        assert moved, "no pod was rescheduled onto " + other
        assert wait_for(lambda: cluster.status("detector").get("phase") == "Ready", timeout=120)
        s = cluster.status("detector")
        assert sorted(e["key"] for e in s["engines"]) == keys   # the same engines, no new plan
        pod = next(p for p in cluster.pods("detector") if p["spec"].get("nodeName") == other)
        engine = next(c for c in pod["status"]["initContainerStatuses"] if c["name"] == "engine")
        result = json.loads(engine["state"]["terminated"]["message"])
        assert result["cacheHit"] is True   # taken from a cache, not rebuilt
    finally:
        cluster.sim.kubectl("annotate", "node", node, "sim.edgeml.io/power-")


def test_a_bad_model_says_why_keeps_the_old_version_serving_and_does_not_hot_loop(cluster):
    good_uri, good_digest = cluster.model_file("detector-v1.onnx", "v1")
    # Version 2 is published with the wrong digest.
    uri, _ = cluster.model_file("detector-v2.onnx", "v2")
    wrong = "sha256:" + "0" * 64
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", uri, wrong, "2", replicas=3))
    cond = wait_for(lambda: (lambda c: c if c.get("reason") == "DigestMismatch" else None)(cluster.condition("detector", "EngineReady")), timeout=120)
    assert cond and cond["status"] == "False" and "digest" in cond["message"]
    s = cluster.status("detector")
    assert s["phase"] == "Degraded" and s["currentVersion"] == "1"
    assert cluster.condition("detector", "Available")["status"] == "True"   # version 1 still serves
    described = wait_for(lambda: (lambda d: d if "DigestMismatch" in d and "Warning" in d else None)(
        cluster.sim.kubectl("describe", "edgemodel", "detector").stdout), timeout=20)
    assert described, cluster.sim.kubectl("describe", "edgemodel", "detector").stdout
    # The failed build's reason is readable where a user looks first: the engine container's log.
    failing = [p for p in cluster.pods("detector") if any(c["name"] == "engine" and c.get("lastState", {}).get("terminated")
                                                          for c in p["status"].get("initContainerStatuses", []))]
    assert failing
    log = cluster.sim.kubectl("logs", failing[0]["metadata"]["name"], "-c", "engine").stdout
    assert "Engine not in place" in log and "DigestMismatch" in log, log
    # No hot loop: over three seconds the failing init containers restart with back-off, and the
    # operator writes the EdgeModel's status at most a few times.
    versions = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        versions.add(json.loads(cluster.sim.kubectl("get", "edgemodel", "detector", "-o", "json").stdout)["metadata"]["resourceVersion"])
        time.sleep(0.1)
    assert len(versions) <= 3, f"the EdgeModel was written {len(versions) - 1} times in 3 s"
    # Fixing the digest recovers.
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", *cluster.model_file("detector-v2.onnx", "v2"), "2", replicas=3))
    assert wait_for(lambda: cluster.status("detector").get("currentVersion") == "2" and cluster.status("detector").get("phase") == "Ready", timeout=120)


def engine_images(pods):
    return {c["image"] for p in pods for c in p["spec"]["initContainers"] if c["name"] == "engine"}


def test_an_operator_upgrade_restarts_no_serving_pod(cluster):
    """A new operator image (a new default builder image) must not roll every model's pods: the
    image a model's engines are built with is kept until the model itself changes."""
    # The fleet's four eligible GPUs are this test's (the earlier tests' model goes).
    cluster.sim.kubectl("delete", "edgemodel", "detector", "--ignore-not-found")
    assert wait_for(lambda: cluster.pods("detector") == [], timeout=60)
    uri, digest = cluster.model_file("keeper-v1.onnx", "k1")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("keeper", uri, digest, "1", replicas=2))
    assert wait_for(lambda: cluster.status("keeper").get("phase") == "Ready", timeout=120)
    before = {p["metadata"]["uid"] for p in cluster.pods("keeper")}
    old_images = engine_images(cluster.pods("keeper"))
    assert old_images == {"ghcr.io/edgeml/edgeml:0.1.0"}
    assert cluster.status("keeper")["builder"]["image"] == "ghcr.io/edgeml/edgeml:0.1.0"

    # The upgrade: the operator restarts with a new default builder image.
    cluster.operator.terminate()
    cluster.operator.wait(timeout=15)
    cluster.operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", cluster.sim.kubeconfig, "--metrics-bind-address", "0",
                                         "--health-port", "0", "--workers", "4", "--builder-image", "ghcr.io/edgeml/edgeml:0.2.0"],
                                        stdout=cluster.log, stderr=subprocess.STDOUT)
    # A change the new operator must act on, that is not a new model: one more replica.
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("keeper", uri, digest, "1", replicas=3))
    assert wait_for(lambda: cluster.status("keeper").get("readyReplicas") == 3 and cluster.status("keeper").get("phase") == "Ready",
                    timeout=120)
    pods = cluster.pods("keeper")
    assert before <= {p["metadata"]["uid"] for p in pods}          # no serving pod was restarted
    assert engine_images(pods) == old_images                          # the new pod joined on the same image

    # The model's next version moves to the new image.
    uri2, digest2 = cluster.model_file("keeper-v2.onnx", "k2")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("keeper", uri2, digest2, "2", replicas=3))
    assert wait_for(lambda: cluster.status("keeper").get("currentVersion") == "2" and cluster.status("keeper").get("phase") == "Ready",
                    timeout=120)
    live = [p for p in cluster.pods("keeper") if not p["metadata"].get("deletionTimestamp")]
    assert wait_for(lambda: engine_images([p for p in cluster.pods("keeper") if not p["metadata"].get("deletionTimestamp")])
                    == {"ghcr.io/edgeml/edgeml:0.2.0"}, timeout=60), engine_images(live)
    assert cluster.status("keeper")["builder"] == {"image": "ghcr.io/edgeml/edgeml:0.2.0", "model": digest2}


def test_an_l4t_builder_image_builds_with_edgeml_engine_copied_in(cluster):
    """A node group whose L4T release has a builder image in `--builder-images` (NVIDIA's L4T
    image on a real Jetson) builds in it: our image's `edgeml-tools` init container copies
    edgeml-engine with its loader and libraries into an emptyDir, and the `engine` init container
    of the L4T image runs that copy. EdgeSim runs both for real: the copy, then the copied program."""
    cluster.sim.kubectl("delete", "edgemodel", "keeper", "--ignore-not-found")
    assert wait_for(lambda: cluster.pods("keeper") == [], timeout=60)
    table = os.path.join(cluster.sim.dir, "builder-images")
    with open(table, "w") as f:
        f.write("# JetPack 6.1 and 6.2\n36.4=nvcr.io/nvidia/l4t-jetpack:r36.4.0\n")
    cluster.operator.terminate()
    cluster.operator.wait(timeout=15)
    cluster.operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", cluster.sim.kubeconfig, "--metrics-bind-address", "0",
                                         "--health-port", "0", "--workers", "4", "--builder-images", table],
                                        stdout=cluster.log, stderr=subprocess.STDOUT)
    uri, digest = cluster.model_file("l4t-v1.onnx", "l4t")
    cluster.sim.kubectl("apply", "-f", "-", input=edgemodel("l4t", uri, digest, "1", replicas=2))
    r = cluster.sim.kubectl("wait", "--for=condition=Ready", "edgemodel/l4t", "--timeout=180s", check=False, timeout=190)
    assert r.returncode == 0, cluster.sim.kubectl("describe", "edgemodel", "l4t").stdout
    assert all(e["state"] == "Built" for e in cluster.status("l4t")["engines"])
    for pod in cluster.pods("l4t"):
        inits = {c["name"]: c for c in pod["spec"]["initContainers"]}
        assert list(inits) == ["edgeml-tools", "engine"]
        assert inits["engine"]["image"] == "nvcr.io/nvidia/l4t-jetpack:r36.4.0"
        assert inits["edgeml-tools"]["image"] == "ghcr.io/edgeml/edgeml:0.1.0"
        statuses = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
        assert statuses["edgeml-tools"]["state"]["terminated"]["exitCode"] == 0
        assert json.loads(statuses["engine"]["state"]["terminated"]["message"])["state"] == "Built"
    # What the copy said, read the usual way.
    pod = cluster.pods("l4t")[0]["metadata"]["name"]
    logs = cluster.sim.kubectl("logs", pod, "-c", "edgeml-tools", check=False)
    if logs.returncode == 0:
        assert "--library-path" in logs.stdout
