"""`kubectl top` on EdgeSim: the real kubectl (v1.32) and the official Python client read
`metrics.k8s.io/v1beta1` as K3s's metrics-server serves it, with figures from the processes the
simulated kubelets run (CPU from /proc/PID/stat, memory from VmRSS) and the nodes' memory.

An EdgeModel runs (its Triton containers are simulated: no process, so its pods are left out, as
metrics-server leaves out what the kubelet does not report); next to it, pods run python3 as real
processes: one grows its memory to 200 MiB, one spins a CPU.
"""
import json
import re
import sys

import pytest

from conftest import wait_for
from rbac_helpers import kubectl_as, token_kubeconfig
from test_edgemodel_e2e import Cluster, edgemodel

GROW_MIB = 200
# Every program ends when EdgeSim does (its parent becomes init): a sim killed before its pods'
# grace period ran out must not leave them running on a shared machine.
HOLD = "import os, time\nwhile os.getppid() != 1:\n    time.sleep(0.5)\n"
# Grows its resident memory by 20 MiB steps to GROW_MIB (bytes written, so the pages are resident), then holds it.
GROW = "import time\nblocks = []\nfor _ in range(%d):\n    blocks.append(b'x' * (20 << 20))\n    time.sleep(0.2)\n" % (GROW_MIB // 20) + HOLD
SPIN = "import os\nwhile os.getppid() != 1:\n    pass\n"

WORKLOADS = f"""
apiVersion: v1
kind: Pod
metadata: {{name: hog, labels: {{app: hog}}}}
spec:
  nodeSelector: {{kubernetes.io/hostname: orin-nx-16gb-0}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: grow
    image: python:3.12
    command: [python3, -c, {json.dumps(GROW)}]
  - name: idle
    image: python:3.12
    command: [python3, -c, {json.dumps(HOLD)}]
---
apiVersion: v1
kind: Namespace
metadata: {{name: work}}
---
apiVersion: v1
kind: Pod
metadata: {{name: spinner, namespace: work, labels: {{app: spinner}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: python:3.12
    command: [python3, -c, {json.dumps(SPIN)}]
"""


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(fleet="orin-nx-16gb=2,orin-nano-8gb=1",
                sim_args=("--metric-resolution", "2s", "--executable", f"python3={sys.executable}"))
    uri, digest = c.model_file("detector-top.onnx", "top")
    c.sim.kubectl("apply", "-f", "-", input=edgemodel("detector", uri, digest, "1", replicas=2))
    c.sim.kubectl("apply", "-f", "-", input=WORKLOADS)
    r = c.sim.kubectl("wait", "--for=condition=Ready", "edgemodel/detector", "--timeout=120s", check=False, timeout=130)
    assert r.returncode == 0, c.sim.kubectl("describe", "edgemodel", "detector").stdout
    yield c
    # Stop the processes while the sim runs (SIGTERM, SIGKILL a second later), then the sim.
    c.sim.kubectl("delete", "pod", "hog", "--wait=true", check=False, timeout=60)
    c.sim.kubectl("-n", "work", "delete", "pod", "spinner", "--wait=true", check=False, timeout=60)
    c.stop()


def table(text):
    """kubectl's tab-aligned output as (header, rows of cells)."""
    lines = [line.split() for line in text.strip().splitlines()]
    return lines[0], lines[1:]


def mebibytes(cell):
    m = re.fullmatch(r"(\d+)Mi", cell)
    assert m, cell
    return int(m.group(1))


def millicores(cell):
    m = re.fullmatch(r"(\d+)m", cell)
    assert m, cell
    return int(m.group(1))


def top(cluster, *args):
    """`kubectl top ARGS`, retried until it succeeds (the first scrapes take a few seconds)."""
    r = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(cluster.sim.kubectl("top", *args, check=False)), timeout=60)
    assert r, cluster.sim.kubectl("top", *args, check=False).stderr
    return table(r.stdout)


def container_memory(cluster):
    """The hog pod's containers' memory in MiB, from `kubectl top pod hog --containers`."""
    header, rows = top(cluster, "pod", "hog", "--containers")
    assert header == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    return {row[1]: mebibytes(row[3]) for row in rows}


def test_top_pod_containers_shows_the_container_that_allocates_more_memory(cluster):
    grown = wait_for(lambda: (lambda m: m if m.get("grow", 0) >= GROW_MIB else None)(container_memory(cluster)), timeout=60)
    assert grown, container_memory(cluster)
    assert sorted(grown) == ["grow", "idle"]
    assert grown["grow"] >= grown["idle"] + GROW_MIB - 20


def test_top_pods_all_namespaces_lists_running_processes_and_leaves_out_simulated_containers(cluster):
    def listed():
        header, rows = top(cluster, "pods", "-A")
        return (header, rows) if {"hog", "spinner"} <= {row[1] for row in rows} else None
    header, rows = wait_for(listed, timeout=60) or top(cluster, "pods", "-A")
    assert header == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    by_name = {row[1]: row for row in rows}
    assert by_name["hog"][0] == "default" and by_name["spinner"][0] == "work"
    assert mebibytes(by_name["hog"][3]) >= GROW_MIB
    # A busy loop: at least a tenth of a core even on a machine shared with builds.
    spinning = wait_for(lambda: (lambda rows: millicores({r[1]: r for r in rows}["spinner"][2]) >= 100 or None)(top(cluster, "pods", "-A")[1]),
                        timeout=30)
    assert spinning, top(cluster, "pods", "-A")
    # The EdgeModel's serving pods run simulated Triton containers: no process, no metrics.
    detector = [p["metadata"]["name"] for p in cluster.pods("detector")]
    assert detector and not set(detector) & set(by_name), rows
    r = cluster.sim.kubectl("top", "pod", detector[0], check=False)
    assert r.returncode != 0 and f'podmetrics.metrics.k8s.io "default/{detector[0]}" not found' in r.stderr, r.stderr


def test_top_nodes_shows_every_node_with_its_share_of_allocatable(cluster):
    header, rows = top(cluster, "nodes")
    assert header == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"], header
    assert [row[0] for row in rows] == ["orin-nano-8gb-0", "orin-nx-16gb-0", "orin-nx-16gb-1"]
    nodes = {row[0]: row for row in rows}
    allocatable = {n["metadata"]["name"]: n["status"]["allocatable"]
                   for n in json.loads(cluster.sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]}
    for name, row in nodes.items():
        # kubectl's percentages are of allocatable (its top_node.go reads status.allocatable).
        memory_percent = mebibytes(row[3]) * 1024 * 100 / int(allocatable[name]["memory"].rstrip("Ki"))
        assert abs(int(row[4].rstrip("%")) - memory_percent) <= 1, (row, allocatable[name])
        cpu_percent = millicores(row[1]) / (int(allocatable[name]["cpu"]) * 1000) * 100
        assert abs(int(row[2].rstrip("%")) - cpu_percent) <= 1, (row, allocatable[name])
    # orin-nx-16gb-0 runs the hog: its OS memory (fixture /proc/meminfo) plus the pod's.
    assert mebibytes(nodes["orin-nx-16gb-0"][3]) >= mebibytes(nodes["orin-nx-16gb-1"][3]) + GROW_MIB - 20
    # Label selectors reach the server.
    header, rows = top(cluster, "nodes", "-l", "edgeml.io/jetson.module=orin-nano-8gb")
    assert [row[0] for row in rows] == ["orin-nano-8gb-0"]


def test_a_failed_node_shows_unknown_until_it_recovers(cluster):
    cluster.sim.kubectl("annotate", "node", "orin-nx-16gb-1", "sim.edgeml.io/power=off")
    try:
        unknown = wait_for(lambda: (lambda rows: rows if "<unknown>" in {r[0]: r for r in rows}["orin-nx-16gb-1"] else None)(
            top(cluster, "nodes")[1]), timeout=30)
        assert unknown, top(cluster, "nodes")
    finally:
        cluster.sim.kubectl("annotate", "node", "orin-nx-16gb-1", "sim.edgeml.io/power-")
    assert wait_for(lambda: "<unknown>" not in {r[0]: r for r in top(cluster, "nodes")[1]}["orin-nx-16gb-1"], timeout=30)


def test_the_python_client_reads_node_and_pod_metrics(cluster):
    from kubernetes import client, config
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=cluster.sim.kubeconfig))
    nodes = api.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert nodes["kind"] == "NodeMetricsList"
    assert sorted(n["metadata"]["name"] for n in nodes["items"]) == ["orin-nano-8gb-0", "orin-nx-16gb-0", "orin-nx-16gb-1"]
    for n in nodes["items"]:
        assert re.fullmatch(r"\d+(n|u|m)?", n["usage"]["cpu"]) and re.fullmatch(r"\d+(Ki|Mi|Gi)?", n["usage"]["memory"]), n
        assert re.fullmatch(r"[\d.]+m?s", n["window"]) and n["timestamp"].endswith("Z"), n
        assert n["metadata"]["labels"]["kubernetes.io/hostname"] == n["metadata"]["name"]
    hog = api.get_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default", "pods", "hog")
    assert hog["kind"] == "PodMetrics" and sorted(c["name"] for c in hog["containers"]) == ["grow", "idle"]


def test_the_apiservice_and_the_aggregated_reader_role_are_there(cluster):
    service = json.loads(cluster.sim.kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json").stdout)
    assert service["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system", "port": 443}
    assert any(c["type"] == "Available" and c["status"] == "True" for c in service["status"]["conditions"])
    header, rows = table(cluster.sim.kubectl("get", "apiservice", "v1beta1.metrics.k8s.io").stdout)
    assert header == ["NAME", "SERVICE", "AVAILABLE", "AGE"] and rows[0][:3] == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "True"]
    role = json.loads(cluster.sim.kubectl("get", "clusterrole", "system:aggregated-metrics-reader", "-o", "json").stdout)
    assert role["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"


VIEWER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: view-pods
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer-views, namespace: default}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
"""


def test_a_user_with_view_rights_may_run_kubectl_top_in_that_namespace_only(cluster):
    # The emulator bootstraps no `view` role; this one aggregates as upstream's does.
    cluster.sim.kubectl("apply", "-f", "-", input=VIEWER)
    kubeconfig = token_kubeconfig(cluster.sim, "default", "viewer")
    r = kubectl_as(cluster.sim, kubeconfig, "top", "pod", "hog")
    assert r.returncode == 0 and "hog" in r.stdout, r.stderr
    r = kubectl_as(cluster.sim, kubeconfig, "top", "pods", "-n", "work")
    assert r.returncode != 0 and "forbidden" in r.stderr, r.stderr
    r = kubectl_as(cluster.sim, kubeconfig, "top", "nodes")
    assert r.returncode != 0 and "forbidden" in r.stderr, r.stderr
