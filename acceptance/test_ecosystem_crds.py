"""CRDs from the ecosystem install with the real kubectl as on a real v1.36 server: Gateway API
v1.6.1, Traefik v3 and prometheus-operator (Tests/Fixtures/crds, provenance in the README there).

Their CEL rules are estimated as kube-apiserver estimates them (HTTPRoute's used to be refused as
too expensive), objects like the projects' own examples apply, and objects that break a rule are
refused with the message that rule carries. CRDs of one group whose names clash get
NamesAccepted=False, as apiextensions-apiserver's naming controller words it."""
import glob
import json
import os

import pytest

from conftest import FIXTURES

CRDS = sorted(glob.glob(os.path.join(FIXTURES, "crds", "*", "*.yaml")))


def crd_name(path):
    # the files are named <group>_<plural>.yaml and hold one CRD named <plural>.<group>
    group, plural = os.path.basename(path)[: -len(".yaml")].split("_", 1)
    return f"{plural}.{group}"


@pytest.fixture(scope="module")
def eco(sim):
    for path in CRDS:
        sim.kubectl("apply", "-f", path)
    for path in CRDS:
        sim.kubectl("wait", "--for=condition=Established", f"crd/{crd_name(path)}", "--timeout=20s")
    return sim


def test_the_fixtures_hold_the_three_projects_crds():
    names = [crd_name(p) for p in CRDS]
    assert "httproutes.gateway.networking.k8s.io" in names and "gateways.gateway.networking.k8s.io" in names
    assert "traefikservices.traefik.io" in names
    assert "servicemonitors.monitoring.coreos.com" in names and "prometheusrules.monitoring.coreos.com" in names
    assert len(names) == 10


@pytest.mark.parametrize("path", CRDS, ids=os.path.basename)
def test_every_crd_is_established_with_its_names_accepted(eco, path):
    crd = json.loads(eco.kubectl("get", "crd", crd_name(path), "-o", "json").stdout)
    conditions = {c["type"]: c for c in crd["status"]["conditions"]}
    assert conditions["NamesAccepted"]["status"] == "True"
    assert conditions["NamesAccepted"]["reason"] == "NoConflicts"
    assert conditions["Established"]["status"] == "True"
    assert crd["status"]["acceptedNames"]["plural"] == crd["spec"]["names"]["plural"]


GATEWAY_CLASS = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: edge
spec:
  controllerName: example.com/gateway-controller
"""

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: edge-gateway
  namespace: default
spec:
  gatewayClassName: edge
  listeners:
  - name: http
    protocol: HTTP
    port: 80
  - name: https
    protocol: HTTPS
    port: 443
    hostname: "*.example.com"
    tls:
      mode: Terminate
      certificateRefs:
      - name: example-com-tls
"""

# A canary split: 90/10 by weight, and requests with the x-canary header all to the new version.
HTTP_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: detector
  namespace: default
spec:
  parentRefs:
  - name: edge-gateway
  hostnames:
  - detector.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /v2/models/detector
      headers:
      - name: x-canary
        value: "true"
    backendRefs:
    - name: detector-v4
      port: 8000
  - matches:
    - path:
        type: PathPrefix
        value: /v2/models/detector
    backendRefs:
    - name: detector-v3
      port: 8000
      weight: 90
    - name: detector-v4
      port: 8000
      weight: 10
"""

TRAEFIK_SERVICE = """
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: detector-wrr
  namespace: default
spec:
  weighted:
    services:
    - name: detector-v3
      port: 8000
      weight: 3
    - name: detector-v4
      port: 8000
      weight: 1
"""

SERVICE_MONITOR = """
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: edgeml-operator
  namespace: default
  labels:
    release: prometheus
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: edgeml-operator
  endpoints:
  - port: metrics
    path: /metrics
    interval: 30s
"""

PROMETHEUS_RULE = """
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: edgeml-alerts
  namespace: default
spec:
  groups:
  - name: edgeml
    rules:
    - alert: EdgeModelDrifted
      expr: edgeml_drift_detected > 0
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: "EdgeModel {{ $labels.name }} has drifted"
"""


@pytest.mark.parametrize("manifest,created", [
    (GATEWAY_CLASS, "gatewayclass.gateway.networking.k8s.io/edge created"),
    (GATEWAY, "gateway.gateway.networking.k8s.io/edge-gateway created"),
    (HTTP_ROUTE, "httproute.gateway.networking.k8s.io/detector created"),
    (TRAEFIK_SERVICE, "traefikservice.traefik.io/detector-wrr created"),
    (SERVICE_MONITOR, "servicemonitor.monitoring.coreos.com/edgeml-operator created"),
    (PROMETHEUS_RULE, "prometheusrule.monitoring.coreos.com/edgeml-alerts created"),
], ids=["gatewayclass", "gateway", "httproute", "traefikservice", "servicemonitor", "prometheusrule"])
def test_the_projects_example_objects_apply(eco, manifest, created):
    r = eco.kubectl("apply", "-f", "-", input=manifest)
    assert r.stdout.strip() == created
    assert r.stderr.strip() == ""


def test_the_httproute_keeps_its_weights_and_header_match(eco):
    eco.kubectl("apply", "-f", "-", input=HTTP_ROUTE)
    route = json.loads(eco.kubectl("get", "httproute", "detector", "-o", "json").stdout)
    rules = route["spec"]["rules"]
    assert [b["weight"] for b in rules[1]["backendRefs"]] == [90, 10]
    assert rules[0]["backendRefs"][0]["weight"] == 1          # the schema's default
    assert rules[0]["matches"][0]["headers"] == [{"name": "x-canary", "type": "Exact", "value": "true"}]


def replace(manifest, old, new):
    assert old in manifest
    return manifest.replace(old, new, 1)


@pytest.mark.parametrize("manifest,message", [
    # HTTPRoute rules[].matches[].path, x-kubernetes-validations[1]
    (replace(replace(HTTP_ROUTE, "name: detector\n", "name: bad-path\n"), "value: /v2/models/detector\n      headers",
             "value: /v2//models\n      headers"),
     """The HTTPRoute "bad-path" is invalid: spec.rules[0].matches[0].path: Invalid value: "object": """
     """must not contain '//' when type one of ['Exact', 'PathPrefix']"""),
    # HTTPRoute rules[].backendRefs[], x-kubernetes-validations[0]
    (replace(replace(HTTP_ROUTE, "name: detector\n", "name: no-port\n"), "- name: detector-v4\n      port: 8000\n  - matches",
             "- name: detector-v4\n  - matches"),
     """The HTTPRoute "no-port" is invalid: spec.rules[0].backendRefs[0]: Invalid value: "object": """
     """Must have port for Service reference"""),
    # Gateway spec.listeners, x-kubernetes-validations[0]
    (replace(replace(GATEWAY, "name: edge-gateway\n", "name: tls-on-http\n"), "    port: 80\n",
             "    port: 80\n    tls:\n      mode: Terminate\n      certificateRefs:\n      - name: example-com-tls\n"),
     """The Gateway "tls-on-http" is invalid: spec.listeners: Invalid value: "array": """
     """tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"""),
], ids=["httproute-path-with-double-slash", "httproute-service-without-port", "gateway-tls-on-http"])
def test_objects_breaking_a_crds_rule_are_refused_with_its_message(eco, manifest, message):
    r = eco.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == message


def test_an_object_invalid_by_schema_is_refused_with_the_schema_message(eco):
    manifest = replace(replace(HTTP_ROUTE, "name: detector\n", "name: heavy\n"), "weight: 90", "weight: 1000001")
    r = eco.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert r.returncode != 0
    assert r.stderr.strip() == (
        """The HTTPRoute "heavy" is invalid: spec.rules[1].backendRefs[0].weight: Invalid value: 1000001: """
        """spec.rules[1].backendRefs[0].weight in body should be less than or equal to 1000000""")


def conflicting_crd(plural, kind, list_kind=None, singular=None):
    names = {"plural": plural, "kind": kind}
    if list_kind:
        names["listKind"] = list_kind
    if singular:
        names["singular"] = singular
    return json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.names.edgeml.io"},
        "spec": {"group": "names.edgeml.io", "scope": "Namespaced", "names": names,
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    })


def conditions(sim, name):
    crd = json.loads(sim.kubectl("get", "crd", name, "-o", "json").stdout)
    return crd, {c["type"]: c for c in crd["status"]["conditions"]}


def test_crds_of_one_group_whose_names_clash_get_names_accepted_false(sim):
    sim.kubectl("apply", "-f", "-", input=conflicting_crd("widgets", "Widget"))
    sim.kubectl("wait", "--for=condition=Established", "crd/widgets.names.edgeml.io", "--timeout=20s")
    # the same kind under other resource names: only the kind clashes (its list kind is free)
    sim.kubectl("apply", "-f", "-", input=conflicting_crd("gadgets", "Widget", list_kind="GadgetList", singular="gadget"))
    # a plural that is the first CRD's singular
    sim.kubectl("apply", "-f", "-", input=conflicting_crd("widget", "Thing", singular="thing"))

    crd, cond = conditions(sim, "gadgets.names.edgeml.io")
    assert {k: cond["NamesAccepted"][k] for k in ("status", "reason", "message")} == {
        "status": "False", "reason": "KindConflict", "message": '"Widget" is already in use'}
    assert {k: cond["Established"][k] for k in ("status", "reason", "message")} == {
        "status": "False", "reason": "NotAccepted", "message": "not all names are accepted"}
    # the names that did not clash are accepted, the kind stays unaccepted
    assert crd["status"]["acceptedNames"] == {"plural": "gadgets", "singular": "gadget", "kind": "", "listKind": "GadgetList"}

    _, cond = conditions(sim, "widget.names.edgeml.io")
    assert {k: cond["NamesAccepted"][k] for k in ("status", "reason", "message")} == {
        "status": "False", "reason": "PluralConflict", "message": '"widget" is already in use'}

    # a CRD that is not Established serves nothing
    r = sim.kubectl("get", "gadgets", check=False)
    assert r.returncode != 0 and 'the server doesn\'t have a resource type "gadgets"' in r.stderr

    # once the first CRD is gone its names are free: the others are accepted and served
    sim.kubectl("delete", "crd", "widgets.names.edgeml.io")
    sim.kubectl("wait", "--for=condition=Established", "crd/gadgets.names.edgeml.io", "--timeout=20s")
    sim.kubectl("wait", "--for=condition=NamesAccepted", "crd/widget.names.edgeml.io", "--timeout=20s")
    assert sim.kubectl("get", "gadgets").returncode == 0


def test_the_operators_service_monitor_is_valid_for_prometheus_operator(eco):
    """manifests/prometheus (https, bearer token, tlsConfig) against prometheus-operator's own CRD schema."""
    from conftest import ROOT
    eco.kubectl("create", "namespace", "edgeml-system", check=False)
    r = eco.kubectl("apply", "-k", os.path.join(ROOT, "manifests", "prometheus"))
    assert r.stdout.strip() == "servicemonitor.monitoring.coreos.com/edgeml-operator created", r.stdout + r.stderr
    endpoint = json.loads(eco.kubectl("get", "servicemonitor", "edgeml-operator", "-n", "edgeml-system", "-o", "json").stdout)["spec"]["endpoints"][0]
    assert endpoint["scheme"] == "https" and endpoint["tlsConfig"] == {"insecureSkipVerify": True}
