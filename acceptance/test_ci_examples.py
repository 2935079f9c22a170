"""The CI examples of examples/ci/ (issue 19 item 6): the GitHub Actions workflow, the GitLab CI file
and the Jenkinsfile run the same stages of examples/ci/pipeline.sh, and those stages' commands do what
docs/ci.md says when run here:

- validate: a valid tree passes, an invalid manifest fails with the GitHub annotation on its line;
- build: the image `make test` already built is packaged with the engine builder's tools copy
  (skipped, saying why, when there is no image of this commit: never built a second time here);
- engine-report: the engine built with the trtexec double under a latency gate, its result
  documents kept, a report that says which engine failed its gate, and the stage failing then;
- gitops-update: against a local bare repository, the version changes in base/detector.yaml in one
  commit that is pushed; the same version again makes no commit; a pull request's run pushes nothing.
"""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import EDGEML, ROOT
from onnx_fixture import model
from test_security import assert_checkov_passes_github_workflow

CI = os.path.join(ROOT, "examples", "ci")
PIPELINE = os.path.join(CI, "pipeline.sh")
TRTEXEC = os.path.join(os.path.dirname(EDGEML), "trtexec-double")
# check-jsonschema in a venv of its own (scripts/setup.sh), for its vendored SchemaStore schemas.
CHECK_JSONSCHEMA = os.path.join(os.environ.get("EDGEML_CHECK_JSONSCHEMA", os.path.expanduser("~/.cache/edgeml-operator/check-jsonschema")),
                                "bin", "check-jsonschema")
STAGES = {"validate", "build", "engine-report", "gitops-update"}
# Variables of the CI system the tests run in that would change what the script does.
CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_STEP_SUMMARY", "CI_MERGE_REQUEST_IID", "CHANGE_ID",
                "GITOPS_TOKEN", "MANIFESTS", "VALIDATE_FORMAT", "ENGINE", "ENGINE_TOOLS", "MODEL_DIGEST", "DRY_RUN")


def pipeline(stage, tmp_path, **env):
    """Runs one stage as a CI job would, with its outputs under tmp_path."""
    environment = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    environment.update(EDGEML=EDGEML, CI_OUT=str(tmp_path / "ci-out"), **env)
    return subprocess.run(["bash", PIPELINE, stage], capture_output=True, text=True, env=environment, timeout=600)


# --- the three files --------------------------------------------------------------------------------

def github_commands():
    workflow = yaml.safe_load(open(os.path.join(CI, "github-actions-pipeline.yml")))
    return workflow, {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in workflow["jobs"].items()}


def gitlab_commands():
    config = yaml.safe_load(open(os.path.join(CI, ".gitlab-ci.yml")))
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    return config, {name: job["script"] for name, job in jobs.items()}


def jenkins_commands():
    """The `sh` steps of the Jenkinsfile, by stage: sh 'cmd', sh "cmd" or sh(script: '…')."""
    text = open(os.path.join(CI, "Jenkinsfile")).read()
    commands, stage = {}, None
    for line in text.splitlines():
        if line.strip().startswith("//"):
            continue
        m = re.search(r"\bstage\('([^']+)'\)", line)
        if m:
            stage = m.group(1)
        for m in re.finditer(r"\bsh\s*\(?\s*(?:script:\s*)?(['\"])(.+?)\1", line):
            commands.setdefault(stage, []).append(m.group(2))
    return text, commands


def stages_called(commands):
    called = set()
    for lines in commands.values():
        for command in lines:
            called.update(re.findall(r"examples/ci/pipeline\.sh\s+([a-z-]+)", command))
    return called


def pipeline_stages():
    """The stages pipeline.sh itself accepts (its final `case`)."""
    text = open(PIPELINE).read()
    return set(re.findall(r"^  ([a-z-]+)\) stage_", text, re.M))


def test_the_three_ci_files_run_the_same_stages_of_pipeline_sh():
    assert pipeline_stages() == STAGES
    for name, commands in [("github", github_commands()[1]), ("gitlab", gitlab_commands()[1]), ("jenkins", jenkins_commands()[1])]:
        assert stages_called(commands) == STAGES, (name, commands)
        # The logic stays in pipeline.sh: no CI file runs edgeml, make, swift or git itself.
        for command in (c for lines in commands.values() for c in lines):
            assert not re.search(r"(^|\s)(edgeml|make|swift|git|python3)\s", command), (name, command)


def test_no_ci_file_deploys_from_a_pull_request():
    workflow, _ = github_commands()
    condition = workflow["jobs"]["gitops-update"]["if"]
    assert "github.event_name != 'pull_request'" in condition and "refs/heads/main" in condition
    assert workflow["jobs"]["gitops-update"]["steps"][-1]["env"]["GITOPS_TOKEN"] == "${{ secrets.GITOPS_TOKEN }}"
    config, _ = gitlab_commands()
    rules = config["gitops-update"]["rules"]
    assert rules[0] == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "never"}
    assert rules[1]["if"] == "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    text, _ = jenkins_commands()
    gitops_stage = text[text.index("stage('GitOps update')"):]
    assert "not { changeRequest() }" in gitops_stage and "branch 'main'" in gitops_stage
    assert "withCredentials([usernamePassword(credentialsId: 'gitops-token'" in gitops_stage


def test_each_ci_file_builds_arm64_natively_and_the_report_on_a_jetson():
    workflow, _ = github_commands()
    include = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
    assert {(m["arch"], m["runner"]) for m in include} == {("amd64", "ubuntu-24.04"), ("arm64", "ubuntu-24.04-arm")}
    assert "jetson" in workflow["jobs"]["engine-report"]["runs-on"]
    uses = [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    config, _ = gitlab_commands()
    assert {m["ARCH"] for m in config["build"]["parallel"]["matrix"]} == {"amd64", "arm64"}
    assert config["engine-report"]["tags"] == ["jetson"]
    assert config["engine-report"]["artifacts"]["reports"]["junit"] == "ci-out/engine-report/junit.xml"
    text, _ = jenkins_commands()
    assert "values 'amd64', 'arm64'" in text and "label \"linux && ${ARCH}\"" in text and "label 'jetson'" in text


def check_jsonschema(schema, path):
    return subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", schema, path], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name,schema", [("github-actions-pipeline.yml", "vendor.github-workflows"),
                                         ("github-actions-release-image.yml", "vendor.github-workflows"),
                                         (".gitlab-ci.yml", "vendor.gitlab-ci")])
def test_the_yaml_files_are_valid_against_the_published_schemas(name, schema, tmp_path):
    """SchemaStore's GitHub workflow schema and GitLab's own CI schema, as check-jsonschema 0.39.0
    vendors them in its wheel (check_jsonschema/builtin_schemas/vendor/, whose README names their
    sources): no download at test time. A broken copy fails, so the check can fail."""
    if not os.access(CHECK_JSONSCHEMA, os.X_OK):
        pytest.skip(f"check-jsonschema is not installed at {CHECK_JSONSCHEMA} (scripts/setup.sh installs it)")
    path = os.path.join(CI, name)
    r = check_jsonschema(schema, path)
    assert r.returncode == 0, r.stdout + r.stderr
    broken = tmp_path / name
    text = open(path).read()
    # A job without runs-on (GitHub); a `when` outside its enum (GitLab).
    broken.write_text(text.replace("runs-on:", "runs_on:", 1) if "github" in name else text.replace("when: never", "when: sometimes", 1))
    assert check_jsonschema(schema, str(broken)).returncode != 0


def test_the_pipeline_workflow_passes_checkov(tmp_path):
    """As acceptance/test_security.py holds the release-image workflow to."""
    assert_checkov_passes_github_workflow(os.path.join(CI, "github-actions-pipeline.yml"), tmp_path)


# --- validate -------------------------------------------------------------------------------------

def test_validate_passes_the_repositorys_manifests(tmp_path):
    r = pipeline("validate", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # The kustomizations and the Namespace are other API groups' kinds: skipped, not failed.
    assert re.search(r"\d+ valid, 0 invalid, \d+ skipped, 0 not checkable", r.stdout), r.stdout


def test_validate_fails_an_invalid_manifest_with_a_github_annotation_on_its_line(tmp_path):
    path = "examples/invalid/edgemodel-unknown-precision.yaml"
    line = next(i for i, l in enumerate(open(os.path.join(ROOT, path)), start=1) if "precision: fp8" in l)
    # Inside GitHub Actions the stage speaks the runner's workflow commands without being told.
    r = pipeline("validate", tmp_path, MANIFESTS=f"examples {path}", GITHUB_ACTIONS="true")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(rf"^::error file={re.escape(path)},line={line},title=EdgeModel \"bad-precision\" is invalid::", r.stdout, re.M), r.stdout


# --- build ----------------------------------------------------------------------------------------

def test_build_packages_the_image_of_this_commit_and_the_engine_builder(tmp_path):
    image = os.path.join(ROOT, ".build-image", "image.json")
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
    if os.path.exists(os.path.join(ROOT, ".build-image", "skipped")) or not os.path.exists(image):
        pytest.skip("no release image in .build-image/ (make test builds it first): the build stage is make image, not run a second time here")
    if json.load(open(image))["revision"] != head or dirty:
        pytest.skip("the image in .build-image/ is not of this commit's clean tree: the stage would run make image again, which is not done here")
    r = pipeline("build", tmp_path, REUSE_IMAGE="1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reusing the image of .build-image/" in r.stdout
    out = tmp_path / "ci-out" / "build"
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    archive = out / f"edgeml-image-linux-{arch}.oci.tar"
    inspected = json.loads(subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}"], capture_output=True, text=True, check=True).stdout)
    assert (out / f"image-linux-{arch}.digest").read_text().strip() == inspected["Digest"]
    assert subprocess.run(["sha256sum", "-c", f"SHA256SUMS-{arch}"], cwd=out, capture_output=True).returncode == 0
    # The engine builder's tools copy runs through its own loader, as in a JetPack image.
    subprocess.run(["tar", "-C", str(tmp_path), "-xzf", str(out / f"edgeml-engine-linux-{arch}.tar.gz")], check=True)
    tools = tmp_path / f"edgeml-engine-linux-{arch}"
    r = subprocess.run([str(tools / "ld.so"), "--library-path", str(tools / "lib"), str(tools / "edgeml-engine"), "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "USAGE:" in r.stdout, r.stderr


# --- engine-report --------------------------------------------------------------------------------

@pytest.fixture
def onnx(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(model(salt="ci"))
    return path


def engine_report(tmp_path, onnx, **env):
    settings = dict(MODEL_URI=f"file://{onnx}", MODEL_NAME="detector", MODEL_VERSION="4", TRTEXEC=TRTEXEC)
    settings.update(env)
    r = pipeline("engine-report", tmp_path, **settings)
    return r, tmp_path / "ci-out" / "engine-report"


def test_engine_report_accepts_engines_that_meet_the_gates(tmp_path, onnx):
    summary = tmp_path / "summary.md"
    r, out = engine_report(tmp_path, onnx, ENGINE_PRECISIONS="fp16 int8", MAX_LATENCY_MS="1.0", MIN_THROUGHPUT_QPS="500",
                           GITHUB_STEP_SUMMARY=str(summary))
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.load(open(out / "report.json"))
    assert report["passed"] and report["gates"] == {"maxLatencyMs": 1.0, "minThroughputQPS": 500.0}
    assert [e["precision"] for e in report["engines"]] == ["fp16", "int8"]
    for engine in report["engines"]:
        # The engine's own result document, as a pod's termination message holds it.
        result = json.load(open(out / "results" / f"{engine['precision']}.json"))
        assert result["state"] == "Built" and result["tensorrt"] == "10.3.0"
        assert 0 < result["latencyMs"] <= 1.0 and result["throughputQPS"] >= 500
        assert engine["latencyMs"] == result["latencyMs"]
    assert "**Accepted**" in (out / "report.md").read_text()
    assert summary.read_text() == (out / "report.md").read_text()
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "0"


def test_engine_report_fails_when_an_engine_misses_its_gate_and_says_which(tmp_path, onnx):
    # The double's fp32 engine of this model takes longer than 1 ms, its fp16 engine less.
    r, out = engine_report(tmp_path, onnx, ENGINE_PRECISIONS="fp16 fp32", MAX_LATENCY_MS="1.0")
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.load(open(out / "report.json"))
    verdicts = {e["precision"]: (e["passed"], e.get("reason")) for e in report["engines"]}
    assert verdicts == {"fp16": (True, None), "fp32": (False, "AcceptanceFailed")}
    markdown = (out / "report.md").read_text()
    assert "**Not accepted**: 1 of 2 engine(s) failed." in markdown
    assert re.search(r"- fp32: AcceptanceFailed: trtexec mean latency [\d.]+ ms is above the maximum 1(\.0)? ms", markdown), markdown
    failure = ET.parse(out / "junit.xml").getroot().find("testcase[@name='fp32']/failure")
    assert failure is not None and failure.get("message").startswith("AcceptanceFailed")
    assert (out / "logs" / "fp32.log").read_text()


def test_engine_report_refuses_to_run_without_a_gate(tmp_path, onnx):
    r, _ = engine_report(tmp_path, onnx)
    assert r.returncode == 2 and "MAX_LATENCY_MS and/or MIN_THROUGHPUT_QPS" in r.stderr, r.stderr


def test_engine_report_of_a_model_that_does_not_match_its_digest(tmp_path, onnx):
    r, out = engine_report(tmp_path, onnx, MAX_LATENCY_MS="5", MODEL_DIGEST="sha256:" + "0" * 64)
    assert r.returncode == 1
    assert json.load(open(out / "report.json"))["engines"][0]["reason"] == "DigestMismatch"


# --- gitops-update --------------------------------------------------------------------------------

def git(*args, cwd=None):
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
    assert r.returncode == 0, f"git {' '.join(args)}: {r.stderr}"
    return r.stdout


@pytest.fixture
def gitops(tmp_path):
    """A bare repository holding examples/gitops as a team's GitOps repository would."""
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    shutil.copytree(os.path.join(ROOT, "examples", "gitops"), seed / "examples" / "gitops")
    git("init", "--quiet", "--initial-branch=main", cwd=seed)
    git("add", ".", cwd=seed)
    git("commit", "--quiet", "-m", "the fleet at version 3", cwd=seed)
    git("push", "--quiet", str(bare), "main", cwd=seed)
    return bare


NEW = dict(MODEL_VERSION="4", MODEL_URI="https://models.example.com/detector/4/model.onnx",
           MODEL_DIGEST="sha256:" + "ab" * 32)


def test_gitops_update_commits_and_pushes_the_new_version_once(tmp_path, gitops):
    r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), CI_RUN_URL="https://ci.example.com/runs/7", **NEW)
    assert r.returncode == 0, r.stdout + r.stderr
    log = git("log", "--format=%s", "main", cwd=gitops).splitlines()
    assert log == ["detector: model version 4", "the fleet at version 3"]
    assert git("show", "--format=", "--name-only", "main", cwd=gitops).split() == ["examples/gitops/base/detector.yaml"]
    assert "from: https://ci.example.com/runs/7" in git("log", "-1", "--format=%b", "main", cwd=gitops)
    detector = yaml.safe_load(git("show", "main:examples/gitops/base/detector.yaml", cwd=gitops))
    assert detector["spec"]["model"] == {"uri": NEW["MODEL_URI"], "digest": NEW["MODEL_DIGEST"], "version": "4"}
    # Only the three lines changed: comments and the rest of the file are as the team wrote them.
    diff = git("diff", "--unified=0", "main~1", "main", cwd=gitops)
    assert len([l for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]) == 3, diff

    again = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), **NEW)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to commit" in again.stdout
    assert len(git("log", "--format=%s", "main", cwd=gitops).splitlines()) == 2


def test_gitops_update_rebases_onto_a_push_that_landed_first(tmp_path, gitops):
    """Someone else's commit reaches main between the stage's clone and its push: the push is
    refused, the stage rebases onto it and pushes again; both changes are kept."""
    seed = tmp_path / "other"
    git("clone", "--quiet", str(gitops), str(seed))
    site_c = seed / "examples" / "gitops" / "sites" / "site-c" / "kustomization.yaml"
    site_c.write_text(site_c.read_text().replace("the base as it is", "the base as it is, for now"))
    git("commit", "--quiet", "-am", "site-c: a comment", cwd=seed)
    git("push", "--quiet", "origin", "HEAD:refs/heads/other", cwd=seed)
    # On the first push only, the other commit lands on main (outside the push's quarantine, which
    # forbids ref updates from a hook) and the push is refused, as a lost race is.
    hook = gitops / "hooks" / "pre-receive"
    marker = tmp_path / "raced"
    hook.write_text(f"""#!/bin/sh
[ -e {marker} ] && exit 0
touch {marker}
env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES git update-ref refs/heads/main refs/heads/other
echo "main moved on" >&2
exit 1
""")
    hook.chmod(0o755)
    r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), **NEW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "push refused (attempt 1)" in r.stderr
    log = git("log", "--format=%s", "main", cwd=gitops).splitlines()
    assert log == ["detector: model version 4", "site-c: a comment", "the fleet at version 3"]


def test_gitops_update_pushes_nothing_from_a_pull_request(tmp_path, gitops):
    before = git("rev-parse", "main", cwd=gitops)
    for variables in ({"GITHUB_EVENT_NAME": "pull_request"}, {"CI_MERGE_REQUEST_IID": "12"}, {"CHANGE_ID": "12"}):
        r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), GITOPS_TOKEN="not-used", **variables, **NEW)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "not pushing" in r.stdout and '+    version: "4"' in r.stdout, r.stdout
        assert "not-used" not in r.stdout + r.stderr
    assert git("rev-parse", "main", cwd=gitops) == before


def test_gitops_update_refuses_a_version_the_api_server_would_refuse(tmp_path, gitops):
    """An https:// model without a digest: the CRD refuses it, so nothing is committed."""
    before = git("rev-parse", "main", cwd=gitops)
    r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), MODEL_VERSION="5",
                 MODEL_URI="https://models.example.com/detector/5/model.onnx")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "invalid" in r.stdout
    assert git("rev-parse", "main", cwd=gitops) == before


def test_gitops_update_says_what_is_missing(tmp_path, gitops):
    r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), MODEL_URI="https://x/m.onnx")
    assert r.returncode != 0 and "MODEL_VERSION" in r.stderr
    r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), MODEL_NAME="segmenter", **NEW)
    assert r.returncode == 2 and "no EdgeModel named segmenter" in r.stderr, r.stderr
    r = pipeline("gitops-update", tmp_path, GITOPS_REPO=str(gitops), **{**NEW, "MODEL_DIGEST": "sha256:short"})
    assert r.returncode == 2 and "64 lowercase hex digits" in r.stderr, r.stderr
