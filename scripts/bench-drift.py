#!/usr/bin/env python3
"""Benchmark `edgeml stats` against scipy/numpy on 1M-value samples, in the same run.

Prints, for KS two-sample 1M vs 1M (no drift and a small drift): our compute time (release build,
`--timing`, file reading excluded) and scipy.stats.ks_2samp's time on in-memory arrays, whether the
statistics are identical, the relative p-value difference and the speed ratio; PSI (10 reference-decile
bins) against the equivalent numpy code and Wasserstein-1 against scipy.stats.wasserstein_distance;
the whole `edgeml stats ks` command on the two 1M-line text files (process start, reading and
parsing included) against numpy.loadtxt + ks_2samp; Fisher's exact test on counts of 10^3 to 2^53
against scipy.stats.fisher_exact; and the size of a KLL sketch of 1M values. Each timing is the best
of REPEAT runs.

Usage: swift build -c release --product edgeml && python3 scripts/bench-drift.py
       (EDGEML_BIN overrides the binary, default .build/release/edgeml)
"""
import json
import os
import subprocess
import tempfile
import time

import sys

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "acceptance", "drift"))
from drift_reference import psi_quantile as psi_numpy  # noqa: E402

BIN = os.environ.get("EDGEML_BIN", ".build/release/edgeml")
N = int(os.environ.get("BENCH_N", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def write(path, values):
    with open(path, "w") as fh:
        fh.write("\n".join(repr(float(v)) for v in values))
        fh.write("\n")


def ours(test, ref_path, cur_path, *extra):
    best = None
    for _ in range(REPEAT):
        out = subprocess.run([BIN, "stats", test, "--reference", ref_path, "--current", cur_path, "--timing", *extra],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout)
        if best is None or result["computeSeconds"] < best["computeSeconds"]:
            best = result
    return best


def best_time(fn):
    best, value = float("inf"), None
    for _ in range(REPEAT):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b)) if a != b else 0.0


def fisher(tmp):
    """Fisher's exact test on tables near independence whose counts grow to 2^53: our whole command
    against scipy.stats.fisher_exact on the same table (scipy is skipped above 1e10, where its
    hypergeom sums take seconds and its int64 mode overflows)."""
    import math
    for scale in (10 ** 3, 10 ** 6, 10 ** 9, 10 ** 12, 2 ** 53):
        a, b = scale, scale
        c = scale - int(2 * math.sqrt(scale)) - 1   # every count stays within 2^53
        table = [[a, b], [c, scale]]
        path = os.path.join(tmp, "fisher.json")
        with open(path, "w") as fh:
            json.dump(table, fh)
        wall, out = best_time(lambda: subprocess.run([BIN, "stats", "fisher", "--reference", path],
                                                     capture_output=True, text=True, check=True))
        p = json.loads(out.stdout)["pValue"]
        if scale <= 10 ** 10:
            t, res = best_time(lambda: stats.fisher_exact(table))
            peer = f"{t:9.4f} {t / wall:9.2f}  p ours {p!r} scipy {float(res.pvalue)!r} rel diff {rel(p, float(res.pvalue)):.1e}"
        else:
            peer = f"{'-':>9} {'-':>9}  p ours {p!r} (scipy: not run)"
        label = f"Fisher, counts {scale:.0e}" if scale != 2 ** 53 else "Fisher, counts 2^53"
        print(f"{label:34} {wall:9.4f} {peer}")


def main():
    rng = np.random.default_rng(2026)
    ref = rng.normal(0.0, 1.0, N)
    same = rng.normal(0.0, 1.0, N)
    shifted = rng.normal(0.01, 1.0, N)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: os.path.join(tmp, f"{name}.txt") for name in ("ref", "same", "shifted")}
        write(paths["ref"], ref)
        write(paths["same"], same)
        write(paths["shifted"], shifted)
        print(f"edgeml: {BIN}; n = {N:,} per sample; best of {REPEAT}; numpy {np.__version__}, scipy {stats.__name__ and __import__('scipy').__version__}")
        print()
        print(f"{'benchmark':34} {'ours s':>9} {'peer s':>9} {'peer/ours':>9}  agreement")
        for label, cur_name, cur in (("KS 1M vs 1M, no drift", "same", same), ("KS 1M vs 1M, shift 0.01", "shifted", shifted)):
            r = ours("ks", paths["ref"], paths[cur_name])
            t, res = best_time(lambda: stats.ks_2samp(ref, cur))
            same_stat = r["statistic"] == float(res.statistic)
            print(f"{label:34} {r['computeSeconds']:9.4f} {t:9.4f} {t / r['computeSeconds']:9.2f}  "
                  f"statistic {'identical' if same_stat else 'DIFFERENT'} ({r['statistic']!r}); "
                  f"p ours {r['pValue']!r} scipy {float(res.pvalue)!r} rel diff {rel(r['pValue'], float(res.pvalue)):.1e}")
        r = ours("psi", paths["ref"], paths["shifted"], "--bins", "10")
        t, value = best_time(lambda: psi_numpy(ref, shifted))
        print(f"{'PSI 1M vs 1M, 10 decile bins':34} {r['computeSeconds']:9.4f} {t:9.4f} {t / r['computeSeconds']:9.2f}  "
              f"numpy {value!r} ours {r['statistic']!r} rel diff {rel(r['statistic'], value):.1e}")
        r = ours("wasserstein", paths["ref"], paths["shifted"])
        t, value = best_time(lambda: stats.wasserstein_distance(ref, shifted))
        print(f"{'Wasserstein-1 1M vs 1M':34} {r['computeSeconds']:9.4f} {t:9.4f} {t / r['computeSeconds']:9.2f}  "
              f"scipy {float(value)!r} ours {r['statistic']!r} rel diff {rel(r['statistic'], float(value)):.1e}")
        wall, _ = best_time(lambda: subprocess.run([BIN, "stats", "ks", "--reference", paths["ref"], "--current", paths["shifted"]],
                                                     capture_output=True, check=True))
        t, _ = best_time(lambda: stats.ks_2samp(np.loadtxt(paths["ref"]), np.loadtxt(paths["shifted"])))
        print(f"{'KS whole command, 2 text files':34} {wall:9.4f} {t:9.4f} {t / wall:9.2f}  "
              f"edgeml stats ks (start, read, parse, test) vs numpy.loadtxt + ks_2samp")
        fisher(tmp)
        out = subprocess.run([BIN, "stats", "sketch", "--values", paths["ref"]], capture_output=True, text=True, check=True)
        sketch = json.loads(out.stdout)
        print()
        print(f"KLL sketch of {sketch['count']:,} values (k = {sketch['k']}): {sketch['retained']} values retained, "
              f"{sketch['bytes']:,} bytes serialised ({sketch['bytes'] / 1024:.1f} KiB < 64 KiB), "
              f"rank error bound {sketch['rankErrorBound']:.4f}")


if __name__ == "__main__":
    main()
