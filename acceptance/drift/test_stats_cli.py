"""`edgeml stats` as a user runs it: one JSON object on stdout and exit 0, or a message on stderr
and exit 2 for bad input. Finds the binary from EDGEML_BIN (default .build/debug/edgeml)."""
import json
import os
import subprocess

import numpy as np
import pytest
from scipy import stats

BIN = os.environ.get("EDGEML_BIN", ".build/debug/edgeml")


def run(*args):
    return subprocess.run([BIN, "stats", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def files(tmp_path):
    def make(name, content):
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)
    return make


def test_ks_prints_one_json_object_with_full_precision(files):
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 300), rng.normal(0.2, 1, 250)
    ref = files("ref.txt", "\n".join(repr(float(x)) for x in a) + "\n")
    cur = files("cur.json", [float(x) for x in b])
    out = run("ks", "--reference", ref, "--current", cur, "--timing")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    expected = stats.ks_2samp(a, b)
    assert result["test"] == "ks" and result["n"] == [300, 250]
    assert result["statistic"] == float(expected.statistic)
    assert abs(result["pValue"] - expected.pvalue) <= 1e-9 * expected.pvalue
    assert result["computeSeconds"] >= 0
    assert "computeSeconds" not in json.loads(run("ks", "--reference", ref, "--current", cur).stdout)


@pytest.mark.parametrize("args, message", [
    (["nope", "--reference", "{ref}", "--current", "{cur}"], "unknown test"),
    (["ks", "--reference", "{ref}", "--current", "/does/not/exist"], "cannot read"),
    (["ks", "--reference", "{ref}"], "--current"),
    (["ks", "--reference", "{ref}", "--current", "{cur}", "--alternative", "up"], "--alternative"),
    (["ks", "--reference", "{ref}", "--current", "{cur}", "--method", "fast"], "--method"),
    (["psi", "--reference", "{ref}", "--current", "{cur}", "--bins", "ten"], "--bins"),
    (["ks", "--reference", "{nan}", "--current", "{cur}"], "NaN"),
    (["ks", "--reference", "{empty}", "--current", "{cur}"], "empty"),
    (["ks", "--reference", "{badjson}", "--current", "{cur}"], "not valid JSON"),
    (["chi2-contingency", "--reference", "{zerocol}"], "expected frequency"),
    (["kl", "--reference", "{p}", "--current", "{q0}"], "infinite"),
    (["adjust", "--pvalues", "{bad_p}", "--method", "bh"], "[0, 1]"),
    (["adjust", "--pvalues", "{p}", "--method", "fdr"], "--method"),
])
def test_bad_input_exits_2_with_a_message(files, args, message):
    paths = {
        "ref": files("ref.txt", "1\n2\n3\n"), "cur": files("cur.txt", "2\n3\n4\n"),
        "nan": files("nan.txt", "1\nnan\n"), "empty": files("empty.txt", "# nothing\n"),
        "badjson": files("bad.json", "[1, 2,"), "zerocol": files("t.json", [[1, 0], [2, 0]]),
        "p": files("p.json", [0.5, 0.5]), "q0": files("q.json", [1.0, 0.0]), "bad_p": files("badp.json", [0.2, 1.5]),
    }
    out = run(*[a.format(**paths) for a in args])
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == ""
    assert message in out.stderr


def test_categorical_and_table_inputs(files):
    ref = files("ref.txt", "a\nb\na\nc\nb\na\n")
    cur = files("cur.txt", "a\nc\nc\nb\nc\n")
    out = json.loads(run("chi2-contingency", "--reference", ref, "--current", cur).stdout)
    expected = stats.chi2_contingency([[3, 2, 1], [1, 1, 3]])
    assert abs(out["statistic"] - expected.statistic) <= 1e-12 and out["dof"] == 2
    table = files("t.json", [[30, 20], [15, 35]])
    assert abs(json.loads(run("fisher", "--reference", table).stdout)["pValue"] - stats.fisher_exact([[30, 20], [15, 35]]).pvalue) < 1e-12
    out = json.loads(run("chi2-contingency", "--reference", table, "--no-yates").stdout)
    assert abs(out["statistic"] - stats.chi2_contingency([[30, 20], [15, 35]], correction=False).statistic) < 1e-12


def test_multi_feature_files_are_corrected_across_features(files):
    rng = np.random.default_rng(3)
    ref = {f"f{i}": rng.normal(0, 1, 80).tolist() for i in range(4)}
    cur = {f"f{i}": rng.normal(0.15 * i, 1, 70).tolist() for i in range(4)}
    out = run("ks", "--reference", files("r.json", ref), "--current", files("c.json", cur), "--correction", "bh")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    ps = [stats.ks_2samp(ref[f], cur[f]).pvalue for f in ref]
    adjusted = stats.false_discovery_control(ps)
    for row, p, q in zip(result["features"], ps, adjusted):
        assert abs(row["pValue"] - p) <= 1e-9 * p and abs(row["adjustedPValue"] - q) <= 1e-9 * q


def test_adjust_prints_method_and_adjusted(files):
    ps = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    out = json.loads(run("adjust", "--pvalues", files("p.txt", "\n".join(map(str, ps))), "--method", "bh").stdout)
    assert out["method"] == "bh"
    assert np.allclose(out["adjusted"], stats.false_discovery_control(ps), rtol=1e-12, atol=0)
