"""Where two agencies' demand coincides: bivariate spatial association between two measures.

* :func:`knn_weights` — each place's k nearest neighbours (by centre), row-standardised:
  the usual choice when place boundaries are not to hand (LSOA centres ship with thrv).
* :func:`lees_l` — Lee's L (Lee 2001, eq. 18), the bivariate spatial Pearson: how far the
  spatially smoothed x and y rise and fall together; permutation inference by shuffling
  places (x and y together, which keeps their plain correlation and breaks only where they
  are), as esda's ``Spatial_Pearson``.
* :func:`local_moran_bv` — the bivariate local Moran I_i = (n−1)/n · z_x,i · Σ_j w_ij z_y,j
  (Anselin, Syabri & Smirnov 2002): is x high *here* while y is high in the neighbours?
  Conditional permutation (x_i fixed, neighbours' y drawn from the other places), folded
  pseudo p-values as esda's ``Moran_Local_BV``; quadrants 1 high-high, 2 low-high,
  3 low-low, 4 high-low.

Every random step takes a seed; nothing uses global random state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import cKDTree

EARTH_KM = 6371.0088


def knn_weights(lat: npt.ArrayLike, lon: npt.ArrayLike, k: int = 6) -> sp.csr_matrix:
    """Row-standardised k-nearest-neighbour weights on an equirectangular projection (km)."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    n = len(la)
    if n < 2:
        raise ValueError("spatial weights need at least two places")
    k = min(k, n - 1)
    xy = np.column_stack((EARTH_KM * lo * np.cos(np.mean(la)), EARTH_KM * la))
    _, idx = cKDTree(xy).query(xy, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    cols = idx[:, 1:].ravel()
    return sp.csr_matrix((np.full(n * k, 1.0 / k), (rows, cols)), shape=(n, n))


def _standardise(v: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    sd = a.std()
    if not np.isfinite(sd) or sd == 0:
        raise ValueError("a measure with no variation across places has no spatial association")
    return (a - a.mean()) / sd


@dataclass(frozen=True)
class LeesL:
    L: float
    p_value: float
    permutations: int
    method: str = "Lee's L (Lee 2001) with place permutations"


def _lee_statistic(zx: np.ndarray, zy: np.ndarray, ctc: sp.csr_matrix, denominator: float) -> float:
    return float(zx @ (ctc @ zy)) / denominator


def lees_l(x: npt.ArrayLike, y: npt.ArrayLike, weights: sp.csr_matrix, permutations: int = 999,
           seed: int = 1) -> LeesL:
    zx, zy = _standardise(x), _standardise(y)
    w = sp.csr_matrix(weights)
    ctc = sp.csr_matrix(w.T @ w)
    ones = np.ones(len(zx))
    denominator = float(ones @ (ctc @ ones))
    observed = _lee_statistic(zx, zy, ctc, denominator)
    if permutations < 1:
        return LeesL(observed, float("nan"), 0)
    rng = np.random.default_rng(seed)
    sims = np.empty(permutations)
    for b in range(permutations):
        order = rng.permutation(len(zx))
        sims[b] = _lee_statistic(zx[order], zy[order], ctc, denominator)
    larger = int((sims >= observed).sum())
    extreme = min(permutations - larger, larger)
    return LeesL(observed, (extreme + 1.0) / (permutations + 1.0), permutations)


@dataclass(frozen=True)
class LocalBV:
    local_i: np.ndarray
    p_value: np.ndarray
    quadrant: np.ndarray
    permutations: int
    method: str = "bivariate local Moran (Anselin, Syabri & Smirnov 2002), conditional permutation"


def local_moran_bv(x: npt.ArrayLike, y: npt.ArrayLike, weights: sp.csr_matrix, permutations: int = 999,
                   seed: int = 1) -> LocalBV:
    zx, zy = _standardise(x), _standardise(y)
    n = len(zx)
    w = sp.csr_matrix(weights)
    lag = w @ zy
    observed = (n - 1) * zx * lag / (zx @ zx)
    quadrant = np.where(zx > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
    if permutations < 1:
        return LocalBV(observed, np.full(n, np.nan), quadrant, 0)
    rng = np.random.default_rng(seed)
    p = np.empty(n)
    scale = (n - 1) / (zx @ zx)
    cardinality = np.diff(w.indptr)
    k_max = int(cardinality.max())
    # as esda: one set of random draws of k_max distinct places among n-1, shared by every
    # place, each place skipping itself (conditional on its own value)
    draws_all = np.argsort(rng.random((permutations, n - 1)), axis=1)[:, :k_max]
    for i in range(n):
        start, end = w.indptr[i], w.indptr[i + 1]
        k = end - start
        if k == 0:
            p[i] = np.nan
            continue
        draws = draws_all[:, :k]
        draws = draws + (draws >= i)
        sims = scale * zx[i] * (zy[draws] @ w.data[start:end])
        larger = int((sims >= observed[i]).sum())
        if permutations - larger < larger:
            larger = permutations - larger
        p[i] = (larger + 1.0) / (permutations + 1.0)
    return LocalBV(observed, p, quadrant, permutations)
