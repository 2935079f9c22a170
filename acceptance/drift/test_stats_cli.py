"""`edgeml stats` as a user runs it: one JSON object on stdout and exit 0, or a message on stderr
and exit 2 for bad input. Finds the binary from EDGEML_BIN (default .build/debug/edgeml)."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

BIN = os.environ.get("EDGEML_BIN", ".build/debug/edgeml")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


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


# Counts merged from many devices (issue 18, item 0): up to 2^53 exactly, beyond that an error.

TWO_53 = 2 ** 53


def test_chi2_contingency_with_huge_or_infinite_totals_exits_2_not_a_crash(files):
    for rows in (["1e19\n1\n", "1\n1\n"], ["inf\n1\n", "1\n1\n"], ["nan\n1\n", "1\n1\n"]):
        out = run("chi2-contingency", "--reference", files("r.txt", rows[0]), "--current", files("c.txt", rows[1]))
        assert out.returncode == 2, (rows, out.returncode, out.stderr)
        assert out.stderr.startswith("error: ") and out.stdout == ""
    out = run("chi2-contingency", "--reference", files("t.json", [[1e19, 1], [1, 1]]))
    assert out.returncode == 2 and "2^53" in out.stderr, out.stderr
    table = [[TWO_53, TWO_53], [TWO_53 - 10 ** 9, TWO_53]]
    out = run("chi2-contingency", "--reference", files("t.json", table))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    expected = stats.chi2_contingency(np.array(table, dtype=float))
    assert result["n"] == [2 * TWO_53, 2 * TWO_53 - 10 ** 9]
    assert abs(result["statistic"] - expected.statistic) <= 1e-9 * expected.statistic


def test_fisher_on_counts_of_3e9_to_2_53_answers_like_scipys_algorithm(files):
    from drift_reference import fisher_exact_wide
    for table in ([[3 * 10 ** 9, 3 * 10 ** 9], [3 * 10 ** 9 + 50_000, 3 * 10 ** 9]],
                  [[10 ** 9, 2 * 10 ** 9], [3 * 10 ** 9 + 7, 10 ** 9]],
                  [[10 ** 9, 10 ** 9], [10 ** 9 + 60_000, 10 ** 9]]):
        for alternative in ("two-sided", "less", "greater"):
            out = run("fisher", "--reference", files("t.json", table), "--alternative", alternative)
            assert out.returncode == 0, out.stderr
            p = json.loads(out.stdout)["pValue"]
            expected = fisher_exact_wide(table, alternative)
            # scipy's hypergeom (Boost) is itself ~5e-7 off at these sizes (30-digit mpmath sums;
            # LargeCountTests.swift holds ours to mpmath at 1e-12)
            assert abs(p - expected) <= 2e-6 * expected + 1e-13, (table, alternative, p, expected)
    # [successes, trials] files at 2^53: answered (scipy takes 13 s here and overflows its mode)
    half = TWO_53 // 2
    ref, cur = files("r.txt", f"{half}\n{TWO_53}\n"), files("c.txt", f"{half - 10 ** 8}\n{TWO_53}\n")
    out = run("fisher", "--reference", ref, "--current", cur)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    # σ ≈ 3·10^7: the hypergeometric is normal far beyond 1e-5, so Yates' chi-squared p-value is the reference
    yates = stats.chi2_contingency([[half, half], [half - 10 ** 8, half + 10 ** 8]]).pvalue
    assert 1e-4 < yates < 0.5 and abs(result["pValue"] - yates) <= 1e-5 * yates, (result, yates)
    assert result["n"] == [TWO_53, TWO_53]
    out = run("fisher", "--reference", ref, "--current", files("c2.txt", f"1\n{TWO_53 + 2}\n"))
    assert out.returncode == 2 and "2^53" in out.stderr, out.stderr
    out = run("fisher", "--reference", files("t.json", [[TWO_53 + 2, 1], [1, 1]]))
    assert out.returncode == 2 and "2^53" in out.stderr, out.stderr


def test_two_proportion_takes_2_53_trials_and_refuses_more(files):
    ref, cur = files("r.txt", f"{TWO_53 // 2}\n{TWO_53}\n"), files("c.txt", f"{TWO_53 // 2 - 10 ** 6}\n{TWO_53}\n")
    out = run("two-proportion", "--reference", ref, "--current", cur)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["n"] == [TWO_53, TWO_53]
    out = run("two-proportion", "--reference", files("r2.txt", f"1\n{2 * TWO_53}\n"), "--current", cur)
    assert out.returncode == 2 and "2^53" in out.stderr, out.stderr
    out = run("fisher", "--reference", files("r3.txt", "1\n-5\n"), "--current", cur)
    assert out.returncode == 2 and out.stderr.startswith("error: "), out.stderr


def test_malformed_lines_exit_2_naming_file_and_line_for_every_reader(files, tmp_path):
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"1\n# comment\n5\x00abc\n7\n")
    good = files("good.txt", "1\n2\n3\n")
    for args in (["ks", "--reference", str(nul), "--current", good],
                 ["ks", "--reference", good, "--current", str(nul)],
                 ["adjust", "--pvalues", str(nul)],
                 ["sketch", "--values", str(nul)],
                 ["chi2", "--reference", good, "--current", str(nul)]):
        out = run(*args)
        assert out.returncode == 2, (args, out.returncode, out.stdout, out.stderr)
        assert f"{nul}:3:" in out.stderr and "NUL" in out.stderr, out.stderr
    words = files("words.txt", "0.5\n1.5\n\n  2.5e3  \nabc\n")
    out = run("ks", "--reference", words, "--current", good)
    assert out.returncode == 2 and f"{words}:5: 'abc' is not a number" in out.stderr, out.stderr
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"red\nbl\xe9u\n")
    out = run("chi2", "--reference", str(latin1), "--current", str(latin1))
    assert out.returncode == 2 and f"{latin1}:2:" in out.stderr and "UTF-8" in out.stderr, out.stderr
    cases = tmp_path / "cases.json"
    cases.write_bytes(b'[{"test": "ks", "reference": [1, 2],\n "current": [5\x00]}]')
    out = run("batch", "--cases", str(cases))
    assert out.returncode == 2 and "line 2" in out.stderr, out.stderr


@pytest.mark.parametrize("args, message", [
    (["psi", "--reference", "{ref}", "--current", "{cur}", "--bins", "-3"], "--bins must be a whole number from 1"),
    (["psi", "--reference", "{ref}", "--current", "{cur}", "--bins", "0"], "--bins must be a whole number from 1"),
    (["jensen-shannon", "--reference", "{ref}", "--current", "{cur}", "--bins=-1"], "--bins"),
    (["sketch", "--values", "{ref}", "--k", "-5"], "--k must be a whole number"),
    (["ks", "--reference", "{ref}", "--current", "{cur}", "--binz", "3"], "Unknown option"),
    (["ks", "--reference", "{ref}", "--current"], "Missing value"),
    (["adjust", "--pvalues"], "Missing value"),
])
def test_usage_errors_exit_2_like_bad_input(files, args, message):
    paths = {"ref": files("ref.txt", "1\n2\n3\n4\n"), "cur": files("cur.txt", "2\n3\n4\n5\n")}
    out = run(*[a.format(**paths) for a in args])
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == "" and out.stderr.startswith("error: ") and message in out.stderr, out.stderr


def test_numbers_are_read_as_the_nearest_double(files):
    """Every number of a text file is the double nearest its decimal text, ties to even, as Python's
    float() (David Gay's correctly rounded conversion) reads it: 100,000 random spellings across
    the whole exponent range (both the exact 64-bit path and the strtod path of the reader) and the
    classic hard cases."""
    rng = np.random.default_rng(99)
    texts = [
        "0", "-0", "0.0", "1e-4", "+1e-4", "0.1", "-0.1", ".5", "5.", "007", "1e0", "1E+2",
        "5e-324", "4.9406564584124654e-324", "2.4703282292062328e-324", "2.4703282292062327e-324",
        "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308", "1e-320",
        "9007199254740993", "9007199254740992.5", "9007199254740993.0000000001", "18446744073709551615",
        "1.00000000000000011102230246251565e-4", "0.000123456789012345678901234567890123456789",
        "123456789012345678e-27", "1234567890123456789e-27", "1234567890123456789e27", "9999999999999999999",
        "0.30000000000000004", "2.5e-1", "0x1p-20", "-0X1.8P3", "7.0e-4",
    ]
    while len(texts) < 100_000:
        digits = int(rng.integers(1, 23))
        mantissa = "".join(str(d) for d in rng.integers(0, 10, digits)).lstrip("0") or "0"
        point = int(rng.integers(0, len(mantissa) + 1))
        body = mantissa[:point] + "." + mantissa[point:] if rng.random() < 0.7 else mantissa
        exponent = int(rng.integers(-340, 320)) if rng.random() < 0.3 else int(rng.integers(-30, 31))
        sign = str(rng.choice(["", "-", "+"], p=[0.6, 0.35, 0.05]))
        text = sign + (body if body not in (".",) else "0") + (f"e{exponent}" if rng.random() < 0.8 else "")
        texts.append(text)
    out = run("numbers", "--values", files("n.txt", "\n".join(texts) + "\n"))
    assert out.returncode == 0, out.stderr
    ours = json.loads(out.stdout, parse_int=float)  # "-0" is the double -0.0

    def expected(text):
        value = float.fromhex(text) if "0x" in text.lower() else float(text)
        return None if math.isinf(value) else value
    wrong = [(t, o, expected(t)) for t, o in zip(texts, ours)
             if o != expected(t) or (o == 0 and math.copysign(1, o) != math.copysign(1, expected(t)))]
    assert len(ours) == len(texts)
    assert not wrong, wrong[:5]
