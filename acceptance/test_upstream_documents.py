"""Emulator answers compared with the upstream documents where those define the answer."""
import json
import os
import ssl
import urllib.request

import pytest

from conftest import UPSTREAM, Sim


def get(sim, path, token=None, accept="application/json"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(sim.url + path)
    if token is not False:
        req.add_header("Authorization", f"Bearer {token or open(sim.kubeconfig).read().split('token: ')[1].split()[0]}")
    req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize("doc", ["api__v1_openapi.json", "apis__apps__v1_openapi.json", "apis__batch__v1_openapi.json",
                                 "apis__coordination.k8s.io__v1_openapi.json"])
def test_openapi_v3_for_builtins_is_the_upstream_document(sim, doc):
    path = "/openapi/v3/" + doc[: -len("_openapi.json")].replace("__", "/")
    status, body = get(sim, path)
    assert status == 200
    assert json.loads(body) == json.load(open(os.path.join(UPSTREAM, "openapi-v3", doc)))


def test_openapi_v3_index_points_at_every_served_group_version(sim):
    status, body = get(sim, "/openapi/v3")
    paths = json.loads(body)["paths"]
    assert "apis/apps/v1" in paths and "api/v1" in paths and "apis/rbac.authorization.k8s.io/v1" in paths
    # A group version with no bundled v3 document is converted from v2 with component refs.
    status, body = get(sim, paths["apis/rbac.authorization.k8s.io/v1"]["serverRelativeURL"])
    doc = json.loads(body)
    assert status == 200 and "io.k8s.api.rbac.v1.ClusterRole" in doc["components"]["schemas"]
    assert "#/definitions/" not in body.decode()


def test_openapi_v2_carries_upstream_patch_merge_keys(sim):
    status, body = get(sim, "/openapi/v2")
    served = json.loads(body)["definitions"]
    upstream = json.load(open(os.path.join(UPSTREAM, "swagger.json")))["definitions"]
    for name in ["io.k8s.api.core.v1.PodSpec", "io.k8s.api.core.v1.Container", "io.k8s.api.apps.v1.DeploymentSpec"]:
        assert served[name] == upstream[name]
    containers = served["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name" and containers["x-kubernetes-patch-strategy"] == "merge"


def test_discovery_groups_match_a_real_v136_server(sim):
    status, body = get(sim, "/apis")
    recorded = json.load(open(os.path.join(UPSTREAM, "apis-APIGroupList.json")))
    assert json.loads(body) == recorded


def test_status_shapes_match_recorded_ones(sim):
    status, body = get(sim, "/api/v1/namespaces/default/pods/missing")
    s = json.loads(body)
    assert status == 404
    assert list(s) == ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
    assert s["details"] == {"name": "missing", "kind": "pods"}


def test_anonymous_and_bad_tokens_are_unauthorized(sim):
    assert get(sim, "/api/v1/namespaces", token=False)[0] == 401
    status, body = get(sim, "/api/v1/namespaces", token="not-a-token")
    assert status == 401 and json.loads(body)["reason"] == "Unauthorized"
    assert get(sim, "/version", token=False)[0] == 200


def test_kubectl_with_a_client_certificate():
    s = Sim("--client-cert")
    try:
        assert "client-certificate-data" in open(s.kubeconfig).read()
        out = s.kubectl("get", "namespaces", "-o", "name").stdout.split()
        assert "namespace/default" in out
        who = s.kubectl("auth", "whoami", "-o", "json")
        user = json.loads(who.stdout)["status"]["userInfo"]
        assert user["username"] == "admin" and "system:masters" in user["groups"]
    finally:
        s.stop()


def test_kubectl_over_plain_http():
    """kubectl sends no bearer token over plain HTTP; the emulator's HTTP listener (loopback, opt-in)
    treats such requests as the admin, as kube-apiserver's old insecure port did."""
    s = Sim("--insecure-http")
    try:
        assert s.url.startswith("http://")
        assert "namespace/default" in s.kubectl("get", "namespaces", "-o", "name").stdout.split()
    finally:
        s.stop()
