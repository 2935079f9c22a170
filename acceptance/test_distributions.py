"""A MicroK8s-like cluster has no `nvidia` RuntimeClass: the API server's RuntimeClass admission
refuses the EdgeModel's pods, the ReplicaSet says why in a FailedCreate Event, and creating the
RuntimeClass (deploy/microk8s/runtimeclass.yaml) lets them start; nodes without NVIDIA's device
plugin serve pods that request no GPU (docs/distributions.md)."""
import contextlib
import json
import os
import subprocess

from conftest import EDGEML, ROOT, Sim, wait_for
from test_edgemodel_e2e import edgemodel
from onnx_fixture import model as onnx_model
import hashlib


@contextlib.contextmanager
def cluster_with_a_model(sim_args, salt, replicas, before=lambda sim: None):
    """A simulated cluster started with `sim_args`; `before(sim)` runs first, then the CRDs are
    installed, the operator started and a `detector` EdgeModel of `replicas` with no L4T constraint
    applied. Everything stops on leaving."""
    sim = Sim(*sim_args, edgesim=True)
    log = open(os.path.join(sim.dir, "operator.log"), "w")
    operator = None
    try:
        before(sim)
        sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
        operator = subprocess.Popen([EDGEML, "operator", "--kubeconfig", sim.kubeconfig, "--metrics-bind-address", "0", "--health-port", "0"],
                                    stdout=log, stderr=subprocess.STDOUT)
        data = onnx_model(salt=salt)
        path = os.path.join(sim.dir, "model.onnx")
        open(path, "wb").write(data)
        sim.kubectl("apply", "-f", "-", input=edgemodel("detector", "file://" + path, "sha256:" + hashlib.sha256(data).hexdigest(), "1",
                                                         replicas=replicas).replace(f"placement: {{jetson: {{l4t: \">=36.2\"}}, replicas: {replicas}}}",
                                                                                    f"placement: {{replicas: {replicas}}}"))
        yield sim
    finally:
        if operator:
            operator.terminate()
            operator.wait(timeout=15)
        log.close()
        sim.stop()


def test_microk8s_without_the_runtime_class_refuses_the_pods_until_it_exists():
    def no_runtime_class(sim):
        assert sim.kubectl("get", "runtimeclass", "nvidia", check=False).returncode != 0
    args = ("--nodes", "orin-nx-16gb=1", "--speed", "0.002", "--no-pod-metrics", "--distribution", "microk8s")
    with cluster_with_a_model(args, "distribution", 1, before=no_runtime_class) as sim:
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


def test_nodes_without_the_device_plugin_serve_without_requesting_a_gpu():
    """Without NVIDIA's device plugin a node has no `nvidia.com/gpu`: the model's pods must not request
    one (they would stay Pending for ever); a node the node agent labelled counts as GPU-capable."""
    def no_gpu_resource(sim):
        assert wait_for(lambda: len(json.loads(sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]) == 2, timeout=30)
        for node in json.loads(sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]:
            assert "nvidia.com/gpu" not in node["status"]["allocatable"] and "nvidia.com/gpu" not in node["status"]["capacity"]
    args = ("--nodes", "orin-nx-16gb=2", "--speed", "0.002", "--no-pod-metrics", "--no-device-plugin")
    with cluster_with_a_model(args, "no-device-plugin", 2, before=no_gpu_resource) as sim:
        r = sim.kubectl("wait", "--for=condition=Ready", "edgemodel/detector", "--timeout=120s", check=False, timeout=130)
        assert r.returncode == 0, sim.kubectl("describe", "edgemodel", "detector").stdout + sim.kubectl("get", "events").stdout
        pods = [p for p in json.loads(sim.kubectl("get", "pods", "-l", "edgeml.io/model=detector", "-o", "json").stdout)["items"]
                if p["status"].get("phase") == "Running"]
        assert len(pods) == 2 and {p["spec"]["nodeName"] for p in pods} == {"orin-nx-16gb-0", "orin-nx-16gb-1"}
        for p in pods:
            for c in p["spec"]["containers"] + p["spec"].get("initContainers", []):
                resources = c.get("resources", {})
                assert "nvidia.com/gpu" not in resources.get("requests", {}) and "nvidia.com/gpu" not in resources.get("limits", {}), c


def test_an_unknown_distribution_is_refused():
    r = subprocess.run([EDGEML, "sim", "--distribution", "kind"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "--distribution must be k3s or microk8s" in r.stderr


RUNTIME_CLASS = """apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: nvidia-pinned}
handler: nvidia
overhead: {podFixed: {cpu: 250m, memory: 120Mi}}
scheduling:
  nodeSelector: {edgeml.io/gpu: "true"}
  tolerations:
  - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
  - {key: edgeml.io/dedicated, operator: Equal, value: ml, effect: NoSchedule}
"""


def pod_with(name, node_selector, overhead=""):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  runtimeClassName: nvidia-pinned
  nodeSelector: {node_selector}
  tolerations: [{{key: nvidia.com/gpu, operator: Exists}}]
  containers: [{{name: c, image: triton:1}}]
{overhead}"""


def test_a_runtime_class_gives_its_pods_its_overhead_and_scheduling():
    """The RuntimeClass admission plugin's mutating half (plugin/pkg/admission/runtimeclass): the
    class's overhead and scheduling are copied into each new pod that names it."""
    sim = Sim()
    try:
        sim.kubectl("apply", "-f", "-", input=RUNTIME_CLASS)
        sim.kubectl("create", "-f", "-", input=pod_with("merged", "{site: a}"))
        spec = json.loads(sim.kubectl("get", "pod", "merged", "-o", "json").stdout)["spec"]
        assert spec["overhead"] == {"cpu": "250m", "memory": "120Mi"}
        assert spec["nodeSelector"] == {"site": "a", "edgeml.io/gpu": "true"}
        # The pod's own nvidia.com/gpu toleration (any effect) covers the class's NoSchedule one;
        # the class's other toleration is added after the default not-ready/unreachable ones.
        assert [(t["key"], t.get("effect", "")) for t in spec["tolerations"]] == [
            ("nvidia.com/gpu", ""), ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"), ("edgeml.io/dedicated", "NoSchedule")]

        conflict = sim.kubectl("create", "-f", "-", input=pod_with("conflict", '{edgeml.io/gpu: "false"}'), check=False)
        assert conflict.returncode != 0
        assert ('pods "conflict" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[edgeml.io/gpu] = true; '
                'pod.spec.nodeSelector[edgeml.io/gpu] = false') in conflict.stderr
        other = sim.kubectl("create", "-f", "-", input=pod_with("other", "{}", "  overhead: {cpu: 1, memory: 120Mi}"), check=False)
        assert other.returncode != 0
        assert "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead" in other.stderr
        assert sim.kubectl("get", "pod", "conflict", check=False).returncode != 0
    finally:
        sim.stop()
