"""`edgeml diff --kubeconfig` against EdgeSim with the real operator: on a manifest the operator has
applied and reconciled it finds no differences (exit 0); after an edit it shows, as a unified diff,
what the controllers would write (exit 1); an invalid manifest is an error (exit 2) with the message
`edgeml validate` gives. Exit codes as kubectl diff's (docs/validate.md)."""
import os
import subprocess

import pytest

from conftest import EDGEML, wait_for
from test_edgemodel_e2e import Cluster, edgemodel
from test_rollout_e2e import ROLLOUT

@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def diff(cluster, path, *args, env=None):
    return subprocess.run([EDGEML, "diff", *args, path], capture_output=True, text=True, timeout=120, env=env)


def write(path, cluster, replicas=2, weight=50):
    uri, digest = cluster.model_file("differ-v1.onnx", "d1")
    curi, cdigest = cluster.model_file("differ-v2.onnx", "d2")
    model = edgemodel("differ", uri, digest, "1", replicas=replicas).replace(
        'jetson: {l4t: ">=36.2"}', "jetson: {modules: [orin-nx-16gb, agx-orin-64gb]}")
    rollout = ROLLOUT.format(name="differ-v2", model="differ", uri=curi, digest=cdigest, version="2")
    path.write_text(model + "---" + rollout.replace("setWeight: 50", f"setWeight: {weight}"))


def test_diff_against_the_cluster(cluster, tmp_path):
    manifest = tmp_path / "differ.yaml"
    write(manifest, cluster)
    cluster.sim.kubectl("apply", "-f", str(manifest))

    def paused():
        r = cluster.sim.kubectl("get", "rollout", "differ-v2", "-o", "jsonpath={.status.phase}/{.status.currentStep}", check=False)
        return r.stdout == "Paused/1"
    assert wait_for(paused, timeout=180), cluster.sim.kubectl("get", "rollout", "differ-v2", "-o", "yaml").stdout

    # Reconciled: the planners, run on what the cluster holds, want nothing else written.
    kubeconfig = ["--kubeconfig", cluster.sim.kubeconfig]
    r = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(diff(cluster, str(manifest), *kubeconfig)), timeout=60)
    if not r:
        r = diff(cluster, str(manifest), *kubeconfig)
        pytest.fail(f"exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    assert r.stdout == "" and "no differences (" in r.stderr, r.stderr
    # KUBECONFIG is honoured as kubectl honours it.
    env = dict(os.environ, KUBECONFIG=cluster.sim.kubeconfig)
    r = diff(cluster, str(manifest), "--live", env=env)
    assert r.returncode == 0, r.stdout + r.stderr

    # A new replica count: the EdgeModel's spec, and the replicas of its Deployments.
    write(manifest, cluster, replicas=4)
    r = diff(cluster, str(manifest), *kubeconfig)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "diff -u -N live/edgeml.io.v1alpha1.EdgeModel.default.differ planned/edgeml.io.v1alpha1.EdgeModel.default.differ" in r.stdout
    assert "\n-    replicas: 2\n+    replicas: 4\n" in r.stdout, r.stdout
    assert "live/apps.v1.Deployment.default.differ-" in r.stdout, r.stdout
    # Only our field manager's fields: nothing the server or other managers keep.
    for server_field in ["managedFields:", "resourceVersion:", "creationTimestamp:", "availableReplicas:"]:
        assert server_field not in r.stdout, r.stdout

    # A new canary weight restarts the rollout at step 0: its spec and status change.
    write(manifest, cluster, weight=30)
    r = diff(cluster, str(manifest), *kubeconfig)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "-      - setWeight: 50" in lines and "+      - setWeight: 30" in lines, r.stdout
    assert "-  currentStep: 1" in lines and "+  currentStep: 0" in lines, r.stdout
    # Nothing was written: the cluster still holds the reconciled manifest.
    assert paused()

    # An invalid manifest is an error, with edgeml validate's message.
    bad = tmp_path / "bad.yaml"
    bad.write_text(manifest.read_text().replace("precision: fp16", "precision: fp8"))
    r = diff(cluster, str(bad), *kubeconfig)
    assert r.returncode == 2 and "Unsupported value: \"fp8\"" in r.stderr, r.stdout + r.stderr
