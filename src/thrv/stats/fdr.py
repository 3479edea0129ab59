"""False discovery control for the labels of a whole pack (Benjamini & Hochberg 1995).

A pack tests hundreds of comparisons at once (indicators × areas × three benchmarks); at
5% each, dozens are "significant" by chance alone.  The Benjamini–Hochberg step-up
procedure keeps the expected share of false discoveries among the labels called
significant at most α.  :func:`bh_qvalues` gives each p-value its q-value (the BH
adjusted p-value): a label is a discovery at false discovery rate α when q < α.

Written in numpy (a sort and a running minimum) rather than calling statsmodels'
``multipletests``, whose import alone costs over a second on every pack; the tests check
the two agree.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from thrv.stats.results import FloatArray

BH_METHOD = "Benjamini–Hochberg false discovery rate (q-value) over every label of the pack"


def bh_qvalues(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values, in the input's shape; NaN stays NaN.

    q_(i) = min_{j ≥ i} m·p_(j)/j over the m finite p-values sorted ascending, capped at 1:
    the same as ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]`` on
    the finite values.  Missing p-values (a label with insufficient data) are not tests
    and do not count in m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    flat = p.ravel()
    out = np.full(flat.shape, np.nan)
    ok = np.isfinite(flat)
    if (flat[ok] < 0).any() or (flat[ok] > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    values = flat[ok]
    m = values.size
    if m:
        order = np.argsort(values, kind="mergesort")
        ranked = values[order] * m / np.arange(1, m + 1)
        q = np.minimum.accumulate(ranked[::-1])[::-1]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(q, 1.0)
        out[ok] = adjusted
    return out.reshape(p.shape)
