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
