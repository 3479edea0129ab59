"""Has a category's share of a weighted total changed between two periods?

Why: a crime type can grow as a share of *harm* while its count barely moves, because the
other types fell; an assessment flags a "growing share of harm" only when the change is
larger than chance. Harm = Σ weight × count with fixed weights per category, so the share
of category i is s_i = w_i n_i / Σ_j w_j n_j.

Method: counts are independent Poisson; the variance of s_i comes from the delta method,

    Var(s_i) ≈ Σ_j (∂s_i/∂n_j)² n_j
             = [w_i² n_i (H − H_i)² + H_i² (Q − w_i² n_i)] / H⁴,

with H = Σ w_j n_j, H_i = w_i n_i and Q = Σ w_j² n_j. The change s_i(a) − s_i(b) is tested
by z = Δ / √(Var_a + Var_b) (a Wald test; two-sided normal p-value) with a normal interval.
With equal weights s_i is a plain proportion and Var(s_i) = p(1 − p)/N, so the test is the
unpooled two-proportion Wald z-test
(``statsmodels.stats.proportion.test_proportions_2indep(method="wald")``).
Crime counts vary more than Poisson, so treat p-values near the threshold with caution.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from thrv.stats.results import FloatArray, TestResultArray, check_confidence

METHOD = (
    "Change in share of a weighted total (e.g. harm): Poisson counts, fixed weights, "
    "delta-method variance, Wald z-test"
)


def weighted_shares(counts: npt.ArrayLike, weights: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Each category's share of Σ w·n and its delta-method variance (NaN if the total is 0)."""
    n = np.asarray(counts, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    if n.shape != w.shape:
        raise ValueError("counts and weights must have the same length")
    if (n < 0).any() or (w < 0).any() or not (np.isfinite(n).all() and np.isfinite(w).all()):
        raise ValueError("counts and weights must be finite and non-negative")
    part = w * n
    total = part.sum()
    if total <= 0:
        nan = np.full(n.shape, np.nan)
        return nan, nan
    q = (w**2 * n).sum()
    share = part / total
    variance = (w**2 * n * (total - part) ** 2 + part**2 * (q - w**2 * n)) / total**4
    return share, variance


def weighted_share_change_many(
    counts: npt.ArrayLike,
    ref_counts: npt.ArrayLike,
    weights: npt.ArrayLike,
    confidence: float = 0.95,
) -> TestResultArray:
    """For every category: share of the weighted total in ``counts`` minus that in
    ``ref_counts`` (a proportion: 0.02 = 2 percentage points), with z, p and interval.

    A category with zero variance in both periods (weight 0, or no counts anywhere) gets
    p = NaN.
    """
    confidence = check_confidence(confidence)
    s_a, v_a = weighted_shares(counts, weights)
    s_b, v_b = weighted_shares(ref_counts, weights)
    diff = s_a - s_b
    se = np.sqrt(v_a + v_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.nan)
    p = 2 * stats.norm.sf(np.abs(z))
    half = float(stats.norm.isf((1 - confidence) / 2)) * se
    return TestResultArray(
        method=METHOD,
        p_value=p,
        statistic=z,
        estimate=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        confidence=confidence,
        null_value=0.0,
    )
