"""A fleet rollout end to end on EdgeSim: six Orin NX nodes run a DaemonSet-mode model; the real
operator moves them to the candidate in waves (one node, half, all), site by site, evicting at
most one serving pod at a time, analysing each wave from the moved pods' own metrics, and
promotes, though it is killed (SIGKILL) and restarted mid-wave. A watch of the pods (the official Python client) checks `maxUnavailable` on every pod
transition. A second rollout stops at its second wave when a moved node fails, and names it.
"""
import json
import threading

import pytest
from kubernetes import client as k8s, config as k8s_config, watch as k8s_watch

from test_edgemodel_e2e import Cluster, wait_for
from test_rollout_e2e import plugin, restart_operator, rollout

NODES = [f"orin-nx-16gb-{i}" for i in range(6)]

MODEL = """
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {{name: fleetcam}}
spec:
  model: {{uri: "{uri}", digest: "{digest}", version: "{version}"}}
  engine: {{precision: fp16, cache: {{sharedClaimName: edgeml-engine-cache}}}}
  placement: {{mode: DaemonSet, jetson: {{modules: [orin-nx-16gb]}}}}
  serving: {{image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}}
"""

FLEET_ROLLOUT = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  modelRef: {{name: fleetcam}}
  candidate: {{model: {{uri: "{uri}", digest: "{digest}", version: "{version}"}}}}
  strategy:
    fleet:
      waves: {waves}
      maxUnavailable: 1
      waveOrder: {{labelKey: example.com/site}}
  analysis:
    interval: 1s
    metrics:
    - name: served
      provider: {{podMetrics: {{metric: {metric}, aggregation: sum}}}}
      successCondition: "result >= 0"
"""


class Availability:
    """Watches the model's pods and records, after every event, how many nodes serve it Ready."""

    def __init__(self, kubeconfig):
        k8s_config.load_kube_config(config_file=kubeconfig)
        self.api = k8s.CoreV1Api()
        self.pods, self.lowest, self.events, self.order = {}, None, 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        # The pods as they are now, then every change from that resourceVersion on.
        listed = self.api.list_namespaced_pod("default", label_selector="edgeml.io/model=fleetcam")
        for p in listed.items:
            self.pods[p.metadata.name] = p
        self.version = listed.metadata.resource_version
        self.thread.start()
        return self

    def ready_nodes(self):
        return {p.spec.node_name for p in self.pods.values()
                if p.metadata.deletion_timestamp is None and p.spec.node_name
                and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))}

    def run(self):
        w = k8s_watch.Watch()
        while not self.stop.is_set():
            for event in w.stream(self.api.list_namespaced_pod, "default", label_selector="edgeml.io/model=fleetcam",
                                  resource_version=self.version, timeout_seconds=2):
                p = event["object"]
                self.version = p.metadata.resource_version
                if event["type"] == "DELETED":
                    self.pods.pop(p.metadata.name, None)
                else:
                    self.pods[p.metadata.name] = p
                    version = (p.metadata.labels or {}).get("edgeml.io/model-version")
                    if version == "2" and p.spec.node_name and p.spec.node_name not in self.order:
                        self.order.append(p.spec.node_name)   # the order nodes moved in
                self.events += 1
                n = len(self.ready_nodes())
                self.lowest = n if self.lowest is None else min(self.lowest, n)
                if self.stop.is_set():
                    break

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(fleet="orin-nx-16gb=6", pod_metrics=True)
    for i, node in enumerate(NODES):   # sites: nodes 3-5 at site a (moved first), 0-2 at site b
        c.sim.kubectl("label", "node", node, f"example.com/site={'a' if i >= 3 else 'b'}")
    yield c
    c.stop()


def pods_by_node(c):
    return {p["spec"].get("nodeName"): p for p in c.pods("fleetcam") if not p["metadata"].get("deletionTimestamp")}


def explain(c, name):
    pods = {n: (p["metadata"]["labels"].get("edgeml.io/model-version"), p["status"].get("phase"),
                [x["type"] + "=" + x["status"] for x in p["status"].get("conditions", [])]) for n, p in pods_by_node(c).items()}
    c.log.flush()
    log = open(c.log.name).read().splitlines()[-15:]
    return json.dumps({"rollout": rollout(c, name).get("status"), "model": c.status("fleetcam"), "pods": pods, "operator": log}, indent=1)


def test_a_fleet_moves_in_waves_site_by_site_never_more_than_one_node_down(cluster):
    uri, digest = cluster.model_file("fleetcam-v1.onnx", "f1")
    cluster.sim.kubectl("apply", "-f", "-", input=MODEL.format(uri=uri, digest=digest, version="1"))
    assert wait_for(lambda: cluster.status("fleetcam").get("phase") == "Ready" and len(pods_by_node(cluster)) == 6, timeout=120), \
        cluster.status("fleetcam")
    watcher = Availability(cluster.sim.kubeconfig).start()
    try:
        curi, cdigest = cluster.model_file("fleetcam-v2.onnx", "f2")
        cluster.sim.kubectl("apply", "-f", "-", input=FLEET_ROLLOUT.format(
            name="fleetcam-v2", uri=curi, digest=cdigest, version="2", waves="[{nodes: 1}, {percent: 50}, {percent: 100}]",
            metric="nv_inference_request_success"))
        # kill -9 of the operator in the middle of wave 1: the next one picks the same next nodes.
        assert wait_for(lambda: rollout(cluster, "fleetcam-v2").get("status", {}).get("currentStep", 0) >= 1, timeout=120), \
            explain(cluster, "fleetcam-v2")
        restart_operator(cluster)
        done = wait_for(lambda: rollout(cluster, "fleetcam-v2").get("status", {}).get("phase") == "Promoted", timeout=240)
        assert done, explain(cluster, "fleetcam-v2")
    finally:
        watcher.close()
    s = rollout(cluster, "fleetcam-v2")["status"]
    assert s["currentStep"] == 3 and s["stableWeight"] == 100
    # Every pod transition was seen, and at no moment were two nodes without a Ready pod.
    assert watcher.events >= 6 * 3, watcher.events
    assert watcher.lowest >= 5, f"only {watcher.lowest} of 6 nodes served at one moment"
    # Site a (nodes 3-5) moved first, each site in name order.
    assert watcher.order == NODES[3:] + NODES[:3], watcher.order
    events = json.loads(cluster.sim.kubectl("get", "events", "-o", "json").stdout)["items"]
    notes = [e.get("note") or e.get("message") or "" for e in events if e["involvedObject"]["name"] == "fleetcam-v2"]
    assert sum("serve the candidate" in n for n in notes) == 3, notes   # one WaveCompleted per wave, none repeated
    # Each wave was analysed on the moved pods' own metrics before the next.
    assert any("1/6 node(s)" in n for n in notes) and any("3/6 node(s)" in n for n in notes), notes
    # The nodes keep the pods they were moved with: promotion restarted nobody.
    moved = {n: p["metadata"]["uid"] for n, p in pods_by_node(cluster).items()}
    assert wait_for(lambda: cluster.status("fleetcam").get("currentVersion") == "2" and "candidate" not in cluster.status("fleetcam"), timeout=60)
    ds = json.loads(cluster.sim.kubectl("get", "daemonsets", "-l", "edgeml.io/model=fleetcam", "-o", "json").stdout)["items"]
    assert ds and all(d["spec"]["updateStrategy"]["type"] == "RollingUpdate" for d in ds)
    assert wait_for(lambda: cluster.status("fleetcam").get("phase") == "Ready", timeout=60)
    assert {n: p["metadata"]["uid"] for n, p in pods_by_node(cluster).items()} == moved
    assert all(p["metadata"]["labels"]["edgeml.io/model-version"] == "2" for p in pods_by_node(cluster).values())
    # The EdgeModel's spec is the user's: still version 1.
    assert json.loads(cluster.sim.kubectl("get", "edgemodel", "fleetcam", "-o", "json").stdout)["spec"]["model"]["version"] == "1"


def test_a_node_failing_in_wave_two_stops_the_rollout_there_and_names_it(cluster):
    uri, digest = cluster.model_file("fleetcam-v3.onnx", "f3")
    # An analysis metric no pod exports: every wave ends paused (inconclusive), a person decides.
    cluster.sim.kubectl("apply", "-f", "-", input=FLEET_ROLLOUT.format(
        name="fleetcam-v3", uri=uri, digest=digest, version="3", waves="[{nodes: 1}, {nodes: 2}, {percent: 100}]",
        metric="edgeml_not_exported_anywhere"))
    paused = wait_for(lambda: (lambda s: s if s.get("pause", {}).get("reason") == "AnalysisInconclusive" else None)(
        rollout(cluster, "fleetcam-v3").get("status", {})), timeout=120)
    assert paused and paused["currentStep"] == 0, explain(cluster, "fleetcam-v3")
    moved = [n for n, p in pods_by_node(cluster).items() if p["metadata"]["labels"].get("edgeml.io/model-version") == "3"]
    assert moved == ["orin-nx-16gb-3"], moved
    # While paused nothing more moves; now the moved node loses power, and a person resumes.
    cluster.sim.kubectl("annotate", "node", moved[0], "sim.edgeml.io/power=off")
    try:
        assert wait_for(lambda: any(f["node"] == moved[0] for f in (cluster.status("fleetcam").get("candidate", {}).get("fleet", {})
                                                                     .get("failedNodes") or [])), timeout=60), explain(cluster, "fleetcam-v3")
        plugin(cluster, "resume", "fleetcam-v3")
        s = wait_for(lambda: (lambda s: s if s.get("phase") == "Aborted" else None)(rollout(cluster, "fleetcam-v3").get("status", {})),
                     timeout=60)
        assert s, explain(cluster, "fleetcam-v3")
        assert s["abort"]["reason"] == "NodeFailed" and s["abort"]["step"] == 1
        assert f"wave 1: node {moved[0]} failed on the candidate (NodeNotReady)" in s["abort"]["message"], s["abort"]
        shown = plugin(cluster, "status", "fleetcam-v3").stdout
        assert "Wave:       1/3 (2 more node(s))" in shown and f"node {moved[0]} failed" in shown, shown
        # No other node ever ran version 3.
        assert [n for n, p in pods_by_node(cluster).items() if p["metadata"]["labels"].get("edgeml.io/model-version") == "3"] \
            in ([moved[0]], [])
    finally:
        cluster.sim.kubectl("annotate", "node", moved[0], "sim.edgeml.io/power-")
    # Back on power, the node returns to version 2 and the model is whole again.
    assert wait_for(lambda: len(pods_by_node(cluster)) == 6 and all(
        p["metadata"]["labels"].get("edgeml.io/model-version") == "2" for p in pods_by_node(cluster).values())
        and cluster.status("fleetcam").get("phase") == "Ready", timeout=180), explain(cluster, "fleetcam-v3")
