"""`edgeml demo`, what `make demo` runs: the whole story ends well, and says how to explore a cluster."""
import os
import re
import shutil
import subprocess

from conftest import EDGEML


def mlflow_installed():
    """Where the demo looks for `mlflow`: PATH, else scripts/setup.sh's fetch-tools venv."""
    tools = os.environ.get("EDGEML_FETCH_TOOLS", os.path.expanduser("~/.cache/edgeml-operator/fetch-tools"))
    return shutil.which("mlflow") is not None or os.access(os.path.join(tools, "bin", "mlflow"), os.X_OK)


def test_the_demo_tells_its_story_to_the_end():
    r = subprocess.run([EDGEML, "demo"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "placement: 7/8 nodes eligible" in out
    assert "phase Ready: 5/5 replica(s) ready on version 1" in out
    assert "phase Ready: 5/5 replica(s) ready on version 2" in out
    # The canary: weight 40 only once the candidate's pods are Ready, then promoted, then version 3 serves.
    assert "rollout detector-v3: step 1, Paused — stable 60%, candidate 40%" in out
    assert "rollout detector-v3: step 3, Promoted" in out
    assert "phase Ready: 5/5 replica(s) ready on version 3" in out
    # A slow candidate is aborted by its analysis, on its own, with the value it measured.
    assert "rollout detector-v4: step 1, Aborted" in out and "analysis p99-latency: Failed value" in out
    # The A/B test decides with its p-value, and the winner serves.
    assert "A/B Winner: v3 " in out and ", winner v5" in out
    assert "phase Ready: 5/5 replica(s) ready on version 5" in out
    # The closed loop, stage after stage: drift injected, detected with its p-values, a retraining
    # Job (the real `edgeml retrain`), its model canaried and promoted, a new baseline, quiet again.
    # With MLflow installed the Job registers version 6 there and the canary's candidate is
    # mlflow://detector/6 (built from MLflow's copy); without it, the story says it goes by file://.
    registry = (["MLflow tracking server at http://127.0.0.1:", "registered model detector holds versions 1-5"] if mlflow_installed()
                else ["MLflow: mlflow is not installed", "the retrained model goes by file:// URI and digest"])
    registered = (["MLflow: the retraining Job registered detector version 6 (READY", "the canary's candidate is mlflow://detector/6"]
                  if mlflow_installed() else [])
    stages = [*registry, "applied DriftPolicy vision/detector-drift", "baseline of version 5 captured", "drift injected:",
              "drift policy: Drifted=True DatasetDrift", "retraining Job detector-drift-retrain-1: Succeeded", *registered,
              "rollout detector-drift-retrain-1: step 3, Promoted", "phase Ready: 5/5 replica(s) ready on version 6",
              "baseline of version 6 captured", "drift policy: Drifted=False NoDatasetDrift", "drift gone:"]
    at = 0
    for stage in stages:
        at = out.find(stage, at)
        assert at >= 0, f"no {stage!r} after the stages before it:\n" + out[-6000:]
    assert re.search(r"brightness ks D = [0-9.]+, p = [0-9.e+-]+ DRIFTED; contrast ks D = [0-9.]+, p = [0-9.e+-]+ → dataset drift", out)
    assert "no new Job: detector-drift-retrain-1)" in out
    # Without --serve it does not hand out commands for a cluster that is gone: it says how to keep one.
    assert "stopped with this process" in out and "--serve" in out
