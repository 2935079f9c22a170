"""Many sites: the GitOps examples in examples/gitops (docs/many-sites.md) on three EdgeSim clusters at once.

Neither Argo CD nor Rancher Fleet can run here, so this test does what their controllers would do
with our files, and checks the files against what those controllers read:

  * the ApplicationSet, the GitRepo and the Bundle Fleet makes from fleet.yaml are applied to an API
    server holding the projects' own CRDs (Tests/Fixtures/gitops-crds, provenance in the README
    there) with strict field validation, so a misspelt field is refused as a real cluster refuses it;
  * the ApplicationSet's cluster generator and Go template are evaluated for three registered
    clusters (the template may use only the forms evaluated here, or the test fails), and Progressive
    Syncs' steps group them: every Application in exactly one step, the canary ring first;
  * each Application's path is rendered with kustomize and applied to that site's cluster (EdgeSim,
    with the real operator), ring by ring, the next ring only once the previous one is Healthy;
  * Fleet's first-matching targetCustomization picks the same overlay for every cluster;
  * our Argo CD health checks (examples/gitops/argocd/argocd-cm.yaml, Lua) run in Lua 5.1, the
    language of Argo CD's gopher-lua, on the objects the clusters hold: they gate each ring.

The example's model URIs point at models.example.com; the rendered objects get local files instead
(the only change made to what kustomize renders).
"""
import json
import os
import re
import subprocess
import tempfile

import lupa.lua51
import pytest
import yaml

from conftest import FIXTURES, ROOT, Sim, wait_for
from test_edgemodel_e2e import Cluster

GITOPS = os.path.join(ROOT, "examples", "gitops")
CRDS = os.path.join(FIXTURES, "gitops-crds")

# The clusters as `argocd cluster add … --label` registers them (Argo CD keeps them as Secrets
# labelled argocd.argoproj.io/secret-type=cluster; the cluster generator offers name, server and
# metadata.labels), with the Jetson nodes of each site.
SITES = [
    {"name": "store-a", "labels": {"edgeml.io/site": "site-a", "edgeml.io/ring": "canary"}, "nodes": "orin-nx-16gb=2"},
    {"name": "store-b", "labels": {"edgeml.io/site": "site-b", "edgeml.io/ring": "main"}, "nodes": "orin-nx-16gb=1,agx-orin-64gb=1"},
    {"name": "store-c", "labels": {"edgeml.io/site": "site-c", "edgeml.io/ring": "main"}, "nodes": "orin-nx-16gb=1"},
]


def load(path):
    with open(path) as f:
        return list(yaml.safe_load_all(f))


def selects(selector, labels):
    """A metav1.LabelSelector (matchLabels, matchExpressions with In, NotIn, Exists, DoesNotExist)."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def go_template(text, params):
    """The Go-template forms the example uses, evaluated with missingkey=error: `{{.name}}`,
    `{{.server}}` and `{{index .metadata.labels "KEY"}}`. Anything else fails the test, so the
    template cannot grow a form this check does not evaluate."""
    def one(m):
        expr = m.group(1).strip()
        if expr in (".name", ".server"):
            return params[expr[1:]]
        idx = re.fullmatch(r'index \.metadata\.labels "([^"]+)"', expr)
        assert idx, f"template form not evaluated by this test: {{{{{expr}}}}}"
        assert idx.group(1) in params["metadata"]["labels"], f"missingkey=error: no label {idx.group(1)}"
        return params["metadata"]["labels"][idx.group(1)]
    return re.sub(r"\{\{(.*?)\}\}", one, text)


def render(value, params):
    if isinstance(value, str):
        return go_template(value, params)
    if isinstance(value, list):
        return [render(v, params) for v in value]
    if isinstance(value, dict):
        return {k: render(v, params) for k, v in value.items()}
    return value


def applications(appset, clusters):
    """What the ApplicationSet controller generates: one Application per selected cluster."""
    out = []
    for gen in appset["spec"]["generators"]:
        selector = gen["clusters"].get("selector", {})
        for c in clusters:
            if selects(selector, c["labels"]):
                params = {"name": c["name"], "server": c["server"], "metadata": {"labels": c["labels"]}}
                out.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **render(appset["spec"]["template"], params)})
    return out


def fleet_bundle(fleet_yaml):
    """The Bundle `fleet apply` makes of a fleet.yaml (internal/bundlereader/read.go): the
    BundleSpec fields as they are, and targetCustomizations appended to targets."""
    spec = {k: v for k, v in fleet_yaml.items() if k not in ("name", "labels", "targetCustomizations", "imageScans", "overrideTargets")}
    spec["targets"] = list(fleet_yaml.get("targets") or []) + list(fleet_yaml.get("targetCustomizations") or [])
    return {"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
            "metadata": {"name": "edgeml-detector-examples-gitops", "namespace": "fleet-default"}, "spec": spec}


@pytest.fixture(scope="module")
def argo_fleet_api():
    """An API server with Argo CD's ApplicationSet and Fleet's GitRepo and Bundle CRDs."""
    s = Sim()
    # Server-side: the ApplicationSet CRD (1.4 MB) is too large for client-side apply's annotation,
    # on a real server as here (Argo CD's install docs say the same).
    s.kubectl("apply", "--server-side", "-f", CRDS)
    s.kubectl("wait", "--for=condition=Established", "crd/applicationsets.argoproj.io", "crd/gitrepos.fleet.cattle.io",
              "crd/bundles.fleet.cattle.io", "--timeout=30s")
    s.kubectl("create", "namespace", "argocd")
    s.kubectl("create", "namespace", "fleet-default")
    yield s
    s.stop()


def test_the_gitops_objects_are_valid_for_argo_cd_and_fleet(argo_fleet_api):
    s = argo_fleet_api
    s.kubectl("apply", "--server-side", "-f", os.path.join(GITOPS, "argocd", "applicationset.yaml"))
    s.kubectl("apply", "--server-side", "-f", os.path.join(GITOPS, "fleet-gitrepo.yaml"))
    bundle = fleet_bundle(load(os.path.join(GITOPS, "fleet.yaml"))[0])
    s.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(bundle))
    got = json.loads(s.kubectl("get", "bundle", bundle["metadata"]["name"], "-n", "fleet-default", "-o", "json").stdout)
    assert [t["name"] for t in got["spec"]["targets"]] == ["site-a", "site-b", "site-c"]
    # Strict validation is what catches a misspelt field: the same file with one key wrong is refused.
    text = open(os.path.join(GITOPS, "argocd", "applicationset.yaml")).read().replace("maxUpdate:", "maxUpdates:")
    r = s.kubectl("apply", "--server-side", "-f", "-", input=text, check=False)
    assert r.returncode != 0 and 'unknown field "spec.strategy.rollingSync.steps[1].maxUpdates"' in r.stderr, r.stderr


def test_every_site_gets_its_own_overlay_from_argo_cd_and_from_fleet():
    appset = load(os.path.join(GITOPS, "argocd", "applicationset.yaml"))[0]
    clusters = [dict(c, server=f"https://{c['name']}.example.com:6443") for c in SITES]
    # A cluster without the site label is not selected.
    apps = applications(appset, clusters + [{"name": "lab", "server": "https://lab:6443", "labels": {"env": "lab"}}])
    assert [a["metadata"]["name"] for a in apps] == ["detector-site-a", "detector-site-b", "detector-site-c"]
    for app, c in zip(apps, clusters):
        assert app["spec"]["destination"]["server"] == c["server"]
        assert os.path.isfile(os.path.join(ROOT, app["spec"]["source"]["path"], "kustomization.yaml"))
    # Progressive Syncs: every Application in exactly one step, the canary ring first.
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    groups = [[a["metadata"]["name"] for a in apps if selects(step, a["metadata"]["labels"])] for step in steps]
    assert groups == [["detector-site-a"], ["detector-site-b", "detector-site-c"]]
    # Fleet: the first targetCustomization whose clusterSelector matches picks the same overlay;
    # a cluster matching none gets the bundle's own kustomize dir, the base.
    fleet = load(os.path.join(GITOPS, "fleet.yaml"))[0]
    for app, c in zip(apps, clusters):
        match = next(t for t in fleet["targetCustomizations"] if selects(t["clusterSelector"], c["labels"]))
        assert os.path.join("examples", "gitops", match["kustomize"]["dir"]) == app["spec"]["source"]["path"]
    assert not any(selects(t["clusterSelector"], {"env": "lab"}) for t in fleet["targetCustomizations"])
    assert fleet["kustomize"]["dir"] == "base"


@pytest.fixture(scope="module")
def sites():
    clusters = []
    try:
        for site in SITES:
            clusters.append(Cluster(fleet=site["nodes"]))
        yield clusters
    finally:
        for c in clusters:
            c.stop()


def kustomized(path, c):
    """The Application's path rendered as Argo CD renders it (kustomize build), with the example's
    model URIs replaced by local files of this cluster."""
    r = subprocess.run(["kubectl", "kustomize", os.path.join(ROOT, path)], capture_output=True, text=True, timeout=60, check=True)
    objects = [o for o in yaml.safe_load_all(r.stdout) if o]
    for o in objects:
        model = o.get("spec", {}).get("model") if o["kind"] == "EdgeModel" else o.get("spec", {}).get("candidate", {}).get("model")
        if model and model.get("uri", "").startswith("https://models.example.com/"):
            model["uri"], model["digest"] = c.model_file(f"detector-v{model['version']}.onnx", salt=f"many-sites-{model['version']}")
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    assert "models.example.com" not in text
    return text


def model_status(c):
    r = c.sim.kubectl("get", "edgemodel", "detector", "-n", "vision", "-o", "json", check=False)
    return json.loads(r.stdout).get("status", {}) if r.returncode == 0 else {}


HEALTH = load(os.path.join(GITOPS, "argocd", "argocd-cm.yaml"))[0]["data"]


def health(obj):
    """Argo CD's verdict on one of our objects: its `resource.customizations.health.<group>_<kind>`
    script run with the object as the global `obj`, returning {status, message}."""
    group = obj["apiVersion"].split("/")[0]
    lua = lupa.lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    hs = lua.execute(HEALTH[f"resource.customizations.health.{group}_{obj['kind']}"])
    return {"status": hs["status"], "message": hs["message"]}


def live(c, kind, name):
    r = c.sim.kubectl("get", kind, name, "-n", "vision", "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def healthy(c, with_rollout):
    """Every edgeml.io object of the site's Application Healthy by our health checks."""
    objects = [live(c, "edgemodel", "detector")] + ([live(c, "rollout", "detector-v4")] if with_rollout else [])
    return all(o is not None and health(o)["status"] == "Healthy" for o in objects)


def test_the_health_checks_say_progressing_suspended_and_degraded_too():
    model = {"apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": {"name": "m", "generation": 2},
             "status": {"observedGeneration": 2, "phase": "Ready",
                        "conditions": [{"type": "Ready", "status": "True", "message": "2/2 replicas ready"}]}}
    assert health(model) == {"status": "Healthy", "message": "2/2 replicas ready"}
    assert health(dict(model, metadata={"name": "m", "generation": 3}))["status"] == "Progressing"   # not seen yet
    assert health(dict(model, status={}))["status"] == "Progressing"
    failed = dict(model, status={"observedGeneration": 2, "phase": "Failed",
                                 "conditions": [{"type": "Ready", "status": "False", "message": "engine build failed"}]})
    assert health(failed) == {"status": "Degraded", "message": "engine build failed"}
    rollout = {"apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r", "generation": 1}}
    for phase, verdict in (("Progressing", "Progressing"), ("Paused", "Suspended"), ("Aborted", "Degraded"),
                           ("Degraded", "Degraded"), ("Promoted", "Healthy")):
        assert health(dict(rollout, status={"observedGeneration": 1, "phase": phase}))["status"] == verdict, phase


def explain(c):
    """The site's objects and the model's pods, for a failed wait."""
    pods = json.loads(c.sim.kubectl("get", "pods", "-n", "vision", "-o", "json").stdout)["items"]
    return json.dumps({
        "model": (live(c, "edgemodel", "detector") or {}).get("status"), "rollout": (live(c, "rollout", "detector-v4") or {}).get("status"),
        "pods": [(p["metadata"]["name"], p["metadata"].get("labels", {}).get("edgeml.io/version"), p.get("spec", {}).get("nodeName"),
                  p.get("status", {}).get("phase"), [x["type"] + "=" + x["status"] for x in p.get("status", {}).get("conditions", [])])
                 for p in pods]}, indent=1)


def test_three_sites_ring_by_ring_on_edgesim(sites):
    appset = load(os.path.join(GITOPS, "argocd", "applicationset.yaml"))[0]
    clusters = [dict(site, server=c.sim.url) for site, c in zip(SITES, sites)]
    apps = {a["spec"]["destination"]["server"]: a for a in applications(appset, clusters)}
    by_ring = {}
    for site, c in zip(clusters, sites):
        by_ring.setdefault(site["labels"]["edgeml.io/ring"], []).append((site, c))
    for ring in ("canary", "main"):
        for site, c in by_ring[ring]:
            app = apps[site["server"]]
            c.sim.kubectl("apply", "--server-side", "-f", "-", input=kustomized(app["spec"]["source"]["path"], c))
        for site, c in by_ring[ring]:
            with_rollout = site["labels"]["edgeml.io/site"] == "site-a"
            assert wait_for(lambda: healthy(c, with_rollout), timeout=240), explain(c)
        if ring == "canary":
            # The main ring has nothing yet while the canary ring rolls.
            for _, other in by_ring["main"]:
                assert other.sim.kubectl("get", "edgemodel", "detector", "-n", "vision", check=False).returncode != 0
    a, b, c = (model_status(x) for x in sites)
    assert (a["currentVersion"], b["currentVersion"], c["currentVersion"]) == ("4", "3", "3")
    # Each site's overlay took effect: two replicas at site A, site B's AGX Orin eligible.
    assert a.get("readyReplicas") == 2
    spec_b = json.loads(sites[1].sim.kubectl("get", "edgemodel", "detector", "-n", "vision", "-o", "json").stdout)["spec"]
    assert spec_b["placement"]["jetson"]["modules"] == ["orin-nx-16gb", "agx-orin-64gb"]
