"""Emulator answers compared with the upstream documents where those define the answer."""
import json
import os
import ssl
import urllib.request

import pytest

from conftest import ROOT, UPSTREAM, Sim


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


def test_discovery_and_openapi_follow_a_crd_created_and_deleted():
    """What the served documents must derive from the cluster's state, not copy from a file: a CRD
    adds its group to /apis and its group version, with the resource's verbs, short names,
    categories and scope, to discovery; its schema to /openapi/v3 and /openapi/v2; deleting it
    removes all of that and the answers return to what they were."""
    s = Sim()
    try:
        before_groups = json.loads(get(s, "/apis")[1])
        before_index = json.loads(get(s, "/openapi/v3")[1])["paths"]
        before_v2 = set(json.loads(get(s, "/openapi/v2")[1])["definitions"])
        s.kubectl("apply", "-f", os.path.join(ROOT, "crds", "edgemodels.edgeml.io.yaml"))
        s.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")

        groups = json.loads(get(s, "/apis")[1])["groups"]
        edgeml = next(g for g in groups if g["name"] == "edgeml.io")
        assert edgeml["preferredVersion"] == {"groupVersion": "edgeml.io/v1alpha1", "version": "v1alpha1"}
        resources = {r["name"]: r for r in json.loads(get(s, "/apis/edgeml.io/v1alpha1")[1])["resources"]}
        em = resources["edgemodels"]
        assert em["kind"] == "EdgeModel" and em["namespaced"] is True and em["singularName"] == "edgemodel"
        assert em["shortNames"] == ["em"] and em["categories"] == ["edgeml"]
        assert set(em["verbs"]) == {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
        assert resources["edgemodels/status"]["verbs"] == ["get", "patch", "update"]
        # kubectl finds it by short name and category through that discovery.
        assert s.kubectl("get", "em").returncode == 0 and s.kubectl("get", "edgeml").returncode == 0

        index = json.loads(get(s, "/openapi/v3")[1])["paths"]
        assert set(index) - set(before_index) == {"apis/edgeml.io/v1alpha1"}
        v3 = json.loads(get(s, index["apis/edgeml.io/v1alpha1"]["serverRelativeURL"])[1])
        schema = v3["components"]["schemas"]["io.edgeml.v1alpha1.EdgeModel"]
        assert "model" in schema["properties"]["spec"]["properties"]
        assert schema["x-kubernetes-group-version-kind"] == [{"group": "edgeml.io", "kind": "EdgeModel", "version": "v1alpha1"}]
        v2 = set(json.loads(get(s, "/openapi/v2")[1])["definitions"])
        assert "io.edgeml.v1alpha1.EdgeModel" in v2 and "io.edgeml.v1alpha1.EdgeModelList" in v2

        s.kubectl("delete", "crd", "edgemodels.edgeml.io", "--wait=true", "--timeout=30s")
        assert json.loads(get(s, "/apis")[1]) == before_groups
        assert get(s, "/apis/edgeml.io/v1alpha1")[0] == 404
        assert json.loads(get(s, "/openapi/v3")[1])["paths"] == before_index
        assert set(json.loads(get(s, "/openapi/v2")[1])["definitions"]) == before_v2
    finally:
        s.stop()
