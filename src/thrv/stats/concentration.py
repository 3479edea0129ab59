"""Concentration measures that stay fair when crimes are sparse.

Why: with fewer crimes than places (robbery across 500 LSOAs in a year), most places must
have none, so the ordinary Gini looks "concentrated" whatever the process. Bernasco &
Steenbeek (2017, *J. Quant. Criminol.* 33:451–467) compare the Lorenz curve with the most
equal spread the data allow — N places with one crime each — rather than perfect equality.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from thrv.stats.spatial import gini


def generalised_gini(values: npt.ArrayLike) -> float:
    """Bernasco & Steenbeek's (2017) generalised Gini for N crimes over n places.

    G' = max(1, n/N)·(G − 1) + 1 with G the ordinary Gini (:func:`thrv.stats.gini`, zeros
    included); equal to G when N ≥ n. The ``lorenzgini`` R package's
    ``gini(x, generalized=TRUE, unbiased=FALSE)``: c(5, 2, 1, 0 × 7) over 10 places gives
    G = 0.80 and G' = 0.75. Needs whole-number counts to be meaningful; NaN when N = 0.
    """
    g = gini(values)
    if g != g:  # NaN: no crime at all
        return g
    x = np.asarray(values, dtype=np.float64).ravel()
    n, total = x.size, float(x.sum())
    return float(max(1.0, n / total) * (g - 1.0) + 1.0)
