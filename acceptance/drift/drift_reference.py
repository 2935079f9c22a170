"""Reference computations shared by the drift property test and scripts/bench-drift.py."""
import numpy as np


def psi_quantile(ref, cur, n_bins=10, eps=1e-4):
    """PSI with reference-quantile bins, as make_vectors.py defines it (numpy 'linear' quantiles,
    interior edges, searchsorted side='right', shares floored at eps, natural log)."""
    ref = np.asarray(ref, float)
    cur = np.asarray(cur, float)
    interior = np.quantile(ref, np.linspace(0.0, 1.0, n_bins + 1))[1:-1]
    ref_cnt = np.bincount(np.searchsorted(interior, ref, side="right"), minlength=n_bins)
    cur_cnt = np.bincount(np.searchsorted(interior, cur, side="right"), minlength=n_bins)
    p_ref = np.maximum(ref_cnt / len(ref), eps)
    p_cur = np.maximum(cur_cnt / len(cur), eps)
    return float(((p_cur - p_ref) * np.log(p_cur / p_ref)).sum())


def fisher_exact_wide(table, alternative="two-sided"):
    """scipy.stats.fisher_exact (2x2) with its mode computed in Python integers.

    scipy 1.17.1 computes the mode as int((n + 1) * (n1 + 1) / (n1 + n2 + 2)) in int64, which
    overflows once both margins pass ~3e9 (the two-sided p-value of [[1e9, 2e9], [3e9, 1e9]] is then
    1.0). Everything else is scipy's own code path: hypergeom.pmf/cdf/sf (Boost) and the same binary
    search, so this is scipy's answer where scipy's int64 arithmetic holds, and its algorithm beyond."""
    from scipy.stats import hypergeom
    from scipy.stats._stats_py import _binary_search
    (a, b), (c, d) = [[int(v) for v in row] for row in table]
    n1, n2, n = a + b, c + d, a + c
    if 0 in (n1, n2, n, b + d):
        return 1.0
    total = n1 + n2
    if alternative == "less":
        return float(hypergeom.cdf(a, total, n1, n))
    if alternative == "greater":
        return float(hypergeom.cdf(b, total, n1, b + d))
    mode = (n + 1) * (n1 + 1) // (total + 2)
    pmf = lambda x: hypergeom.pmf(x, total, n1, n)  # noqa: E731
    pexact, pmode = pmf(a), pmf(mode)
    gamma = 1 + 1e-14
    if abs(pexact - pmode) / max(pexact, pmode) <= 1e-14:
        return 1.0
    if a < mode:
        plower = hypergeom.cdf(a, total, n1, n)
        if pmf(n) > pexact * gamma:
            return float(plower)
        guess = _binary_search(lambda x: -pmf(x), -pexact * gamma, mode, n)
        return float(min(1.0, plower + hypergeom.sf(guess, total, n1, n)))
    pupper = hypergeom.sf(a - 1, total, n1, n)
    if pmf(0) > pexact * gamma:
        return float(pupper)
    guess = _binary_search(pmf, pexact * gamma, 0, mode)
    return float(min(1.0, pupper + hypergeom.cdf(guess, total, n1, n)))
