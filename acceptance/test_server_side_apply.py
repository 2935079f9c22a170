"""Server-side apply with the real kubectl: field managers, conflicts, --force-conflicts.

The expected messages are kube-apiserver's (k8s.io/apimachinery
pkg/util/managedfields/internal/conflict.go) as kubectl prints them.
"""
import json

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa-demo
  namespace: default
data:
  color: {color}
  size: small
"""


def apply(sim, color, manager, *extra, check=True):
    return sim.kubectl("apply", "--server-side", f"--field-manager={manager}", *extra, "-f", "-",
                       input=CM.format(color=color), check=check)


def managers(sim):
    out = sim.kubectl("get", "configmap", "ssa-demo", "-o", "json", "--show-managed-fields").stdout
    obj = json.loads(out)
    return obj, {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def test_apply_creates_with_apply_manager(sim):
    r = apply(sim, "red", "alice")
    assert "serverside-applied" in r.stdout
    obj, entries = managers(sim)
    assert obj["data"] == {"color": "red", "size": "small"}
    assert entries["alice"]["operation"] == "Apply"
    assert entries["alice"]["fieldsV1"] == {"f:data": {"f:color": {}, "f:size": {}}}


def test_second_manager_conflicts_and_force_resolves(sim):
    r = apply(sim, "blue", "bob", check=False)
    assert r.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice": .data.color' in r.stderr
    assert "--force-conflicts" in r.stderr   # kubectl's advice on a conflict
    obj, _ = managers(sim)
    assert obj["data"]["color"] == "red"

    r = apply(sim, "blue", "bob", "--force-conflicts")
    assert "serverside-applied" in r.stdout
    obj, entries = managers(sim)
    assert obj["data"]["color"] == "blue"
    assert entries["bob"]["fieldsV1"] == {"f:data": {"f:color": {}, "f:size": {}}}
    assert entries["alice"]["fieldsV1"] == {"f:data": {"f:size": {}}}


def test_same_value_is_shared_not_a_conflict(sim):
    r = apply(sim, "blue", "carol")
    assert "serverside-applied" in r.stdout
    _, entries = managers(sim)
    assert "f:color" in entries["carol"]["fieldsV1"]["f:data"]
    assert "f:color" in entries["bob"]["fieldsV1"]["f:data"]


def test_client_side_edits_are_recorded_as_update_managers(sim):
    sim.kubectl("label", "configmap", "ssa-demo", "team=ml")
    _, entries = managers(sim)
    labeller = [e for e in entries.values() if e["operation"] == "Update"]
    assert labeller and labeller[0]["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:team": {}}}}


def test_python_client_apply_reports_conflicts_as_409(sim):
    """The official Python client applies with `_content_type="application/apply-patch+yaml"`."""
    import pytest
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    api = client.CoreV1Api(config.new_client_from_config(config_file=sim.kubeconfig))
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa"}, "data": {"mode": "fast"}}
    created = api.patch_namespaced_config_map("py-ssa", "default", body, field_manager="py-one",
                                              _content_type="application/apply-patch+yaml")
    assert created.data == {"mode": "fast"}
    assert [(m.manager, m.operation) for m in created.metadata.managed_fields] == [("py-one", "Apply")]

    body["data"]["mode"] = "slow"
    with pytest.raises(ApiException) as failure:
        api.patch_namespaced_config_map("py-ssa", "default", body, field_manager="py-two",
                                        _content_type="application/apply-patch+yaml")
    assert failure.value.status == 409
    status = json.loads(failure.value.body)
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "py-one": .data.mode'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "py-one"', "field": ".data.mode"}]

    forced = api.patch_namespaced_config_map("py-ssa", "default", body, field_manager="py-two", force=True,
                                             _content_type="application/apply-patch+yaml")
    assert forced.data == {"mode": "slow"}


MIGRATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: csa-to-ssa
  namespace: default
data:
  color: {color}
"""


def test_kubectl_moves_from_client_side_to_server_side_apply_without_conflicts(sim):
    sim.kubectl("apply", "-f", "-", input=MIGRATE.format(color="red"))
    r = sim.kubectl("apply", "--server-side", "-f", "-", input=MIGRATE.format(color="green"))
    assert "serverside-applied" in r.stdout
    obj = json.loads(sim.kubectl("get", "configmap", "csa-to-ssa", "-o", "json", "--show-managed-fields").stdout)
    assert obj["data"] == {"color": "green"}
    entries = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
    assert entries["kubectl"]["operation"] == "Apply"
    last = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["data"] == {"color": "green"}
    # And back: client-side apply still works from the updated annotation.
    sim.kubectl("apply", "-f", "-", input=MIGRATE.format(color="blue"))
    obj = json.loads(sim.kubectl("get", "configmap", "csa-to-ssa", "-o", "json").stdout)
    assert obj["data"] == {"color": "blue"}


DEPLOYMENT_WITHOUT_PROTOCOL = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa-ports
  namespace: default
spec:
  replicas: 1
  selector: {matchLabels: {app: ssa-ports}}
  template:
    metadata: {labels: {app: ssa-ports}}
    spec:
      containers:
      - name: triton
        image: nvcr.io/nvidia/tritonserver:24.08-py3
        ports:
        - {containerPort: 8000, name: http}
        - {containerPort: 8002, name: metrics}
"""


def test_reapplying_ports_without_protocol_changes_nothing(sim):
    # The server defaults protocol: TCP, and server-side apply keys the ports by containerPort and
    # protocol with that default (structured-merge-diff, kubernetes PR #98576), so the applied ports
    # are the stored ones, not new ones.
    def applied():
        sim.kubectl("apply", "--server-side", "--field-manager=edge-team", "-f", "-", input=DEPLOYMENT_WITHOUT_PROTOCOL)
        return json.loads(sim.kubectl("get", "deployment", "ssa-ports", "-o", "json", "--show-managed-fields").stdout)

    first = applied()
    second = applied()
    ports = second["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert ports == [{"containerPort": 8000, "name": "http", "protocol": "TCP"},
                     {"containerPort": 8002, "name": "metrics", "protocol": "TCP"}]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert second["metadata"]["generation"] == first["metadata"]["generation"] == 1
    entry = next(e for e in second["metadata"]["managedFields"] if e["manager"] == "edge-team")
    container = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"triton"}']
    assert set(container["f:ports"]) == {'k:{"containerPort":8000,"protocol":"TCP"}', 'k:{"containerPort":8002,"protocol":"TCP"}'}
    sim.kubectl("delete", "deployment", "ssa-ports")
