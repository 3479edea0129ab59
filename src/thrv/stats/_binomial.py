"""Binomial building blocks for the exact conditional Poisson test, over arrays.

:func:`binomtest_pvalues` repeats, element by element, the search that
:func:`scipy.stats.binomtest` makes for its two-sided p-value, so a whole
performance pack gets p-values identical to the scalar test's without a
Python loop.  :func:`clopper_pearson` is the exact interval for k/n.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from thrv.stats.results import FloatArray

# scipy.stats.binomtest treats probabilities within this relative tolerance of
# the observed one as "as extreme"; the vectorised test must use the same.
_BINOM_RERR = 1 + 1e-7


def clopper_pearson(
    k: FloatArray, n: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Clopper & Pearson (1934) exact interval for a binomial proportion k/n.

    Uses the beta-quantile form; rows with ``n == 0`` are NaN.
    """
    alpha = 1.0 - confidence
    ok = n > 0
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    kk, nn = k[ok], n[ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = stats.beta.ppf(alpha / 2, kk, nn - kk + 1)
        hi = stats.beta.ppf(1 - alpha / 2, kk + 1, nn - kk)
    low[ok] = np.where(kk == 0, 0.0, lo)
    high[ok] = np.where(kk == nn, 1.0, hi)
    return low, high


def _binom_search(
    sign: FloatArray,
    target: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    n: FloatArray,
    p: FloatArray,
) -> FloatArray:
    """Vectorised copy of scipy's ``_binary_search_for_binom_tst``.

    For each row, finds ``i`` in ``[lo, hi]`` with ``a(i) <= target < a(i+1)``
    where ``a(x) = sign * binom.pmf(x, n, p)`` is ascending on that range.
    Every row steps through exactly the comparisons scipy makes, so the
    resulting p-values are identical, not merely close.
    """
    lo = lo.copy()
    hi = hi.copy()
    result = np.full(lo.shape, np.nan)
    done = np.zeros(lo.shape, dtype=bool)
    active = lo < hi
    while active.any():
        idx = np.flatnonzero(active)
        mid = lo[idx] + np.floor((hi[idx] - lo[idx]) / 2)
        midval = sign[idx] * stats.binom.pmf(mid, n[idx], p[idx])
        below = midval < target[idx]
        above = midval > target[idx]
        equal = ~below & ~above
        lo[idx[below]] = mid[below] + 1
        hi[idx[above]] = mid[above] - 1
        result[idx[equal]] = mid[equal]
        done[idx[equal]] = True
        active = (lo < hi) & ~done
    rest = np.flatnonzero(~done)
    if rest.size:
        at_lo = sign[rest] * stats.binom.pmf(lo[rest], n[rest], p[rest])
        result[rest] = np.where(at_lo <= target[rest], lo[rest], lo[rest] - 1)
    return result


def binomtest_pvalues(k: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    """Two-sided ``scipy.stats.binomtest(k, n, p).pvalue`` for arrays (n >= 1)."""
    pvalue = np.ones(k.shape)
    d = stats.binom.pmf(k, n, p)
    threshold = d * _BINOM_RERR
    pn = p * n
    low_side = k < pn
    high_side = k > pn

    idx = np.flatnonzero(low_side)
    if idx.size:
        kk, nn, pp, dd = k[idx], n[idx], p[idx], threshold[idx]
        ix = _binom_search(-np.ones(idx.size), -dd, np.ceil(pp * nn), nn.copy(), nn, pp)
        y = nn - ix + (dd == stats.binom.pmf(ix, nn, pp)).astype(float)
        pvalue[idx] = stats.binom.cdf(kk, nn, pp) + stats.binom.sf(nn - y, nn, pp)

    idx = np.flatnonzero(high_side)
    if idx.size:
        kk, nn, pp, dd = k[idx], n[idx], p[idx], threshold[idx]
        ix = _binom_search(np.ones(idx.size), dd, np.zeros(idx.size), np.floor(pp * nn), nn, pp)
        y = ix + 1
        pvalue[idx] = stats.binom.cdf(y - 1, nn, pp) + stats.binom.sf(kk - 1, nn, pp)

    return np.minimum(1.0, pvalue)
