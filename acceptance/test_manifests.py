"""The deployment manifests: manifests/ (kustomize base) and charts/edgeml-operator/ (Helm).

They render, apply to `edgeml sim`, keep RBAC least-privilege and the pod within the restricted
Pod Security profile; and the ClusterRole is exactly enough for the operator's service account.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import EDGEML_OPERATOR, ROOT
from rbac_helpers import kubectl_as, token_kubeconfig

MANIFESTS = os.path.join(ROOT, "manifests")
CHART = os.path.join(ROOT, "charts", "edgeml-operator")


def render():
    r = subprocess.run(["kubectl", "kustomize", MANIFESTS], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout, [d for d in yaml.safe_load_all(r.stdout) if d]


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def test_kustomize_renders_every_object():
    _, objects = render()
    kinds = sorted(o["kind"] for o in objects)
    assert kinds.count("CustomResourceDefinition") == 3
    for kind in ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                 "Deployment", "Service", "DaemonSet"]:
        assert kind in kinds, kind
    assert one(objects, "Deployment")["spec"]["replicas"] == 2


def test_crd_copies_equal_the_crds():
    for source in sorted(glob.glob(os.path.join(ROOT, "crds", "*.yaml"))):
        for copy_dir in [os.path.join(MANIFESTS, "crds"), os.path.join(CHART, "crds")]:
            copy = os.path.join(copy_dir, os.path.basename(source))
            assert os.path.exists(copy), f"{copy} missing: cp crds/*.yaml {copy_dir}/"
            assert open(copy).read() == open(source).read(), f"{copy} differs from {source}: copy it again"


def test_cluster_role_has_no_wildcards():
    _, objects = render()
    for role in [o for o in objects if o["kind"] in ("ClusterRole", "Role")]:
        for rule in role["rules"]:
            for field in ["verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"]:
                for value in rule.get(field, []):
                    assert "*" not in value, f"{role['metadata']['name']}: {field} {value}"


def test_deployment_meets_the_restricted_profile():
    _, objects = render()
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod.get("hostNetwork") in (None, False) and pod.get("hostPID") in (None, False)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["runAsUser"] == 65532
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert not sc["capabilities"].get("add")
        assert sc["seccompProfile"]["type"] == "RuntimeDefault"
        assert sc["readOnlyRootFilesystem"] is True
        assert sc.get("privileged") in (None, False)
        assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["command"] == ["edgeml-operator"] and c["args"] == ["--leader-elect", "--builder-images=/etc/edgeml/builder-images",
                                                                   "--metrics-bind-address=:8443"]
        # /metrics is HTTPS on its own port, the probes plain HTTP on theirs (docs/metrics.md).
        assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"https": 8443, "health": 8081}


def test_node_agent_daemonset_reads_the_host_read_only_in_a_privileged_namespace():
    """hostPath is forbidden by `restricted` and `baseline`, so the agent has its own namespace that
    says `privileged` (and audits/warns against restricted); everything else in the pod is restricted."""
    _, objects = render()
    daemonset = one(objects, "DaemonSet", "edgeml-node-agent")
    namespace = one(objects, "Namespace", daemonset["metadata"]["namespace"])
    assert namespace["metadata"]["name"] != "edgeml-system"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "edgeml-node-agent"
    assert pod.get("hostNetwork") in (None, False) and pod.get("hostPID") in (None, False)
    assert pod["securityContext"]["runAsNonRoot"] is True
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]} in terms[0]["matchExpressions"]
    [c] = pod["containers"]
    assert c["args"][:3] == ["node-agent", "--root", "/host"]
    assert {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in c["env"]
    sc = c["securityContext"]
    # uid 0 only to remove engines from the kubelet-created (root, 0755) cache directory: with no
    # capability at all, and no escalation.
    assert sc["runAsUser"] == 0 and sc["runAsNonRoot"] is False
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add") and sc.get("privileged") in (None, False)
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert set(host_paths.values()) == {"/proc/device-tree", "/proc/meminfo", "/etc/nv_tegra_release", "/etc/nvpmodel.conf",
                                        "/var/lib/nvpmodel", "/sys", "/usr/lib/aarch64-linux-gnu", "/usr/local/cuda",
                                        "/var/lib/edgeml/engines"}
    for name, path in host_paths.items():
        # The engine cache is the one host directory the agent writes (it removes engines).
        assert mounts[name].get("readOnly", False) is (path != "/var/lib/edgeml/engines"), name
        assert mounts[name]["mountPath"] == "/host" + path, name
    args = c["args"]
    assert args[args.index("--cache-dir") + 1] == "/host/var/lib/edgeml/engines" and args[args.index("--cache-budget") + 1] == "20%"


def test_rendered_objects_apply_to_the_sim(sim):
    text, objects = render()
    sim.kubectl("apply", "-f", "-", input=text)
    deployment = sim.kubectl("-n", "edgeml-system", "get", "deployment", "edgeml-operator", "-o", "yaml").stdout
    assert yaml.safe_load(deployment)["spec"]["replicas"] == 2
    sim.kubectl("get", "crd", "edgemodels.edgeml.io")
    sim.kubectl("get", "clusterrole", "edgeml-operator")
    # The MicroK8s overlay adds the `nvidia` RuntimeClass (node.k8s.io/v1).
    sim.kubectl("apply", "-k", os.path.join(ROOT, "deploy", "microk8s"))
    assert sim.kubectl("get", "runtimeclass", "nvidia", "-o", "jsonpath={.handler}").stdout == "nvidia"
    # kubectl's table for RuntimeClasses is the server's printer columns (printers.go): NAME HANDLER AGE.
    assert sim.kubectl("get", "runtimeclass", "nvidia").stdout.split()[:4] == ["NAME", "HANDLER", "AGE", "nvidia"]


# (verb, resource as kubectl names it, extra kubectl args): what the operator's controllers do.
NEEDED = [
    ("list", "edgemodels.edgeml.io", ["-A"]),
    ("watch", "edgemodels.edgeml.io", ["-A"]),
    ("update", "edgemodels.edgeml.io", ["-A", "--subresource=status"]),
    ("patch", "rollouts.edgeml.io", ["-A", "--subresource=status"]),
    # A model following an MLflow alias starts and removes its own Rollouts (docs/mlflow.md).
    ("create", "rollouts.edgeml.io", ["-n", "default"]),
    ("delete", "rollouts.edgeml.io", ["-n", "default"]),
    ("create", "deployments.apps", ["-n", "default"]),
    ("create", "poddisruptionbudgets.policy", ["-n", "default"]),
    ("delete", "poddisruptionbudgets.policy", ["-n", "default"]),
    ("delete", "daemonsets.apps", ["-n", "default"]),
    ("create", "events.events.k8s.io", ["-n", "default"]),
    ("create", "jobs.batch", ["-n", "default"]),
    ("list", "nodes", []),
    ("create", "leases.coordination.k8s.io", ["-n", "edgeml-system"]),
    ("update", "leases.coordination.k8s.io", ["-n", "edgeml-system"]),
    # Every scrape of /metrics: its token reviewed, then its access (the metrics-auth role).
    ("create", "tokenreviews.authentication.k8s.io", []),
    ("create", "subjectaccessreviews.authorization.k8s.io", []),
]
FORBIDDEN = [
    ("delete", "nodes", []),
    ("create", "clusterroles.rbac.authorization.k8s.io", []),
    ("create", "secrets", ["-n", "default"]),
    ("delete", "edgemodels.edgeml.io", ["-n", "default"]),
    ("create", "leases.coordination.k8s.io", ["-n", "default"]),
    ("create", "pods", ["-n", "default"]),
]


@pytest.fixture(scope="module")
def node_agent_kubeconfig(sim):
    text, _ = render()
    sim.kubectl("apply", "-f", "-", input=text)
    return token_kubeconfig(sim, "edgeml-node-agent", "edgeml-node-agent")


# The node agent reads and patches its own Node, and lists pods (its node's) and EdgeModels for the
# engine keys its cache must keep; nothing else.
NODE_AGENT_NEEDED = [("get", "nodes"), ("patch", "nodes"), ("list", "pods"), ("list", "edgemodels.edgeml.io")]
NODE_AGENT_FORBIDDEN = [("list", "nodes"), ("watch", "nodes"), ("delete", "nodes"), ("update", "nodes"),
                        ("create", "nodes"), ("get", "pods"), ("watch", "pods"), ("delete", "pods"), ("get", "secrets"),
                        ("list", "secrets"), ("get", "edgemodels.edgeml.io"), ("patch", "edgemodels.edgeml.io")]


@pytest.mark.parametrize("verb,resource", NODE_AGENT_NEEDED)
def test_node_agent_role_allows_what_it_needs(sim, node_agent_kubeconfig, verb, resource):
    r = kubectl_as(sim, node_agent_kubeconfig, "auth", "can-i", verb, resource, "-A")
    assert r.stdout.strip() == "yes", f"{verb} {resource}: {r.stdout}{r.stderr}"


@pytest.mark.parametrize("verb,resource", NODE_AGENT_FORBIDDEN)
def test_node_agent_role_refuses_everything_else(sim, node_agent_kubeconfig, verb, resource):
    r = kubectl_as(sim, node_agent_kubeconfig, "auth", "can-i", verb, resource, "-A")
    assert r.stdout.strip() == "no", f"{verb} {resource}: {r.stdout}{r.stderr}"


@pytest.fixture(scope="module")
def operator_kubeconfig(sim):
    text, _ = render()
    sim.kubectl("apply", "-f", "-", input=text)
    return token_kubeconfig(sim, "edgeml-system", "edgeml-operator")


@pytest.mark.parametrize("verb,resource,extra", NEEDED)
def test_operator_role_allows_what_it_needs(sim, operator_kubeconfig, verb, resource, extra):
    r = kubectl_as(sim, operator_kubeconfig, "auth", "can-i", verb, resource, *extra)
    assert r.stdout.strip() == "yes", f"{verb} {resource} {extra}: {r.stdout}{r.stderr}"


@pytest.mark.parametrize("verb,resource,extra", FORBIDDEN)
def test_operator_role_refuses_what_it_must_not_do(sim, operator_kubeconfig, verb, resource, extra):
    r = kubectl_as(sim, operator_kubeconfig, "auth", "can-i", verb, resource, *extra)
    assert r.stdout.strip() == "no", f"{verb} {resource} {extra}: {r.stdout}{r.stderr}"


def test_operator_requests_succeed_and_fail_for_real(sim, operator_kubeconfig):
    kc = operator_kubeconfig
    assert kubectl_as(sim, kc, "get", "edgemodels.edgeml.io", "-A").returncode == 0
    deployment = """apiVersion: apps/v1
kind: Deployment
metadata: {name: rbac-probe, namespace: default}
spec:
  selector: {matchLabels: {app: rbac-probe}}
  template:
    metadata: {labels: {app: rbac-probe}}
    spec: {containers: [{name: c, image: busybox}]}
"""
    r = kubectl_as(sim, kc, "create", "-f", "-", input=deployment)
    assert r.returncode == 0, r.stderr
    lease = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: rbac-probe, namespace: edgeml-system}
spec: {holderIdentity: pod-a, leaseDurationSeconds: 15}
"""
    r = kubectl_as(sim, kc, "create", "-f", "-", input=lease)
    assert r.returncode == 0, r.stderr
    r = kubectl_as(sim, kc, "-n", "edgeml-system", "patch", "lease", "rbac-probe", "--type=merge",
                   "-p", '{"spec":{"holderIdentity":"pod-b"}}')
    assert r.returncode == 0, r.stderr
    event = """apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: rbac-probe.1, namespace: default}
eventTime: "2026-11-25T12:00:00.000000Z"
reportingController: edgeml.io/operator
reportingInstance: pod-a
action: Reconcile
reason: Probe
type: Normal
regarding: {kind: Deployment, name: rbac-probe, namespace: default, apiVersion: apps/v1}
"""
    r = kubectl_as(sim, kc, "create", "-f", "-", input=event)
    assert r.returncode == 0, r.stderr
    r = kubectl_as(sim, kc, "delete", "node", "no-such-node")
    assert r.returncode != 0
    assert ('nodes "no-such-node" is forbidden: User "system:serviceaccount:edgeml-system:edgeml-operator" '
            'cannot delete resource "nodes" in API group "" at the cluster scope') in r.stderr, r.stderr
    r = kubectl_as(sim, kc, "create", "clusterrole", "escalate", "--verb=get", "--resource=pods")
    assert r.returncode != 0 and "Forbidden" in r.stderr, r.stderr


def test_helm_chart_lints_and_renders():
    helm = shutil.which("helm")
    if not helm:
        pytest.skip("helm is not on PATH (not in the package registries these machines reach): "
                    "charts/edgeml-operator is checked only where helm is installed")
    r = subprocess.run([helm, "lint", CHART], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([helm, "template", "edgeml-operator", CHART], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    chart_objects = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(r.stdout) if o}
    _, objects = render()
    base = {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] != "CustomResourceDefinition"}
    assert base <= chart_objects, base - chart_objects


def test_operator_runs_with_exactly_the_cluster_role(sim, operator_kubeconfig):
    """`edgeml-operator --leader-elect` (what the Deployment runs) with the service account's token:
    it leads, caches, writes status and events, nothing it does is refused, and it maps no libFoundation,
    FoundationInternationalization or ICU (FoundationEssentials only)."""
    from test_operator import acknowledged, free_port, http_get, model, wait_for

    health = free_port()
    log_path = os.path.join(sim.dir, "operator-rbac.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([EDGEML_OPERATOR, "--kubeconfig", operator_kubeconfig, "--leader-elect",
                                 "--metrics-bind-address", "0", "--health-port", str(health)],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        sim.kubectl("apply", "-f", "-", input=model("rbac-model"))
        assert wait_for(lambda: acknowledged(sim, "rbac-model", 1), timeout=30), open(log_path).read()
        assert wait_for(lambda: http_get(health, "/readyz")[0] == 200), open(log_path).read()
        holder = sim.kubectl("-n", "edgeml-system", "get", "lease", "edgeml-operator-leader",
                             "-o", "jsonpath={.spec.holderIdentity}").stdout
        assert holder, "the operator holds no Lease in edgeml-system"
        events = lambda: sim.kubectl("-n", "default", "get", "events.events.k8s.io", "-o",
                                     "jsonpath={.items[*].regarding.name}").stdout.split()
        assert wait_for(lambda: "rbac-model" in events()), open(log_path).read()
        libraries = {os.path.basename(line.split()[-1]) for line in open(f"/proc/{proc.pid}/maps") if "/" in line}
        assert not [l for l in libraries if l.startswith(("libFoundation.so", "libFoundationInternationalization", "lib_FoundationICU"))], \
            sorted(libraries)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    text = open(log_path).read()
    # A denial shows as the word or as the status code standing alone; a loopback port such as
    # 44033 in the log's "server=" line is not one.
    assert "forbidden" not in text.lower() and not re.search(r"\b403\b", text), text


def render_chart_without_helm(values):
    """Renders the chart's templates for the few constructs they use — `{{ .Values.a.b }}`,
    `{{- include "edgeml-operator.labels" . | nindent N }}`, `{{- toYaml .Values.x | nindent N }}`,
    `{{- if .Values.x }}` … `{{- end }}`, `{{ include "edgeml-operator.image" . }}` (_helpers.tpl:
    repository@digest, else repository:tag), `{{- .Files.Get "path" | nindent N }}` (a chart file, as
    sprig's nindent indents it: every line) — so equivalence with manifests/ is checked where helm is absent.
    Anything else in a template fails the test: keep the templates plain."""
    import re

    def lookup(path):
        value = values
        for part in path.split(".")[2:]:
            value = value[part]
        return value

    labels = "app.kubernetes.io/name: edgeml-operator"
    out = []
    for path in sorted(glob.glob(os.path.join(CHART, "templates", "*.yaml"))):
        text = open(path).read()
        # Conditionals (not nested in these templates): keep the body when the value is truthy.
        text = re.sub(r"[ \t]*\{\{- if (\.Values[\w.]+) \}\}\n(.*?)[ \t]*\{\{- end \}\}\n?",
                      lambda m: m.group(2) if lookup(m.group(1)) else "", text, flags=re.S)
        text = re.sub(r"\n?[ \t]*\{\{- include \"edgeml-operator.labels\" \. \| nindent (\d+) \}\}",
                      lambda m: "\n" + " " * int(m.group(1)) + labels, text)
        text = re.sub(r"\n?[ \t]*\{\{- toYaml (\.Values[\w.]+) \| nindent (\d+) \}\}",
                      lambda m: "\n" + "\n".join(" " * int(m.group(2)) + line for line in
                                                 yaml.safe_dump(lookup(m.group(1)), sort_keys=False).rstrip().splitlines()),
                      text)
        image = values["image"]
        text = text.replace('{{ include "edgeml-operator.image" . }}', image["repository"] + (
            "@" + image["digest"] if image.get("digest") else ":" + str(image["tag"])))
        text = re.sub(r"\{\{ (\.Values[\w.]+) \}\}", lambda m: str(lookup(m.group(1))), text)
        # Chart files may hold `{{` of their own (Grafana legends, alert templates): they go in after the check.
        files = []
        text = re.sub(r"\n?[ \t]*\{\{- \.Files\.Get \"([^\"]+)\" \| nindent (\d+) \}\}",
                      lambda m: files.append((m.group(1), int(m.group(2)))) or f"\x00{len(files) - 1}\x00", text)
        assert "{{" not in text, f"{path}: template construct this check does not know:\n{text}"
        text = re.sub(r"\x00(\d+)\x00", lambda m: "\n" + "\n".join(
            " " * files[int(m.group(1))][1] + line
            for line in open(os.path.join(CHART, files[int(m.group(1))][0])).read().split("\n")), text)
        out += [d for d in yaml.safe_load_all(text) if d]
    return out


def test_chart_defaults_render_the_same_objects_as_manifests():
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    chart = {(o["kind"], o["metadata"]["name"]): o for o in render_chart_without_helm(values)}
    _, objects = render()
    base = {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"] != "CustomResourceDefinition"}
    assert set(chart) == set(base), set(chart) ^ set(base)
    for key, obj in base.items():
        assert chart[key] == obj, f"{key} differs between charts/ and manifests/"
    for crd in glob.glob(os.path.join(ROOT, "crds", "*.yaml")):
        assert open(os.path.join(CHART, "crds", os.path.basename(crd))).read() == open(crd).read()


def image_references(objects):
    """Every place a rendered object names an image: containers and the operator's EDGEML_IMAGE."""
    found = []
    for o in objects:
        for c in o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            found.append((o["kind"], c["name"], "image", c["image"]))
            found += [(o["kind"], c["name"], e["name"], e["value"]) for e in c.get("env", []) if e["name"] == "EDGEML_IMAGE"]
    return found


MY_IMAGE = "registry.example.com/edgeml:0.2.0"


def test_one_kustomize_images_entry_moves_every_reference_to_the_release_image(tmp_path):
    """README's overlay for running your own image: one `images:` entry changes the operator
    container, the engine builder image it puts in model pods (EDGEML_IMAGE) and the node agent."""
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": ["../manifests"],
        "images": [{"name": "ghcr.io/edgeml/edgeml", "newName": "registry.example.com/edgeml", "newTag": "0.2.0"}]}))
    r = subprocess.run(["kubectl", "kustomize", str(tmp_path / "mine")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    references = image_references([d for d in yaml.safe_load_all(r.stdout) if d])
    assert {(kind, field) for kind, _, field, _ in references} == {("Deployment", "image"), ("Deployment", "EDGEML_IMAGE"),
                                                                   ("DaemonSet", "image")}
    assert {value for *_, value in references} == {MY_IMAGE}
    assert "ghcr.io/edgeml" not in r.stdout


def test_chart_and_manifests_run_the_image_make_image_builds():
    made = subprocess.run(["make", "-s", "-C", ROOT, "image-name"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    base = {value for *_, value in image_references(render()[1])}
    chart = {value for *_, value in image_references(render_chart_without_helm(
        yaml.safe_load(open(os.path.join(CHART, "values.yaml")))))}
    assert base == chart == {made.stdout.strip()}


def test_one_chart_value_moves_every_reference_to_the_release_image():
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    values["image"].update(repository="registry.example.com/edgeml", tag="0.2.0")
    objects = render_chart_without_helm(values)
    references = image_references(objects)
    assert len(references) == 3, references
    assert {value for *_, value in references} == {MY_IMAGE}
    assert "ghcr.io/edgeml" not in yaml.safe_dump_all(objects)


def test_node_agent_labels_its_node_with_exactly_its_cluster_role(sim, node_agent_kubeconfig):
    """`edgeml node-agent --once` with the DaemonSet's service account token labels a Node from a
    fixture tree; a second run (the same tree by --fixture name) changes nothing (same
    resourceVersion); foreign labels stay, the stale edgeml.io label goes."""
    sim.kubectl("apply", "-f", "-", input="""apiVersion: v1
kind: Node
metadata:
  name: rbac-jetson
  labels: {kubernetes.io/arch: arm64, edgeml.io/stale: "yes"}
""")
    binary = os.environ.get("EDGEML_BIN", os.path.join(ROOT, ".build", "debug", "edgeml"))
    tree = os.path.join(ROOT, "Sources", "NodeAgent", "Fixtures", "orin-nano-8gb-r36.4.0")
    run = lambda *where: subprocess.run([binary, "node-agent", "--once", *where, "--node-name", "rbac-jetson",
                                         "--kubeconfig", node_agent_kubeconfig], capture_output=True, text=True, timeout=60)
    r = run("--root", tree)
    assert r.returncode == 0, r.stdout + r.stderr
    node = yaml.safe_load(sim.kubectl("get", "node", "rbac-jetson", "-o", "yaml").stdout)
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/arch"] == "arm64" and "edgeml.io/stale" not in labels
    assert labels["edgeml.io/jetson.module"] == "orin-nano-8gb" and labels["edgeml.io/dla.cores"] == "0"
    r = run("--fixture", "orin-nano-8gb-r36.4.0")  # the same tree, found in the executable's resource bundle
    assert r.returncode == 0, r.stdout + r.stderr
    assert "forbidden" not in (r.stdout + r.stderr).lower()
    again = yaml.safe_load(sim.kubectl("get", "node", "rbac-jetson", "-o", "yaml").stdout)
    assert again["metadata"]["resourceVersion"] == node["metadata"]["resourceVersion"]


@pytest.mark.parametrize("distribution,runtime_class", [("k3s", False), ("microk8s", True)])
def test_each_distribution_renders_the_same_with_kustomize_and_the_chart(distribution, runtime_class):
    """deploy/<distribution> (kustomize) and the chart with values-<distribution>.yaml render the same
    objects: the base's, plus the `nvidia` RuntimeClass where the distribution has none of its own."""
    r = subprocess.run(["kubectl", "kustomize", os.path.join(ROOT, "deploy", distribution)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    overlay = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(r.stdout) if o and o["kind"] != "CustomResourceDefinition"}
    _, base = render()
    base = {(o["kind"], o["metadata"]["name"]): o for o in base if o["kind"] != "CustomResourceDefinition"}
    assert (("RuntimeClass", "nvidia") in overlay) == runtime_class
    assert set(overlay) - set(base) == ({("RuntimeClass", "nvidia")} if runtime_class else set())
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    values.update(yaml.safe_load(open(os.path.join(CHART, f"values-{distribution}.yaml"))))
    chart = {(o["kind"], o["metadata"]["name"]): o for o in render_chart_without_helm(values)}
    assert chart == overlay
    if runtime_class:
        assert overlay[("RuntimeClass", "nvidia")]["handler"] == "nvidia"


def test_metrics_rbac_is_kubebuilders():
    """The operator may review tokens and access (metrics-auth-role); metrics-reader grants get on
    /metrics and nothing else; the Service exposes the HTTPS port (kubebuilder v4's config/rbac and
    config/default/metrics_service.yaml)."""
    _, objects = render()
    auth = one(objects, "ClusterRole", "edgeml-operator-metrics-auth-role")
    assert sorted((r["apiGroups"], r["resources"], r["verbs"]) for r in auth["rules"]) == [
        (["authentication.k8s.io"], ["tokenreviews"], ["create"]), (["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]
    binding = one(objects, "ClusterRoleBinding", "edgeml-operator-metrics-auth-rolebinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "edgeml-operator", "namespace": "edgeml-system"}]
    assert one(objects, "ClusterRole", "edgeml-operator-metrics-reader")["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    service = one(objects, "Service", "edgeml-operator-metrics")
    assert service["spec"]["ports"] == [{"name": "https", "port": 8443, "targetPort": "https", "protocol": "TCP"}]
    policy = one(objects, "NetworkPolicy", "edgeml-operator")
    assert {"port": "https", "protocol": "TCP"} in policy["spec"]["ingress"][0]["ports"]


def test_service_monitor_scrapes_https_with_a_bearer_token_and_matches_the_chart():
    r = subprocess.run(["kubectl", "kustomize", os.path.join(MANIFESTS, "prometheus")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    [monitor] = [d for d in yaml.safe_load_all(r.stdout) if d]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "https" and endpoint["scheme"] == "https" and endpoint["path"] == "/metrics"
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": True}
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    values["metrics"]["serviceMonitor"]["enabled"] = True
    [chart_monitor] = [o for o in render_chart_without_helm(values) if o["kind"] == "ServiceMonitor"]
    assert chart_monitor == monitor


def test_chart_serves_a_mounted_certificate_when_given_a_secret():
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    values["metrics"]["certSecretName"] = "edgeml-metrics-tls"
    deployment = next(o for o in render_chart_without_helm(values) if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert "--metrics-cert-path=/etc/edgeml/metrics-certs" in c["args"]
    assert {"name": "metrics-certs", "mountPath": "/etc/edgeml/metrics-certs", "readOnly": True} in c["volumeMounts"]
    assert {"name": "metrics-certs", "secret": {"secretName": "edgeml-metrics-tls"}} in pod["volumes"]
