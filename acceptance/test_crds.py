"""The three CRDs with the real kubectl: valid examples apply, every invalid one is refused at
`kubectl apply` with the message in its `# expect:` line, explain teaches fields, and `kubectl get
edgeml` lists all three kinds."""
import glob
import json
import os

import pytest

from conftest import ROOT

CRDS = sorted(glob.glob(os.path.join(ROOT, "crds", "*.yaml")))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
INVALID = sorted(glob.glob(os.path.join(ROOT, "examples", "invalid", "*.yaml")))


@pytest.fixture(scope="module")
def crd_sim(sim):
    for crd in CRDS:
        sim.kubectl("apply", "-f", crd)
    for crd in CRDS:
        name = os.path.basename(crd)[: -len(".yaml")]
        sim.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=20s")
    return sim


def test_there_is_a_crd_per_kind_and_examples_for_each_feature():
    assert [os.path.basename(c) for c in CRDS] == ["driftpolicies.edgeml.io.yaml", "edgemodels.edgeml.io.yaml", "rollouts.edgeml.io.yaml"]
    assert len(EXAMPLES) >= 7 and len(INVALID) >= 20


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_example_applies_cleanly(crd_sim, path):
    r = crd_sim.kubectl("apply", "-f", path)
    assert "created" in r.stdout or "configured" in r.stdout or "unchanged" in r.stdout
    assert r.stderr.strip() == ""   # no warnings (unknown fields would show here)


def expected_message(path):
    for line in open(path):
        if line.startswith("# expect: "):
            return line[len("# expect: "):].strip()
    raise AssertionError(f"{path} has no '# expect:' line")


@pytest.mark.parametrize("path", INVALID, ids=os.path.basename)
def test_every_invalid_example_is_refused_with_its_message(crd_sim, path):
    expect = expected_message(path)
    documents = [d for d in open(path).read().split("\n---\n") if d.strip()]
    for first in documents[:-1]:       # transition rules: the earlier documents are accepted
        crd_sim.kubectl("apply", "-f", "-", input=first)
    r = crd_sim.kubectl("apply", "-f", "-", input=documents[-1], check=False)
    assert r.returncode != 0, f"{os.path.basename(path)} was accepted"
    assert expect in r.stderr, f"expected:\n  {expect}\ngot:\n  {r.stderr}"


@pytest.mark.parametrize("field,text", [
    ("edgemodel.spec.engine.precision", "Build precision"),
    ("rollout.spec.strategy.canary.steps", "Steps run in order"),
    ("driftpolicy.spec.correction", "Multiple-testing correction"),
])
def test_explain_teaches_the_fields(crd_sim, field, text):
    assert text in crd_sim.kubectl("explain", field).stdout


def test_get_edgeml_lists_all_three_kinds_with_their_columns(crd_sim):
    for path in EXAMPLES:
        crd_sim.kubectl("apply", "-f", path)
    out = crd_sim.kubectl("get", "edgeml").stdout
    assert "edgemodel.edgeml.io/detector" in out
    assert "rollout.edgeml.io/detector-v4" in out
    assert "driftpolicy.edgeml.io/detector-drift" in out
    header = crd_sim.kubectl("get", "em").stdout.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "VERSION", "READY", "AGE"]
    header = crd_sim.kubectl("get", "ero").stdout.splitlines()[0].split()
    assert header == ["NAME", "MODEL", "PHASE", "STEP", "STABLE", "CANDIDATE", "AGE"]
    header = crd_sim.kubectl("get", "dpol").stdout.splitlines()[0].split()
    assert header == ["NAME", "MODEL", "DRIFTED", "SHARE", "RETRAINS", "AGE"]


def test_defaults_are_filled_in(crd_sim):
    crd_sim.kubectl("apply", "-f", os.path.join(ROOT, "examples", "edgemodel-daemonset.yaml"))
    em = json.loads(crd_sim.kubectl("get", "edgemodel", "anomaly-everywhere", "-o", "json").stdout)
    assert em["spec"]["engine"]["precision"] == "fp16"
    assert em["spec"]["engine"]["cache"]["hostPath"] == "/var/lib/edgeml/engines"
    assert em["spec"]["serving"]["ports"] == {"http": 8000, "grpc": 8001, "metrics": 8002}
    assert em["spec"]["model"]["format"] == "onnx"
