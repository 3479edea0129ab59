"""Where crime concentrates: hot spots, false discoveries and concentration measures.

* :func:`getis_ord_gi_star` — local Gi* z-scores: is a place *and its
  neighbours* higher than the study area as a whole?
* :func:`gi_star_permutation_test` — conditional-permutation p-values for Gi*
  (esda's method), for counts too skewed for the normal approximation.
* :func:`benjamini_hochberg` — q-values, because testing hundreds of places
  at 5% would otherwise find dozens of "hot spots" by chance.
* :func:`gini`, :func:`top_share`, :func:`lorenz_curve` — how unevenly crime
  is spread across places (the "law of crime concentration", Weisburd 2015).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy import stats

from thrv.stats.results import FloatArray

IntArray = npt.NDArray[np.int64]


def _binary_star_weights(weights: sp.spmatrix | sp.sparray, n: int) -> sp.csr_matrix:
    """Binary weights with ones on the diagonal: w_ij = 1 if j neighbours i or j = i."""
    matrix = sp.csr_matrix(weights, dtype=np.float64)
    if matrix.shape != (n, n):
        raise ValueError(f"weights must be {n} x {n} to match values, got {matrix.shape}")
    matrix.eliminate_zeros()
    star = sp.csr_matrix(abs(matrix) + sp.identity(n, format="csr"))
    star.data[:] = 1.0
    return star


def getis_ord_gi_star(
    values: npt.ArrayLike,
    weights: sp.spmatrix | sp.sparray,
    two_sided: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """Local Getis–Ord Gi* z-scores and normal p-values, with binary weights including self.

    Formula (Ord & Getis 1995, eq. 14, after Getis & Ord 1992), for place i
    with W_i = Σ_j w_ij places in its neighbourhood (itself included):

        z_i = (Σ_j w_ij x_j − x̄ W_i) / (S √((n W_i − W_i²)/(n − 1))),

    x̄ the mean and S² = Σ x_j²/n − x̄² the (population) variance of all n
    values.  Any non-zero weight counts as 1 (binary weights) and the
    diagonal is set to 1 (the "star": a place is in its own neighbourhood).

    This reproduces esda's ``G_Local(y, w, transform="B", star=True).Zs``
    (esda sets the missing diagonal to 1, then binarises; its moments use the
    same n, W_i and population variance).  Two differences: esda's
    ``p_norm`` is one-sided, ``norm.sf(|z|)``, whereas the default here is
    two-sided, ``2·norm.sf(|z|)``, the usual reading of "hot or cold spot at
    5%" (pass ``two_sided=False`` for esda's); and esda's z flips sign when
    the mean is negative, which this formula does not.

    Where the z-score is 0/0 — all values equal, or a place whose
    neighbourhood is the whole area — z = 0 and p = 1 (no evidence of a
    cluster).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise ValueError("values must be finite")
    n = x.size
    if n < 2:
        raise ValueError("Gi* needs at least two places")
    w = _binary_star_weights(weights, n)
    w_sum = np.asarray(w.sum(axis=1)).ravel()
    lag = w @ x
    mean = x.mean()
    spread = np.sqrt(max(float((x**2).mean() - mean**2), 0.0))
    numerator = lag - mean * w_sum
    denominator = spread * np.sqrt((n * w_sum - w_sum**2) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denominator > 0, numerator / denominator, 0.0)
    p = stats.norm.sf(np.abs(z)) * (2.0 if two_sided else 1.0)
    return z, p


@dataclass(frozen=True, eq=False)
class GiStarPermutation:
    """Conditional-permutation inference for local Gi* (see :func:`gi_star_permutation_test`).

    Per place: ``upper`` / ``lower``, the simulations whose statistic is at least / at
    most the observed one; ``p_high`` = (upper + 1)/(P + 1) and ``p_low`` = (lower +
    1)/(P + 1), the one-sided pseudo p-values for a hot and a cold spot; ``p_value`` =
    min(1, 2·min(p_high, p_low)), two-sided; ``high``: True where the place sits in the
    upper tail (upper < lower). Places without a neighbour get p = 1 and are not tested.
    """

    upper: IntArray
    lower: IntArray
    p_high: FloatArray
    p_low: FloatArray
    p_value: FloatArray
    high: npt.NDArray[np.bool_]
    tested: npt.NDArray[np.bool_]
    permutations: int


def _draws(n: int, size: int, permutations: int, seed: int | np.random.Generator) -> IntArray:
    """``permutations`` rows of ``size`` distinct indices from 0..n−2 (esda's layout)."""
    rng = np.random.default_rng(seed)
    if size == 0:
        return np.empty((permutations, 0), dtype=np.int64)
    if n - 1 < 4 * size:  # few places: draw each row as a permutation
        return np.array([rng.choice(n - 1, size=size, replace=False) for _ in range(permutations)], dtype=np.int64)
    # rejection: uniform rows, redrawn while a row repeats an index (rare when n ≫ size);
    # accepted rows are uniform over ordered samples without replacement
    out = rng.integers(0, n - 1, size=(permutations, size), dtype=np.int64)
    while True:
        ordered = np.sort(out, axis=1)
        repeat = (np.diff(ordered, axis=1) == 0).any(axis=1)
        if not repeat.any():
            return out
        out[repeat] = rng.integers(0, n - 1, size=(int(repeat.sum()), size), dtype=np.int64)


def gi_star_permutation_test(
    values: npt.ArrayLike,
    weights: sp.spmatrix | sp.sparray,
    permutations: int = 9999,
    seed: int | np.random.Generator = 0,
    permuted_ids: npt.ArrayLike | None = None,
) -> GiStarPermutation:
    """Conditional randomisation of local Gi* (binary weights with self), as esda does it.

    Why: Gi*'s normal p-values assume the neighbourhood sums are near normal; counts of
    crime per small cell are far too skewed (most cells hold 0–2), so the tails, and the
    hot spots, would be wrong. Conditional randomisation (Anselin 1995; esda's
    ``G_Local(..., star=True, permutations=P)``) holds place i's own value fixed and
    fills its c_i neighbour slots with values drawn at random, without replacement, from
    the other n − 1 places, P times; the observed statistic is ranked among the
    simulated ones. With binary weights Gi* is (x_i + Σ neighbours)/Σx, so comparing the
    neighbourhood sums is the same test.

    The draws follow esda's layout exactly: one P × max(c) matrix of distinct indices into
    the other n − 1 places, shared by every place, place i using its first c_i columns.
    Pass esda's matrix as ``permuted_ids`` (``esda.crand.vec_permutations``) to reproduce
    its simulations; by default the draws come from ``numpy.random.default_rng(seed)``.

    One deliberate difference: esda's ``p_sim`` is (min(upper, P − upper) + 1)/(P + 1),
    which counts ties as "larger" and then folds, so a place tied with most simulations
    (an empty cell among empty cells) gets the smallest possible p-value. Here each tail
    counts its own ties (``p_high``, ``p_low``) and the two-sided ``p_value`` doubles the
    smaller; without ties at the observed value the one-sided p equals esda's ``p_sim``.
    Cost: O(n·P) comparisons plus O(P·max(c)) updates, so 10⁴ permutations over a few
    thousand hexagons take a fraction of a second.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise ValueError("values must be finite")
    n = x.size
    if n < 2:
        raise ValueError("Gi* needs at least two places")
    if permutations < 1:
        raise ValueError(f"permutations must be at least 1, got {permutations}")
    w = _binary_star_weights(weights, n)
    lag = w @ x
    cards = np.asarray(w.sum(axis=1), dtype=np.int64).ravel() - 1
    k_max = int(cards.max())
    if permuted_ids is None:
        ids = _draws(n, k_max, permutations, seed)
    else:
        ids = np.asarray(permuted_ids, dtype=np.int64)
        if ids.ndim != 2 or ids.shape[1] < k_max or ids.min(initial=0) < 0 or ids.max(initial=0) > n - 2:
            raise ValueError(f"permuted_ids must be P × at least {k_max} indices in 0..{n - 2}")
        ids = ids[:, :k_max]
        permutations = ids.shape[0]
    # Place i fills its slots from "the other n − 1 places": index id < i is place id,
    # id ≥ i is place id + 1. Going through the places in order, only the draws equal to
    # i − 1 change (from place i to place i − 1), so the running neighbourhood sums of
    # every permutation are kept up to date with P·max(c) updates in all, not per place.
    upper = np.zeros(n, dtype=np.int64)
    lower = np.zeros(n, dtype=np.int64)
    if k_max:
        sums = np.cumsum(x[ids + 1], axis=1).T.copy()  # sums[c − 1, p]: first c slots, place 0
        flat = ids.ravel()
        order = np.argsort(flat, kind="stable")
        bounds = np.searchsorted(flat[order], np.arange(n))
        rows_all, cols_all = np.divmod(order, k_max)
    for i in range(n if k_max else 0):
        if i > 0 and x[i - 1] != x[i]:
            hit = slice(bounds[i - 1], bounds[i])
            rows, cols = rows_all[hit], cols_all[hit]
            delta = x[i - 1] - x[i]
            for slot in range(k_max):
                affected = cols <= slot
                sums[slot, rows[affected]] += delta
        c = int(cards[i])
        if c == 0:
            continue
        sims = sums[c - 1] + x[i]
        upper[i] = int(np.count_nonzero(sims >= lag[i]))
        lower[i] = int(np.count_nonzero(sims <= lag[i]))
    tested = cards > 0
    p_high = np.where(tested, (upper + 1.0) / (permutations + 1.0), 1.0)
    p_low = np.where(tested, (lower + 1.0) / (permutations + 1.0), 1.0)
    p_value = np.minimum(1.0, 2.0 * np.minimum(p_high, p_low))
    return GiStarPermutation(upper, lower, p_high, p_low, p_value, tested & (upper < lower), tested, permutations)


def benjamini_hochberg(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini & Hochberg (1995) q-values (FDR-adjusted p-values).

    Wraps ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``:
    q_(i) = min_{j ≥ i} p_(j)·m/j over the sorted p-values.  Flagging places
    with q < 0.05 keeps the expected share of false hot spots among those
    flagged at 5% or less.  NaN p-values are left out of m and stay NaN.
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    if present.any():
        if ((p[present] < 0) | (p[present] > 1)).any():
            raise ValueError("p-values must lie in [0, 1]")
        from statsmodels.stats.multitest import multipletests  # slow to import: only when used

        q[present] = multipletests(p[present], method="fdr_bh")[1]
    return q


def _concentration_values(values: npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("values must be finite and non-negative (counts per place)")
    return x


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient of a non-negative distribution across places, zeros included.

    G = Σ_i (2i − n − 1) x_(i) / (n Σ x), x sorted ascending, i = 1..n —
    equivalently the mean absolute difference over twice the mean.  0 when
    every place has the same count, (n − 1)/n when one place has it all.
    Places with no crime must be included: leaving them out understates
    concentration (Bernasco & Steenbeek 2017).  NaN if the total is zero or
    there are no places.
    """
    x = np.sort(_concentration_values(values))
    n = x.size
    total = x.sum()
    if n == 0 or total == 0:
        return float("nan")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum((2 * ranks - n - 1) * x) / (n * total))


def lorenz_curve(values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Points of the Lorenz curve: cumulative share of places against share of the total.

    Places are sorted from least to most; both arrays start at 0 and end at 1
    (n + 1 points).  Twice the area between the curve and the diagonal is
    the Gini coefficient.  Raises if the total is zero.
    """
    x = np.sort(_concentration_values(values))
    total = x.sum()
    if x.size == 0 or total == 0:
        raise ValueError("a Lorenz curve needs a positive total")
    places = np.arange(x.size + 1, dtype=np.float64) / x.size
    share = np.concatenate(([0.0], np.cumsum(x) / total))
    share[-1] = 1.0
    return places, share


def top_share(
    values: npt.ArrayLike, fractions: Sequence[float] = (0.01, 0.05, 0.10)
) -> dict[float, float]:
    """Share of the total in the top ``fraction`` of places, for each fraction.

    With n places the top fraction f covers f·n places, rarely a whole
    number: the share counts the floor(f·n) busiest places in full and the
    next place in proportion to the remainder — linear interpolation along
    the Lorenz curve, so the answer changes smoothly with f and the number
    of places.  Example: 5% of 130 places is 6.5 places = the busiest six
    plus half of the seventh.  Returns NaN for each fraction if the total is
    zero.
    """
    x = np.sort(_concentration_values(values))[::-1]
    total = x.sum()
    n = x.size
    result: dict[float, float] = {}
    cumulative = np.concatenate(([0.0], np.cumsum(x)))
    for fraction in fractions:
        f = float(fraction)
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"fractions must lie in [0, 1], got {fraction!r}")
        if n == 0 or total == 0:
            result[f] = float("nan")
            continue
        places = f * n
        whole = min(int(np.floor(places)), n)
        part = places - whole
        share = cumulative[whole] + (part * x[whole] if whole < n else 0.0)
        result[f] = float(min(share / total, 1.0))
    return result
