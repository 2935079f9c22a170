"""What a real API server refuses on size: annotations over 256 KiB, bodies over 3 MiB, and objects
that would not fit in etcd (a small YAML document whose aliases expand)."""
import json
import ssl
import urllib.error
import urllib.request

ANNOTATED = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations:
    a.edgeml.io/blob: "{blob}"
"""


def test_annotations_over_256_kib_are_refused_with_422(sim):
    # apimachinery pkg/api/validation/objectmeta.go: ValidateAnnotationsSize, TotalAnnotationSizeLimitB.
    key = "a.edgeml.io/blob"
    r = sim.kubectl("create", "-f", "-", input=ANNOTATED.format(name="too-much", blob="x" * (262144 - len(key) + 1)), check=False)
    assert r.returncode != 0
    assert ('The ConfigMap "too-much" is invalid: metadata.annotations: Too long: must have at most 262144 bytes'
            in r.stderr), r.stderr
    assert sim.kubectl("get", "configmap", "too-much", check=False).returncode != 0
    # Exactly at the limit is fine.
    sim.kubectl("create", "-f", "-", input=ANNOTATED.format(name="just-enough", blob="x" * (262144 - len(key))))
    # An update that pushes them over is refused as well.
    r = sim.kubectl("annotate", "configmap", "just-enough", "b.edgeml.io/more=y", check=False)
    assert r.returncode != 0 and "metadata.annotations: Too long: must have at most 262144 bytes" in r.stderr
    sim.kubectl("delete", "configmap", "just-enough")


def test_a_body_over_3_mib_is_refused_with_413(sim):
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"},
                       "data": {"blob": "x" * (3 * 1024 * 1024)}})
    r = sim.kubectl("create", "--raw", "/api/v1/namespaces/default/configmaps", "-f", "-", input=body, check=False)
    assert r.returncode != 0
    assert "Request entity too large: limit is 3145728" in r.stderr, r.stderr
    assert sim.kubectl("get", "configmap", "huge", check=False).returncode != 0


def alias_bomb(name, copies=5000):
    """A ConfigMap of 60 KiB whose aliases expand to 40 MiB: one 8 KiB value, aliased under 5 000
    keys. Every alias stands for a single node, so go-yaml's excessive-aliasing guard (which counts
    nodes decoded inside aliases against all nodes) lets it through, in kubectl as in the server."""
    lines = ["apiVersion: v1", "kind: ConfigMap", f"metadata: {{name: {name}}}", "data:", "  seed: &s " + "y" * 8192]
    lines += [f"  k{i}: *s" for i in range(copies)]
    return "\n".join(lines) + "\n"


def post(sim, path, body, content_type):
    token = open(sim.kubeconfig).read().split("token: ")[1].split()[0]
    req = urllib.request.Request(sim.url + path, data=body.encode(), method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", content_type)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_yaml_whose_aliases_expand_past_etcds_limit_is_not_stored(sim):
    # Sent as YAML, the server expands it: etcd refuses the object (its --max-request-bytes,
    # 1.5 MiB), and kube-apiserver answers 500 with etcd's message.
    code, status = post(sim, "/api/v1/namespaces/default/configmaps", alias_bomb("expanded"), "application/yaml")
    assert code == 500, status
    assert status["message"] == "etcdserver: request is too large"
    assert "reason" not in status
    r = sim.kubectl("get", "--raw", "/api/v1/namespaces/default/configmaps/expanded", check=False)
    assert r.returncode != 0
    # A small document with aliases is fine.
    code, created = post(sim, "/api/v1/namespaces/default/configmaps", alias_bomb("small", copies=3), "application/yaml")
    assert code == 201, created
    assert created["data"]["k2"] == "y" * 8192
    sim.kubectl("delete", "configmap", "small")
