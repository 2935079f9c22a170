"""Service-account tokens as a real server hands them out, tried with the real kubectl, the
official Python client and our own client's in-cluster configuration from inside an EdgeSim pod."""
import base64
import json
import os
import re
import sys
import time

import pytest

from conftest import EDGEML, FIXTURES, Sim, wait_for

PY = sys.executable


@pytest.fixture(scope="module")
def fleet():
    s = Sim("--nodes", "orin-nx-16gb=1", "--speed", "0.01", "--no-pod-metrics", "--no-node-agent", edgesim=True)
    yield s
    s.stop()


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def pod_json(sim, name, namespace="default"):
    return json.loads(sim.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)


def test_kubectl_create_token_authenticates_as_the_service_account(fleet):
    fleet.kubectl("create", "serviceaccount", "robot")
    token = fleet.kubectl("create", "token", "robot", "--duration=20m").stdout.strip()
    c = claims(token)
    assert c["sub"] == "system:serviceaccount:default:robot"
    assert c["kubernetes.io"]["serviceaccount"]["name"] == "robot"
    assert c["exp"] - c["iat"] == 1200
    who = fleet.kubectl("auth", "whoami", "--token", token, "-o", "json")
    info = json.loads(who.stdout)["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:default:robot"
    assert "system:serviceaccounts:default" in info["groups"]
    # A shorter lifetime than ten minutes is refused (ValidateTokenRequest).
    short = fleet.kubectl("create", "token", "robot", "--duration=5m", check=False)
    assert short.returncode != 0 and "may not specify a duration less than 10 minutes" in short.stderr
    # A token the server did not sign is refused: the signature covers the claims.
    forged = token.rsplit(".", 1)[0] + "." + base64.urlsafe_b64encode(b"x" * 64).decode().rstrip("=")
    r = fleet.kubectl("get", "pods", "--token", forged, check=False)
    assert r.returncode != 0 and "You must be logged in to the server" in r.stderr


def test_every_new_namespace_has_a_default_service_account_and_the_root_ca(fleet):
    fleet.kubectl("create", "namespace", "vision")
    sa = wait_for(lambda: fleet.kubectl("get", "serviceaccount", "default", "-n", "vision", check=False).returncode == 0, timeout=10)
    assert sa
    cm = json.loads(fleet.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "vision", "-o", "json").stdout)
    assert cm["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


def test_token_review_with_the_python_client(fleet):
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=fleet.kubeconfig)
    token = fleet.kubectl("create", "token", "default").stdout.strip()
    review = client.AuthenticationV1Api(api).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert review.status.authenticated is True
    assert review.status.user.username == "system:serviceaccount:default:default"
    bad = client.AuthenticationV1Api(api).create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token="not-a-token")))
    assert not bad.status.authenticated


def test_a_pods_token_volume_is_the_one_a_real_server_adds(fleet):
    # The recorded v1.36 exchange: the pod of a Job as a real kube-apiserver returned it.
    with open(os.path.join(FIXTURES, "k8s-openapi-test-replays", "v1-36", "job-create.json")) as f:
        exchanges = json.load(f)
    recorded = next(json.loads(e["response_body"]) if isinstance(e["response_body"], str) else e["response_body"]
                    for e in exchanges if e["request_url"].endswith("/pods") and "kube-api-access" in json.dumps(e["response_body"]))
    recorded_pod = recorded["items"][0] if "items" in recorded else recorded
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "recorded-shape"},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "alpine", "command": ["sh", "-c", "exit 0"]}]}}
    fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    pod = pod_json(fleet, "recorded-shape")
    ours, theirs = pod["spec"]["volumes"], recorded_pod["spec"]["volumes"]
    assert len(ours) == len(theirs) == 1
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", ours[0]["name"])
    assert {k: v for k, v in ours[0].items() if k != "name"} == {k: v for k, v in theirs[0].items() if k != "name"}
    mount = dict(pod["spec"]["containers"][0]["volumeMounts"][0])
    expected = dict(recorded_pod["spec"]["containers"][0]["volumeMounts"][0])
    assert mount.pop("name") == ours[0]["name"] and expected.pop("name") == theirs[0]["name"]
    assert mount == expected
    assert pod["spec"]["serviceAccountName"] == pod["spec"]["serviceAccount"] == "default"


def test_automount_false_and_a_missing_service_account(fleet):
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "no-token"},
                "spec": {"automountServiceAccountToken": False, "restartPolicy": "Never",
                         "containers": [{"name": "c", "image": "alpine", "command": ["true"]}]}}
    fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    assert "volumes" not in pod_json(fleet, "no-token")["spec"]
    fleet.kubectl("create", "serviceaccount", "quiet")
    fleet.kubectl("patch", "serviceaccount", "quiet", "-p", '{"automountServiceAccountToken": false}')
    manifest["metadata"]["name"] = "quiet-pod"
    manifest["spec"] = {"serviceAccountName": "quiet", "restartPolicy": "Never", "containers": manifest["spec"]["containers"]}
    fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    assert "volumes" not in pod_json(fleet, "quiet-pod")["spec"]
    manifest["metadata"]["name"] = "ghost-pod"
    manifest["spec"]["serviceAccountName"] = "ghost"
    r = fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=False)
    assert r.returncode != 0
    assert 'pods "ghost-pod" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found' in r.stderr


def test_a_process_in_a_pod_calls_the_api_with_its_mounted_token(fleet):
    kubernetes = pytest.importorskip("kubernetes")
    # The official client's in-cluster loader, pointed at the files the kubelet projected; the
    # paths are the container's and EdgeSim rewrites them to the pod's sandbox.
    script = (
        "import sys\n"
        "from kubernetes import client, config\n"
        "from kubernetes.config.incluster_config import InClusterConfigLoader\n"
        "d = sys.argv[1]\n"
        "InClusterConfigLoader(token_filename=d + '/token', cert_filename=d + '/ca.crt').load_and_set()\n"
        "ns = open(d + '/namespace').read()\n"
        "names = [p.metadata.name for p in client.CoreV1Api().list_namespaced_pod(ns).items]\n"
        "print('pods:', ' '.join(sorted(names)))\n"
    )
    fleet.kubectl("create", "serviceaccount", "lister")
    fleet.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    fleet.kubectl("create", "rolebinding", "lister-reads", "--role=pod-reader", "--serviceaccount=default:lister")
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "in-cluster"},
                "spec": {"serviceAccountName": "lister", "restartPolicy": "Never",
                         "containers": [{"name": "c", "image": "python:3.12", "command": [PY, "-c", script, "/var/run/secrets/kubernetes.io/serviceaccount"]}]}}
    fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    phase = wait_for(lambda: pod_json(fleet, "in-cluster")["status"].get("phase") in ("Succeeded", "Failed") and pod_json(fleet, "in-cluster")["status"]["phase"], timeout=60)
    logs = fleet.kubectl("logs", "in-cluster").stdout
    assert phase == "Succeeded", logs
    assert "in-cluster" in logs.split("pods:")[1].split()


def test_our_client_in_cluster_labels_a_node_under_its_own_rbac(fleet):
    # `edgeml node-agent --once` uses KubeClient's in-cluster configuration: the node is labelled
    # only if the token authenticates as the agent's service account and RBAC lets it patch nodes.
    fleet.kubectl("create", "namespace", "agent")
    fleet.kubectl("create", "serviceaccount", "node-agent", "-n", "agent")
    fleet.kubectl("create", "clusterrole", "node-labeller", "--verb=get,list,watch,patch,update", "--resource=nodes")
    fleet.kubectl("create", "clusterrolebinding", "node-agent-labels", "--clusterrole=node-labeller", "--serviceaccount=agent:node-agent")
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "label-once", "namespace": "agent"},
                "spec": {"serviceAccountName": "node-agent", "restartPolicy": "Never", "nodeName": "orin-nx-16gb-0",
                         "containers": [{"name": "agent", "image": "edgeml", "command": [EDGEML, "node-agent", "--once",
                                                                                           "--fixture", "agx-orin-64gb-r36.4.3"],
                                         "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]}}
    fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    phase = wait_for(lambda: pod_json(fleet, "label-once", "agent")["status"].get("phase") in ("Succeeded", "Failed") and pod_json(fleet, "label-once", "agent")["status"]["phase"], timeout=60)
    logs = fleet.kubectl("logs", "label-once", "-n", "agent").stdout
    assert phase == "Succeeded", logs
    node = json.loads(fleet.kubectl("get", "node", "orin-nx-16gb-0", "-o", "json").stdout)
    assert node["metadata"]["labels"].get("edgeml.io/jetson.module") == "agx-orin-64gb"


def test_a_deleted_pods_token_stops_authenticating(fleet):
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "short-lived"},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "alpine", "command": ["sleep", "120"]}]}}
    fleet.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    assert wait_for(lambda: pod_json(fleet, "short-lived")["status"].get("phase") == "Running", timeout=60)
    pod = pod_json(fleet, "short-lived")
    token_file = os.path.join(fleet.sim_root, "pods", pod["metadata"]["uid"], "volumes", pod["spec"]["volumes"][0]["name"], "token")
    token = open(token_file).read()
    c = claims(token)
    assert c["kubernetes.io"]["pod"] == {"name": "short-lived", "uid": pod["metadata"]["uid"]}
    assert c["kubernetes.io"]["node"]["name"] == pod["spec"]["nodeName"]
    # The kubelet's token lives a year with a warning after an hour (the extended projected token).
    assert c["kubernetes.io"]["warnafter"] - c["iat"] == 3607 and c["exp"] - c["iat"] == 365 * 24 * 3600
    assert fleet.kubectl("get", "pods", "--token", token, check=False).returncode != 0   # default SA: no RBAC to list
    who = json.loads(fleet.kubectl("auth", "whoami", "--token", token, "-o", "json").stdout)["status"]["userInfo"]
    assert who["extra"]["authentication.kubernetes.io/pod-name"] == ["short-lived"]
    fleet.kubectl("delete", "pod", "short-lived", "--wait=true", "--timeout=60s", timeout=90)
    r = fleet.kubectl("auth", "whoami", "--token", token, check=False)
    assert r.returncode != 0 and "You must be logged in to the server" in r.stderr
