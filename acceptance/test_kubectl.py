"""The real kubectl against `edgeml sim`: what a platform engineer types, and what they should see."""
import json
import subprocess
import time

import pytest

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}, tier: {tier}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: server
        image: nginx:1.25
        ports: [{{containerPort: 80}}]
        env: [{{name: MODE, value: "{mode}"}}]
"""


def deployment(name="web", replicas=2, mode="a", tier="fe"):
    return DEPLOYMENT.format(name=name, replicas=replicas, mode=mode, tier=tier)


def configmap(sim, name, **data):
    """Creates a ConfigMap from a manifest (kubectl's `create configmap` sends protobuf, which the
    emulator does not decode yet)."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    if data:
        obj["data"] = data
    sim.kubectl("create", "-f", "-", input=json.dumps(obj))


def get_json(sim, *args):
    return json.loads(sim.kubectl("get", *args, "-o", "json").stdout)


def test_namespaces_of_a_fresh_cluster_are_listed_as_a_table(sim):
    out = sim.kubectl("get", "namespaces").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    names = [l.split()[0] for l in lines[1:]]
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)
    assert all(l.split()[1] == "Active" for l in lines[1:])


def test_api_resources_lists_builtins_with_short_names(sim):
    out = sim.kubectl("api-resources").stdout
    rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
    assert rows["deployments"][1] == "deploy"
    assert rows["pods"][1] == "po"
    assert "statefulsets" in rows and "cronjobs" in rows and "poddisruptionbudgets" in rows
    assert "replicationcontrollers" in rows and "leases" in rows


def test_apply_twice_with_an_edit_updates_through_strategic_merge(sim):
    out = sim.kubectl("apply", "-f", "-", input=deployment(replicas=2, mode="a")).stdout
    assert "deployment.apps/web created" in out
    first = get_json(sim, "deployment", "web")
    assert first["metadata"]["generation"] == 1
    out = sim.kubectl("apply", "-f", "-", input=deployment(replicas=3, mode="b")).stdout
    assert "deployment.apps/web configured" in out
    second = get_json(sim, "deployment", "web")
    assert second["spec"]["replicas"] == 3
    env = second["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "MODE", "value": "b"}]
    assert second["metadata"]["generation"] == 2
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    annotation = second["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(annotation)["spec"]["replicas"] == 3
    # Unchanged input: nothing written.
    out = sim.kubectl("apply", "-f", "-", input=deployment(replicas=3, mode="b")).stdout
    assert "unchanged" in out


def test_get_outputs_table_yaml_and_json(sim):
    sim.kubectl("apply", "-f", "-", input=deployment(name="shop", replicas=1))
    table = sim.kubectl("get", "deploy", "shop").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:2] == ["shop", "0/1"]
    wide = sim.kubectl("get", "deploy", "shop", "-o", "wide").stdout.splitlines()
    assert "IMAGES" in wide[0] and "nginx:1.25" in wide[1]
    yaml_out = sim.kubectl("get", "deploy", "shop", "-o", "yaml").stdout
    assert "kind: Deployment" in yaml_out and "revisionHistoryLimit: 10" in yaml_out
    obj = get_json(sim, "deploy", "shop")
    assert obj["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_label_and_field_selectors_filter(sim):
    for i, tier in enumerate(["fe", "be", "be"]):
        configmap(sim, f"sel-{i}")
        sim.kubectl("label", "configmap", f"sel-{i}", f"tier={tier}")
    names = sim.kubectl("get", "cm", "-l", "tier=be", "-o", "name").stdout.split()
    assert names == ["configmap/sel-1", "configmap/sel-2"]
    names = sim.kubectl("get", "cm", "-l", "tier!=be,tier", "-o", "name").stdout.split()
    assert names == ["configmap/sel-0"]
    names = sim.kubectl("get", "cm", "--field-selector", "metadata.name=sel-2", "-o", "name").stdout.split()
    assert names == ["configmap/sel-2"]
    r = sim.kubectl("get", "cm", "--field-selector", "spec.bogus=1", check=False)
    assert r.returncode != 0 and "field label not supported: spec.bogus" in r.stderr


def test_get_watch_prints_changes_until_the_request_timeout(sim):
    configmap(sim, "watched")
    proc = subprocess.Popen(["kubectl", "--kubeconfig", sim.kubeconfig, "--cache-dir", sim.cache, "get", "cm", "watched",
                             "-w", "--request-timeout=8s", "-o", "custom-columns=NAME:.metadata.name,V:.data.v"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sim.kubectl("get", "cm", "watched")   # warms the discovery cache the watcher shares
    time.sleep(3)
    sim.kubectl("patch", "cm", "watched", "--type", "merge", "-p", '{"data":{"v":"one"}}')
    sim.kubectl("patch", "cm", "watched", "--type", "merge", "-p", '{"data":{"v":"two"}}')
    out, _ = proc.communicate(timeout=30)
    values = [l.split()[1] if len(l.split()) > 1 else "" for l in out.splitlines()[1:]]
    assert "one" in values and "two" in values
    assert values.index("one") < values.index("two")


def test_describe_shows_the_object(sim):
    sim.kubectl("apply", "-f", "-", input=deployment(name="desc", replicas=1))
    out = sim.kubectl("describe", "deployment", "desc").stdout
    assert "Name:" in out and "desc" in out
    assert "Replicas:" in out and "RollingUpdate" in out


def owner_and_dependents(sim, owner):
    configmap(sim, owner)
    uid = get_json(sim, "cm", owner)["metadata"]["uid"]
    for i in range(2):
        dep = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": f"{owner}-dep-{i}",
                            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid,
                                                 "blockOwnerDeletion": True}]}}
        sim.kubectl("create", "-f", "-", input=json.dumps(dep))
    return uid


def names_of_cms(sim):
    return set(sim.kubectl("get", "cm", "-o", "name").stdout.split())


@pytest.mark.parametrize("cascade,dependents_survive", [("background", False), ("foreground", False), ("orphan", True)])
def test_delete_cascade_handles_dependents(sim, cascade, dependents_survive):
    owner = f"owner-{cascade}"
    sim.kubectl("delete", "cm", owner, f"--cascade={cascade}", check=False)
    owner_and_dependents(sim, owner)
    sim.kubectl("delete", "cm", owner, f"--cascade={cascade}", "--wait=true", "--timeout=20s")
    names = names_of_cms(sim)
    assert f"configmap/{owner}" not in names
    for i in range(2):
        assert (f"configmap/{owner}-dep-{i}" in names) == dependents_survive
    if dependents_survive:
        refs = get_json(sim, "cm", f"{owner}-dep-0")["metadata"].get("ownerReferences")
        assert not refs


def test_patch_types(sim):
    sim.kubectl("apply", "-f", "-", input=deployment(name="patchme", replicas=1))
    sim.kubectl("patch", "deploy", "patchme", "--type", "merge", "-p", '{"spec":{"replicas":4}}')
    assert get_json(sim, "deploy", "patchme")["spec"]["replicas"] == 4
    sim.kubectl("patch", "deploy", "patchme", "--type", "json", "-p", '[{"op":"replace","path":"/spec/replicas","value":5}]')
    assert get_json(sim, "deploy", "patchme")["spec"]["replicas"] == 5
    sim.kubectl("patch", "deploy", "patchme", "--type", "strategic", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}')
    containers = get_json(sim, "deploy", "patchme")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sidecar", "server"] or [c["name"] for c in containers] == ["server", "sidecar"]
    r = sim.kubectl("patch", "deploy", "patchme", "--type", "json", "-p", '[{"op":"test","path":"/spec/replicas","value":99}]', check=False)
    assert r.returncode != 0


def test_wait_for_a_condition(sim):
    sim.kubectl("apply", "-f", "-", input='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"waiting"}}')
    out = sim.kubectl("wait", "--for=jsonpath={.status.phase}=Active", "namespace/waiting", "--timeout=10s").stdout
    assert "condition met" in out


def test_stale_update_is_a_conflict(sim):
    configmap(sim, "stale", a="1")
    obj = get_json(sim, "cm", "stale")
    sim.kubectl("patch", "cm", "stale", "--type", "merge", "-p", '{"data":{"a":"2"}}')
    obj["data"]["a"] = "3"
    r = sim.kubectl("replace", "-f", "-", input=json.dumps(obj), check=False)
    assert r.returncode != 0
    assert "Conflict" in r.stderr
    assert 'Operation cannot be fulfilled on configmaps "stale": the object has been modified' in r.stderr


def test_invalid_object_is_rejected_with_the_field_and_reason(sim):
    bad = deployment(name="Bad_Name")
    r = sim.kubectl("apply", "-f", "-", input=bad, check=False)
    assert r.returncode != 0
    # kubectl rewrites an Invalid Status as "The KIND "NAME" is invalid: <causes>".
    assert 'The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label' in r.stderr


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            required: [size]
            properties:
              size: {type: integer, minimum: 1, description: "How big the widget is, in units."}
              color: {type: string, enum: [red, blue], default: red, description: "The colour of the widget."}
"""


def test_crd_serves_objects_with_printer_columns_and_explain(sim):
    sim.kubectl("apply", "-f", "-", input=CRD)
    sim.kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s")
    sim.kubectl("apply", "-f", "-", input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n")
    table = sim.kubectl("get", "wd").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "AGE"]
    assert table[1].split()[:2] == ["w1", "3"]
    w = get_json(sim, "widget", "w1")
    assert w["spec"]["color"] == "red"   # schema default applied
    explain = sim.kubectl("explain", "widget.spec.size").stdout
    assert "How big the widget is, in units." in explain
    r = sim.kubectl("apply", "-f", "-", input="apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0, color: green}\n", check=False)
    assert r.returncode != 0
    assert 'spec.color: Unsupported value: "green": supported values: "red", "blue"' in r.stderr
    assert "spec.size in body should be greater than or equal to 1" in r.stderr
    sim.kubectl("delete", "crd", "widgets.example.com")
    r = sim.kubectl("get", "widgets", check=False)
    assert r.returncode != 0


@pytest.mark.parametrize("args,created", [
    (["create", "namespace", "pb-ns"], "namespace/pb-ns created"),
    (["create", "configmap", "pb-cm", "--from-literal=a=b"], "configmap/pb-cm created"),
    (["create", "secret", "generic", "pb-secret", "--from-literal=password=s3cret"], "secret/pb-secret created"),
    (["create", "serviceaccount", "pb-sa"], "serviceaccount/pb-sa created"),
    (["create", "deployment", "pb-deploy", "--image=nginx:1.25", "--replicas=0"], "deployment.apps/pb-deploy created"),
    (["create", "job", "pb-job", "--image=busybox"], "job.batch/pb-job created"),
    (["create", "role", "pb-role", "--verb=get", "--resource=pods"], "role.rbac.authorization.k8s.io/pb-role created"),
    (["create", "poddisruptionbudget", "pb-pdb", "--selector=app=x", "--min-available=1"], "poddisruptionbudget.policy/pb-pdb created"),
    (["create", "quota", "pb-quota", "--hard=pods=10"], "resourcequota/pb-quota created"),
])
def test_kubectl_create_subcommands_send_protobuf_and_work(sim, args, created):
    assert created in sim.kubectl(*args).stdout


def test_protobuf_created_objects_read_back_as_sent(sim):
    sim.kubectl("create", "deployment", "pb-zero", "--image=nginx:1.25", "--replicas=0")
    d = get_json(sim, "deployment", "pb-zero")
    assert d["spec"]["replicas"] == 0          # an explicit zero survives protobuf decoding
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    sim.kubectl("create", "secret", "generic", "pb-s2", "--from-literal=k=v")
    assert get_json(sim, "secret", "pb-s2")["data"] == {"k": "dg=="}


def test_auth_can_i_and_whoami(sim):
    assert sim.kubectl("auth", "can-i", "list", "pods").stdout.strip() == "yes"
    out = sim.kubectl("auth", "whoami").stdout
    assert "admin" in out and "system:masters" in out


def test_get_pdb_prints_the_budget_columns_a_real_server_prints(sim):
    # printers.go podDisruptionBudgetColumnDefinitions: NAME, MIN AVAILABLE, MAX UNAVAILABLE,
    # ALLOWED DISRUPTIONS, AGE; a bound that is not set is "N/A".
    sim.kubectl("apply", "-f", "-", input="""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb-min}
spec: {minAvailable: 2, selector: {matchLabels: {app: pdb-min}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb-max}
spec: {maxUnavailable: "25%", selector: {matchLabels: {app: pdb-max}}}
""")
    sim.kubectl("patch", "pdb", "pdb-max", "--subresource=status", "--type=merge",
                "-p", '{"status": {"disruptionsAllowed": 1, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}}')
    lines = sim.kubectl("get", "pdb", "pdb-min", "pdb-max").stdout.splitlines()
    assert lines[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    rows = {l.split()[0]: l.split()[1:4] for l in lines[1:]}
    assert rows == {"pdb-min": ["2", "N/A", "0"], "pdb-max": ["N/A", "25%", "1"]}


EDGEMODEL = """
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {name: detector}
spec:
  model: {uri: "https://models.example.com/detector.onnx"}
"""


def test_apply_of_a_custom_resource_before_its_crd_says_to_install_the_crds(sim):
    # kubectl finds no edgeml.io/v1alpha1 in OpenAPI v3, asks /openapi/v2 in protobuf for the kind's
    # PATCH parameters, then maps the kind: a real server's answer is the RESTMapper's error.
    r = sim.kubectl("apply", "-f", "-", input=EDGEMODEL, check=False)
    assert r.returncode != 0
    assert 'no matches for kind "EdgeModel" in version "edgeml.io/v1alpha1"' in r.stderr
    assert "ensure CRDs are installed first" in r.stderr
    assert "content type" not in r.stderr


def test_apply_of_a_kind_list_creates_every_item(sim):
    # What `kubectl get -o yaml` writes and many GitOps pipelines produce.
    listed = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed-a"}, "data": {"k": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed-b"}, "data": {"k": "b"}},
    ]}
    out = sim.kubectl("apply", "-f", "-", input=json.dumps(listed)).stdout
    assert "configmap/listed-a created" in out and "configmap/listed-b created" in out
    assert get_json(sim, "configmap", "listed-b")["data"] == {"k": "b"}
    # What `kubectl get -o yaml` wrote (a List of the live objects) applies back.
    written = sim.kubectl("get", "configmap", "listed-a", "listed-b", "-o", "yaml").stdout
    assert written.startswith("apiVersion: v1\nitems:")
    again = sim.kubectl("apply", "-f", "-", input=written.replace("k: b", "k: b2")).stdout
    assert "configmap/listed-a" in again and "configmap/listed-b configured" in again
    assert get_json(sim, "configmap", "listed-b")["data"] == {"k": "b2"}
