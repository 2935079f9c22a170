"""`edgeml validate` agrees with the API server: for every file in examples/ and examples/invalid/,
its verdict and its message are what the real kubectl gets applying the file to the emulator
(`edgeml sim`); input it cannot check ends with a clear message and exit status 2 (issue 19 item 5).
`edgeml diff` prints the controller's planned objects for an example."""
import glob
import json
import os
import subprocess

import pytest

from conftest import EDGEML, ROOT
from test_crds import crd_sim  # noqa: F401 (the fixture: the emulator with the three CRDs established)

EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
INVALID = sorted(glob.glob(os.path.join(ROOT, "examples", "invalid", "*.yaml")))


def validate(*args, input=None):
    return subprocess.run([EDGEML, "validate", *args], capture_output=True, text=True, input=input, timeout=120)


def kubectl_apply_in_fresh_namespace(sim, path):
    """kubectl apply -f PATH in a namespace of its own, so that no earlier file's object is updated."""
    namespace = "v-" + os.path.basename(path)[: -len(".yaml")][:50].rstrip("-")
    sim.kubectl("create", "namespace", namespace, check=False)
    return sim.kubectl("apply", "-n", namespace, "-f", path, check=False)


def kubectl_errors(stderr):
    """The error lines kubectl printed (warnings apart)."""
    return stderr.replace("\r", "").strip()


@pytest.mark.parametrize("path", EXAMPLES + INVALID, ids=lambda p: os.path.relpath(p, os.path.join(ROOT, "examples")))
def test_validate_agrees_with_kubectl_apply_on_every_example(crd_sim, path):
    ours = validate("--format", "json", path)
    report = json.loads(ours.stdout)
    theirs = kubectl_apply_in_fresh_namespace(crd_sim, path)
    refused = [f for f in report["findings"] if f["verdict"] == "invalid"]
    # Same verdict: kubectl fails exactly when validate finds an invalid object.
    assert (theirs.returncode != 0) == bool(refused), f"kubectl:\n{theirs.stderr}\nvalidate:\n{ours.stdout}"
    assert ours.returncode == (1 if refused else 0), ours.stdout + ours.stderr
    assert all(f["verdict"] in ("valid", "invalid") for f in report["findings"]), ours.stdout
    # Same message: what kubectl prints for the refused object, word for word.
    errors = kubectl_errors(theirs.stderr)
    for f in refused:
        assert f["message"] in errors, f"validate:\n  {f['message']}\nkubectl:\n  {errors}"
    if refused:
        assert len(refused) == 1 and errors.endswith(refused[0]["message"]), errors
    # Same warnings (unknown fields) where the file is accepted.
    warnings = [w for f in report["findings"] for w in f.get("warnings", [])]
    assert sorted(warnings) == sorted(l[len("Warning: "):] for l in theirs.stderr.splitlines() if l.startswith("Warning: "))


@pytest.mark.parametrize("path", INVALID, ids=os.path.basename)
def test_validate_says_what_each_invalid_example_expects(path):
    expect = next(l[len("# expect: "):].strip() for l in open(path) if l.startswith("# expect: "))
    r = validate(path)
    assert r.returncode == 1
    assert expect in r.stdout, r.stdout


def test_a_whole_directory_at_once_and_stdin():
    r = validate(os.path.join(ROOT, "examples"))
    assert r.returncode == 0, r.stdout
    assert " valid, 0 invalid, 0 skipped, 0 not checkable" in r.stdout.splitlines()[-1]
    r = validate(os.path.join(ROOT, "examples"), os.path.join(ROOT, "examples", "invalid"))
    assert r.returncode == 1
    r = validate("-", input=open(os.path.join(ROOT, "examples", "invalid", "edgemodel-unknown-precision.yaml")).read())
    assert r.returncode == 1 and r.stdout.startswith("STDIN:"), r.stdout


def test_github_annotations_point_at_the_refused_field(tmp_path):
    path = os.path.join(ROOT, "examples", "invalid", "edgemodel-unknown-precision.yaml")
    line = next(i for i, l in enumerate(open(path), start=1) if "precision: fp8" in l)
    r = validate("--format", "github", path)
    assert r.returncode == 1
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"::error file={path},line={line},title=EdgeModel \"bad-precision\" is invalid::"), first
    assert first.endswith('spec.engine.precision: Unsupported value: "fp8": supported values: "fp32", "fp16", "int8", "best"')


@pytest.mark.parametrize("name,text,message", [
    ("not-yaml.yaml", "kind: EdgeModel\n  metadata: [oops\n", "not YAML"),
    ("words.yaml", "this is not a manifest\n", "not a Kubernetes object"),
    ("unknown-kind.yaml", "apiVersion: edgeml.io/v1alpha1\nkind: EdgeRouter\nmetadata: {name: x}\n", 'unknown kind "EdgeRouter" in group edgeml.io'),
    ("unknown-version.yaml", "apiVersion: edgeml.io/v2\nkind: EdgeModel\nmetadata: {name: x}\n", 'EdgeModel has no version "v2"'),
])
def test_input_it_cannot_check_is_a_clear_message_and_exit_2(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    r = validate(str(path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{path}:" in r.stdout and message in r.stdout, r.stdout


def test_usage_errors_and_missing_files_exit_2(tmp_path):
    r = validate("--format", "xml", os.path.join(ROOT, "examples"))
    assert r.returncode == 2 and "--format" in r.stderr, r.stderr
    r = validate(str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "no such file or directory" in r.stdout
    r = validate()
    assert r.returncode == 2


def test_diff_prints_the_planned_objects_for_the_given_nodes(tmp_path):
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("""apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: orin-nx-a
    labels: {edgeml.io/jetson.module: orin-nx-16gb, edgeml.io/l4t: 36.3.0, edgeml.io/tensorrt: 10.3.0, edgeml.io/gpu.arch: sm_87, edgeml.io/memory.mib: "15600"}
  status:
    conditions: [{type: Ready, status: "True"}]
    allocatable: {nvidia.com/gpu: "1"}
- apiVersion: v1
  kind: Node
  metadata:
    name: nano-a
    labels: {edgeml.io/jetson.module: orin-nano-8gb, edgeml.io/l4t: 36.3.0, edgeml.io/tensorrt: 10.3.0, edgeml.io/gpu.arch: sm_87, edgeml.io/memory.mib: "7600"}
  status:
    conditions: [{type: Ready, status: "True"}]
    allocatable: {nvidia.com/gpu: "1"}
""")
    example = os.path.join(ROOT, "examples", "edgemodel-orin-nx-fp16.yaml")
    r = subprocess.run([EDGEML, "diff", "--nodes", str(nodes), example], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# EdgeModel default/detector: 1/2 nodes eligible"), r.stdout
    kinds = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines() if l.startswith("kind:")]
    assert sorted(kinds) == ["Deployment", "PodDisruptionBudget", "Service"], r.stdout
    r = subprocess.run([EDGEML, "diff", os.path.join(ROOT, "examples", "invalid", "edgemodel-unknown-precision.yaml")],
                       capture_output=True, text=True, timeout=120)
    # An invalid manifest is an error (exit 2), as kubectl diff's exit 1 means "differences".
    assert r.returncode == 2 and "Unsupported value" in r.stderr
