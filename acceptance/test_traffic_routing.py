"""The traffic-routing examples with the real kubectl: each applies cleanly on `edgeml sim` with the
router's real CRD installed (Gateway API v1.6.1, Traefik v3, Tests/Fixtures/crds), and the objects a
router writes into them are accepted by `kubectl apply --server-side` of a second manager only as
server-side apply allows: the HTTPRoute's rules are one atomic field, so a second manager that applies
one weight conflicts on `.spec.rules` — the reason the routers read, modify and update instead
(docs/traffic-routing.md). The routers themselves run against the emulator with this same kubectl in
Tests/EdgeMLTests/Routing/KubectlApplyTests.swift."""
import glob
import json
import os

import pytest

from conftest import FIXTURES, ROOT

EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "traffic-routing", "*.yaml")))
CRDS = [os.path.join(FIXTURES, "crds", "gateway-api-v1.6.1", "gateway.networking.k8s.io_httproutes.yaml"),
        os.path.join(FIXTURES, "crds", "traefik-v3", "traefik.io_traefikservices.yaml"),
        os.path.join(FIXTURES, "crds", "traefik-v3", "traefik.io_ingressroutes.yaml"),
        os.path.join(ROOT, "crds", "rollouts.edgeml.io.yaml")]


@pytest.fixture(scope="module")
def routing_sim(sim):
    for crd in CRDS:
        sim.kubectl("apply", "-f", crd)
    for name in ["httproutes.gateway.networking.k8s.io", "traefikservices.traefik.io", "ingressroutes.traefik.io",
                 "rollouts.edgeml.io"]:
        sim.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=20s")
    return sim


def test_there_is_an_example_per_router_that_writes_an_object():
    assert [os.path.basename(p) for p in EXAMPLES] == ["gateway-api.yaml", "nginx.yaml", "traefik.yaml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_traffic_routing_example_applies_cleanly(routing_sim, path):
    r = routing_sim.kubectl("apply", "-f", path)
    assert "created" in r.stdout or "configured" in r.stdout or "unchanged" in r.stdout
    assert r.stderr.strip() == ""


WEIGHTED = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: atomic-demo
  namespace: default
spec:
  rules:
  - backendRefs: [{name: detector, port: 8000, weight: 90}, {name: detector-candidate, port: 8000, weight: 10}]
"""

USER = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: atomic-demo
  namespace: default
spec:
  parentRefs: [{name: edge-gateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2/models/detector}}]
    backendRefs: [{name: detector, port: 8000}]
  - matches: [{path: {type: PathPrefix, value: /metrics}}]
    backendRefs: [{name: metrics-proxy, port: 9090}]
"""


def test_an_apply_of_one_weight_would_own_every_rule(routing_sim):
    routing_sim.kubectl("apply", "--server-side", "-f", "-", input=USER)
    r = routing_sim.kubectl("apply", "--server-side", "--field-manager=a-router", "-f", "-", input=WEIGHTED, check=False)
    assert r.returncode != 0
    assert 'conflict with "kubectl"' in r.stderr and r.stderr.count(".spec.") == 1 and ".spec.rules" in r.stderr
    # Forced, it takes the whole list: the user's /metrics rule is gone.
    routing_sim.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=a-router", "-f", "-", input=WEIGHTED)
    route = json.loads(routing_sim.kubectl("get", "httproute", "atomic-demo", "-o", "json").stdout)
    assert len(route["spec"]["rules"]) == 1
