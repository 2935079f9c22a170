"""The operator installed as users install it — `kubectl apply -k manifests/` — running inside
EdgeSim: the Deployment's two pods run the real `edgeml-operator` (the manifests' image maps to
the binaries built next to `edgeml`) with in-cluster config under exactly the manifests' RBAC, one
holds the Lease and the other takes over when the leader's pod is deleted, probes are honoured, the
node-agent DaemonSet labels the nodes, and the example EdgeModel becomes Ready (issue 15 item 4).
"""
import datetime
import hashlib
import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT, Sim, wait_for
from onnx_fixture import model as onnx_model

NS = "edgeml-system"
FLEET = {"orin-nx-16gb": 2, "agx-orin-64gb": 1}
LEASE = "edgeml-operator-leader"
# The operator's --lease-duration-seconds default (client-go's 15 s); the manifests keep it.
LEASE_DURATION = 15


def get(sim, *args):
    r = sim.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def operator_pods(sim):
    pods = get(sim, "pods", "-n", NS, "-l", "app.kubernetes.io/name=edgeml-operator").get("items", [])
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def holder(sim):
    return get(sim, "lease", LEASE, "-n", NS).get("spec", {}).get("holderIdentity")


def install(sim, *apply_args, input=None):
    """Applies the install as a user does (`kubectl apply -k manifests/`, or helm's rendering)
    and waits for both operator replicas to be Ready; returns the two pods."""
    sim.kubectl("apply", *apply_args, input=input, timeout=120)
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 2 and all(ready(p) for p in ps) else None)(operator_pods(sim)), timeout=90)
    assert pods, json.dumps([p.get("status") for p in operator_pods(sim)], indent=1) + sim.kubectl("get", "events", "-n", NS).stdout
    return pods


@pytest.fixture(scope="module")
def cluster():
    nodes = ",".join(f"{k}={n}" for k, n in FLEET.items())
    # No in-process labelling: the nodes get their edgeml.io labels from the DaemonSet only.
    s = Sim("--nodes", nodes, "--speed", "0.01", "--no-pod-metrics", "--no-node-agent", edgesim=True)
    s.pods = install(s, "-k", os.path.join(ROOT, "manifests"))
    yield s
    s.stop()


def test_two_operator_pods_run_the_real_operator_with_in_cluster_config(cluster):
    for pod in cluster.pods:
        name = pod["metadata"]["name"]
        (status,) = pod["status"]["containerStatuses"]
        assert status["name"] == "operator" and "running" in status["state"] and status["ready"], status
        # The process sees what the kubelet gives a container: the downward API and the API server's Service.
        env = cluster.kubectl("exec", "-n", NS, name, "--", "printenv", "POD_NAME", "POD_NAMESPACE", "KUBERNETES_SERVICE_HOST",
                              "KUBERNETES_SERVICE_PORT").stdout.split()
        assert env[:2] == [name, NS]
        assert cluster.url == f"https://{env[2]}:{env[3]}"
        # The real binary, configured in-cluster (no kubeconfig flag in the manifests), said so.
        logs = cluster.kubectl("logs", "-n", NS, name).stdout
        assert "Operator starting" in logs and cluster.url in logs, logs
        # The pod's own health endpoint answers at its pod IP: the kubelet's probes reach it there.
        assert pod["status"]["podIP"].startswith("127.")
    assert len({p["status"]["podIP"] for p in cluster.pods}) == 2


def test_the_operator_runs_under_exactly_the_manifests_rbac(cluster):
    name = cluster.pods[0]["metadata"]["name"]
    token = cluster.kubectl("exec", "-n", NS, name, "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token").stdout.strip()
    ns = cluster.kubectl("exec", "-n", NS, name, "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace").stdout
    assert ns == NS

    def as_operator(*args):
        return subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "--cache-dir", cluster.cache + "-sa", "--token", token, *args],
                              capture_output=True, text=True, timeout=60)

    whoami = as_operator("auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == f"system:serviceaccount:{NS}:edgeml-operator"
    assert info["extra"]["authentication.kubernetes.io/pod-name"] == [name]
    # What the ClusterRole and the leader-election Role grant works; nothing else does.
    assert as_operator("get", "edgemodels.edgeml.io", "-A").returncode == 0
    assert as_operator("get", "lease", LEASE, "-n", NS).returncode == 0
    for args in [("get", "leases", "-n", "default"), ("delete", "node", "orin-nx-16gb-0", "--dry-run=server"),
                 ("create", "secret", "generic", "stolen", "-n", NS, "--from-literal=a=b")]:
        r = as_operator(*args)
        assert r.returncode != 0 and "forbidden" in r.stderr.lower() and f"system:serviceaccount:{NS}:edgeml-operator" in r.stderr, (args, r.stderr)


def test_one_replica_holds_the_lease(cluster):
    names = {p["metadata"]["name"] for p in cluster.pods}
    assert wait_for(lambda: holder(cluster) in names, timeout=30), get(cluster, "lease", LEASE, "-n", NS)


def scrape(ip, token, cafile):
    """GET https://IP:8443/metrics verifying the served certificate against `cafile` (and the IP
    against its names), with `Authorization: Bearer TOKEN` when a token is given."""
    import ssl
    import urllib.error
    import urllib.request
    context = ssl.create_default_context(cafile=cafile)
    request = urllib.request.Request(f"https://{ip}:8443/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_metrics_are_https_and_only_for_tokens_bound_to_metrics_reader(cluster, tmp_path):
    """kubebuilder v4's protected metrics (docs/metrics.md): the operator pod serves /metrics over
    HTTPS on 8443 with a self-signed certificate naming its pod IP; a ServiceAccount bound to
    edgeml-operator-metrics-reader reads them (200), one without the binding is refused (403), no
    token or a forged one is unauthenticated (401) — decided by the API server's TokenReview and
    SubjectAccessReview, which the manifests' metrics-auth role lets the operator ask."""
    import ssl
    ip = cluster.pods[0]["status"]["podIP"]
    cafile = tmp_path / "served.pem"
    cafile.write_text(ssl.get_server_certificate((ip, 8443)))
    for account in ("prometheus", "stranger"):
        cluster.kubectl("create", "serviceaccount", account, "-n", "default")
    cluster.kubectl("create", "clusterrolebinding", "prometheus-reads-metrics", "--clusterrole=edgeml-operator-metrics-reader",
                    "--serviceaccount=default:prometheus")
    reader = cluster.kubectl("create", "token", "prometheus", "-n", "default").stdout.strip()
    stranger = cluster.kubectl("create", "token", "stranger", "-n", "default").stdout.strip()

    status, text = scrape(ip, reader, str(cafile))
    assert status == 200 and "edgeml_api_requests_total" in text, (status, text[:500])
    assert scrape(ip, stranger, str(cafile)) == (403, "Authorization denied for user system:serviceaccount:default:stranger\n")
    assert scrape(ip, None, str(cafile)) == (401, "Unauthorized\n")
    assert scrape(ip, "not-a-token", str(cafile)) == (401, "Unauthorized\n")

    # What the operator asked the API server, asked with kubectl: the same answers.
    def can_i(token):
        r = subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "--cache-dir", cluster.cache + "-sa", "--token", token,
                            "auth", "can-i", "get", "/metrics"], capture_output=True, text=True, timeout=60)
        return r.stdout.strip()
    assert (can_i(reader), can_i(stranger)) == ("yes", "no")
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": "system:serviceaccount:default:stranger", "groups": ["system:serviceaccounts", "system:authenticated"],
                       "nonResourceAttributes": {"path": "/metrics", "verb": "get"}}}
    answer = json.loads(cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(review)).stdout)
    assert answer["status"]["allowed"] is False
    # The scrapes' reviews were the operator's to make: nothing it did was forbidden.
    logs = cluster.kubectl("logs", "-n", NS, cluster.pods[0]["metadata"]["name"]).stdout
    assert "could not be checked" not in logs, logs


def test_the_node_agent_daemonset_labels_every_node(cluster):
    def labelled():
        nodes = get(cluster, "nodes")["items"]
        return nodes if all("edgeml.io/jetson.module" in n["metadata"]["labels"] for n in nodes) else None
    nodes = wait_for(labelled, timeout=60)
    agents = get(cluster, "pods", "-n", "edgeml-node-agent").get("items", [])
    assert nodes, json.dumps([(p["metadata"]["name"], p["status"]) for p in agents], indent=1)
    assert sum(FLEET.values()) == len(nodes) == len(agents)
    for node in nodes:
        labels = node["metadata"]["labels"]
        # The node's module, as the agent read it from the node's /proc/device-tree through its hostPath volumes.
        assert labels["edgeml.io/jetson.module"] == node["metadata"]["name"].rsplit("-", 1)[0], labels
        assert labels["edgeml.io/l4t"] == "36.4.3"
    for pod in agents:
        (status,) = pod["status"]["containerStatuses"]
        assert "running" in status["state"] and status["restartCount"] == 0, status
    # The agent ran as the image's entrypoint (`edgeml`) with the DaemonSet's arguments.
    logs = cluster.kubectl("logs", "-n", "edgeml-node-agent", agents[0]["metadata"]["name"]).stdout
    assert "Node agent starting" in logs, logs


def test_the_example_edgemodel_becomes_ready(cluster):
    example = yaml.safe_load(open(os.path.join(ROOT, "examples", "edgemodel-orin-nx-fp16.yaml")))
    # The example's model URL is a placeholder: serve the same spec from a local ONNX file.
    data = onnx_model(salt="incluster")
    path = os.path.join(cluster.dir, "detector.onnx")
    with open(path, "wb") as f:
        f.write(data)
    example["spec"]["model"].update(uri="file://" + path, digest="sha256:" + hashlib.sha256(data).hexdigest())
    cluster.kubectl("apply", "-f", "-", input=json.dumps(example))
    r = cluster.kubectl("wait", "--for=condition=Ready", "edgemodel/detector", "--timeout=120s", check=False, timeout=130)
    leader = holder(cluster)
    assert r.returncode == 0, cluster.kubectl("describe", "edgemodel", "detector").stdout + cluster.kubectl("logs", "-n", NS, leader).stdout
    status = get(cluster, "edgemodel", "detector")["status"]
    assert status["readyReplicas"] == 2 and {e["nodeGroup"]["module"] for e in status["engines"]} == {"orin-nx-16gb"}


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_deleting_the_leader_pod_fails_over_within_the_lease_duration(cluster):
    names = {p["metadata"]["name"] for p in operator_pods(cluster)}
    leader = wait_for(lambda: holder(cluster) in names and holder(cluster), timeout=30)
    before = get(cluster, "lease", LEASE, "-n", NS)["spec"]
    cluster.kubectl("delete", "pod", "-n", NS, leader, "--wait=false")
    holders = [leader]

    def taken_over():
        h = holder(cluster)
        if h != holders[-1]:
            holders.append(h)
        return h and h != leader
    assert wait_for(taken_over, timeout=60, interval=0.1), holders
    # The leader's process released the Lease on SIGTERM (or it would have expired); another
    # replica holds it now: the standby, or the ReplicaSet's replacement
    # pod if it asked first. It took less than a lease duration: the delete came after the old
    # leader's renewal read above, so the time from that renewal to the acquisition bounds it.
    new = holders[-1]
    assert [h for h in holders if h] == [leader, new], holders
    after = get(cluster, "lease", LEASE, "-n", NS)["spec"]
    took = (parse_time(after["acquireTime"]) - parse_time(before["renewTime"])).total_seconds()
    assert 0 < took < LEASE_DURATION, (took, before, after)
    # The Deployment replaces the deleted pod: two Ready replicas again, the new leader among them.
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 2 and all(ready(p) for p in ps) else None)(operator_pods(cluster)), timeout=60)
    assert pods and leader not in {p["metadata"]["name"] for p in pods}
    assert holder(cluster) == new in {p["metadata"]["name"] for p in pods}


def test_probes_gate_ready_and_a_failing_liveness_probe_restarts_the_container(cluster):
    patch = [
        {"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/path", "value": "/not-served"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/livenessProbe",
         "value": {"httpGet": {"path": "/not-served", "port": "health"}, "periodSeconds": 1, "failureThreshold": 2}},
    ]
    old = {p["metadata"]["name"] for p in operator_pods(cluster)}
    cluster.kubectl("patch", "deployment", "edgeml-operator", "-n", NS, "--type=json", "-p", json.dumps(patch))

    def restarted():
        new = [p for p in operator_pods(cluster) if p["metadata"]["name"] not in old]
        statuses = [s for p in new for s in p["status"].get("containerStatuses", [])]
        return new if statuses and any(s["restartCount"] >= 1 for s in statuses) else None
    new = wait_for(restarted, timeout=60)
    assert new, json.dumps([p["status"] for p in operator_pods(cluster)], indent=1)
    pod = new[0]
    (status,) = pod["status"]["containerStatuses"]
    # Running or waiting to restart, never Ready: its readiness probe answers 404.
    assert not status["ready"] and not ready(pod) and "terminated" in status["lastState"]
    def messages():
        events = get(cluster, "events", "-n", NS, "--field-selector", f"involvedObject.name={pod['metadata']['name']}")["items"]
        return {e["message"] for e in events}
    expected = {"Container operator failed liveness probe, will be restarted",
                "Liveness probe failed: HTTP probe failed with statuscode: 404"}
    assert wait_for(lambda: expected <= messages(), timeout=30), messages()
    # The rolling update keeps the old, Ready replicas while the new ones never become Ready.
    assert {p["metadata"]["name"] for p in operator_pods(cluster) if ready(p)} == old


def test_the_helm_chart_installs_the_same_way():
    helm = shutil.which("helm")
    if not helm:
        pytest.skip("helm is not on PATH (not in the package registries these machines reach): "
                    "the in-cluster install is tried with the chart's rendering only where helm is installed")
    rendered = subprocess.run([helm, "template", "edgeml-operator", os.path.join(ROOT, "charts", "edgeml-operator"),
                               "--namespace", NS, "--include-crds"], capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    s = Sim("--nodes", "orin-nx-16gb=1", "--speed", "0.01", "--no-pod-metrics", "--no-node-agent", edgesim=True)
    try:
        pods = install(s, "-f", "-", input=rendered.stdout)
        assert wait_for(lambda: holder(s) in {p["metadata"]["name"] for p in pods}, timeout=30)
        assert wait_for(lambda: "edgeml.io/jetson.module" in get(s, "node", "orin-nx-16gb-0")["metadata"]["labels"], timeout=60)
    finally:
        s.stop()
