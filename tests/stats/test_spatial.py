"""Tests for thrv.stats.spatial against esda, statsmodels and direct formulae."""

from __future__ import annotations

import math

import esda
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thrv.stats.spatial import (
    benjamini_hochberg,
    getis_ord_gi_star,
    gi_star_permutation_test,
    gini,
    lorenz_curve,
    top_share,
)

IRREGULAR = {
    0: [1, 2],
    1: [0, 2, 3],
    2: [0, 1, 3, 4],
    3: [1, 2, 5],
    4: [2, 5, 6],
    5: [3, 4, 6, 7],
    6: [4, 5, 7],
    7: [5, 6, 8],
    8: [7, 9],
    9: [8],
    10: [11],
    11: [10],
}


def crime_counts(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = rng.negative_binomial(2, 0.3, n).astype(float)
    counts[: n // 10] += 15  # a cluster in the first rows
    return counts


@pytest.mark.parametrize("rook", [True, False])
def test_gi_star_matches_esda_on_a_lattice(rook: bool) -> None:
    y = crime_counts(400, seed=1)
    w = libpysal.weights.lat2W(20, 20, rook=rook)
    sparse = w.sparse.copy()
    reference = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    z, p_one = getis_ord_gi_star(y, sparse, two_sided=False)
    np.testing.assert_allclose(z, reference.Zs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(p_one, reference.p_norm, rtol=0, atol=1e-10)
    _, p_two = getis_ord_gi_star(y, sparse)
    np.testing.assert_allclose(p_two, 2 * reference.p_norm, rtol=0, atol=1e-10)


# esda rebuilds the weights internally and libpysal warns again about the two components.
@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected:UserWarning")
def test_gi_star_matches_esda_on_irregular_neighbours() -> None:
    y = crime_counts(12, seed=2)
    w = libpysal.weights.W(IRREGULAR, silence_warnings=True)  # two components on purpose
    sparse = w.sparse.copy()
    reference = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    z, p = getis_ord_gi_star(y, sparse, two_sided=False)
    np.testing.assert_allclose(z, reference.Zs, atol=1e-10)
    np.testing.assert_allclose(p, reference.p_norm, atol=1e-10)


def test_gi_star_binarises_weights_and_accepts_a_diagonal() -> None:
    y = crime_counts(400, seed=3)
    w = libpysal.weights.lat2W(20, 20)
    base = w.sparse.tocsr()
    weighted = base.multiply(np.random.default_rng(4).uniform(0.1, 3, base.shape)).tocsr()
    with_self = (base + sp.identity(400, format="csr")).tocsr()
    expected, _ = getis_ord_gi_star(y, base)
    np.testing.assert_allclose(getis_ord_gi_star(y, weighted)[0], expected, atol=1e-12)
    np.testing.assert_allclose(getis_ord_gi_star(y, with_self)[0], expected, atol=1e-12)


def test_gi_star_by_hand() -> None:
    # Three places in a row: 0-1-2.  For place 0 the neighbourhood is {0, 1}: W = 2.
    y = np.array([10.0, 6.0, 2.0])
    w = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    z, p = getis_ord_gi_star(y, w)
    n, mean = 3, 6.0
    s = math.sqrt((100 + 36 + 4) / 3 - 36)
    z0 = (16 - mean * 2) / (s * math.sqrt((n * 2 - 4) / (n - 1)))
    assert z[0] == pytest.approx(z0)
    assert z[1] == 0.0  # its neighbourhood is every place: 0/0 → 0
    assert p[1] == 1.0
    assert p[0] == pytest.approx(2 * stats.norm.sf(abs(z0)))


def test_gi_star_constant_values_and_errors() -> None:
    w = libpysal.weights.lat2W(5, 5).sparse
    z, p = getis_ord_gi_star(np.full(25, 3.0), w)
    assert (z == 0).all()
    assert (p == 1).all()
    with pytest.raises(ValueError, match="24 x 24"):
        getis_ord_gi_star(np.ones(24), w)
    with pytest.raises(ValueError, match="finite"):
        getis_ord_gi_star(np.r_[np.nan, np.ones(24)], w)


def test_gi_star_finds_the_planted_cluster() -> None:
    y = np.ones(400)
    grid = y.reshape(20, 20)
    grid[2:5, 2:5] = 30
    z, p = getis_ord_gi_star(y, libpysal.weights.lat2W(20, 20, rook=False).sparse)
    q = benjamini_hochberg(p)
    assert z.argmax() == 3 * 20 + 3  # the centre of the block
    hot = np.flatnonzero(q < 0.05)
    assert set(hot) <= {r * 20 + c for r in range(1, 6) for c in range(1, 6)}


# --- Gi* conditional permutations ---------------------------------------------------------


def permutation_by_hand(y: np.ndarray, neighbours: dict[int, list[int]], ids: np.ndarray) -> tuple[list[int], list[int]]:
    """esda's conditional randomisation written out place by place: place i keeps its own
    value and takes the first c_i draws of each row from the other places (i removed)."""
    n = len(y)
    upper, lower = [], []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        c = len(neighbours[i])
        observed = y[i] + sum(y[j] for j in neighbours[i])
        sims = [y[i] + sum(y[others[k]] for k in row[:c]) for row in ids]
        upper.append(sum(s >= observed for s in sims))
        lower.append(sum(s <= observed for s in sims))
    return upper, lower


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 4), min_size=12, max_size=12),
    seed=st.integers(0, 1000),
)
def test_permutations_equal_the_place_by_place_computation(counts: list[int], seed: int) -> None:
    """Ties, islands (place 9 has one neighbour; the pair 10-11 is a component) included."""
    y = np.array(counts, dtype=float)
    w = libpysal.weights.W(IRREGULAR, silence_warnings=True)
    rng = np.random.default_rng(seed)
    ids = np.array([rng.choice(11, size=4, replace=False) for _ in range(60)])
    res = gi_star_permutation_test(y, w.sparse, permuted_ids=ids)
    upper, lower = permutation_by_hand(y, IRREGULAR, ids)
    assert res.upper.tolist() == upper and res.lower.tolist() == lower
    assert np.allclose(res.p_high, (np.array(upper) + 1) / 61) and np.allclose(res.p_low, (np.array(lower) + 1) / 61)
    assert np.allclose(res.p_value, np.minimum(1, 2 * np.minimum(res.p_high, res.p_low)))


def test_an_island_is_not_tested() -> None:
    y = np.array([5.0, 1, 2, 0, 9])
    w = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]))
    res = gi_star_permutation_test(y, w, permutations=50, seed=1)
    assert res.tested.tolist() == [True, True, True, True, False]
    assert res.p_value[-1] == 1.0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_permutations_reproduce_esda_on_a_lattice() -> None:
    from esda.crand import vec_permutations

    y = crime_counts(400, seed=5)
    w = libpysal.weights.lat2W(20, 20, rook=False)
    reference = esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=9, n_jobs=1)
    res = gi_star_permutation_test(y, w.sparse, permuted_ids=vec_permutations(8, 400, 999, 9))
    folded = (np.minimum(res.upper, 999 - res.upper) + 1) / 1000
    np.testing.assert_allclose(folded, reference.p_sim, rtol=0, atol=1e-6)
    # the same test with thrv's own draws agrees in distribution: similar p-values
    own = gi_star_permutation_test(y, w.sparse, permutations=999, seed=9)
    assert np.corrcoef(own.p_high, res.p_high)[0, 1] > 0.99


def test_permutation_finds_a_planted_hot_and_cold_spot() -> None:
    rng = np.random.default_rng(4)
    grid = rng.poisson(6, (30, 30)).astype(float)
    grid[3:7, 3:7] = 25
    grid[20:26, 20:26] = 0
    w = libpysal.weights.lat2W(30, 30, rook=False).sparse
    res = gi_star_permutation_test(grid.ravel(), w, permutations=9999, seed=0)
    q = benjamini_hochberg(res.p_value)
    hot = {int(i) for i in np.flatnonzero((q < 0.05) & res.high)}
    cold = {int(i) for i in np.flatnonzero((q < 0.05) & ~res.high)}
    assert 4 * 30 + 4 in hot and 22 * 30 + 22 in cold
    assert hot <= {r * 30 + c for r in range(2, 8) for c in range(2, 8)}
    assert cold <= {r * 30 + c for r in range(19, 27) for c in range(19, 27)}
    with pytest.raises(ValueError, match="permutations"):
        gi_star_permutation_test(grid.ravel(), w, permutations=0)
    with pytest.raises(ValueError, match="permuted_ids"):
        gi_star_permutation_test(grid.ravel(), w, permuted_ids=np.zeros((5, 2), dtype=int))


# --- Benjamini-Hochberg ----------------------------------------------------------------


def bh_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50))
def test_bh_matches_hand_computation(p: list[float]) -> None:
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, bh_by_hand(p), rtol=1e-12, atol=1e-15)
    assert (q >= np.array(p) - 1e-15).all()
    assert (q <= 1).all()


def test_bh_leaves_nan_out() -> None:
    q = benjamini_hochberg([0.01, np.nan, 0.04, 0.03])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2, 3]], bh_by_hand([0.01, 0.04, 0.03]))
    assert np.isnan(benjamini_hochberg([np.nan])).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.5, 1.5])


# --- concentration ----------------------------------------------------------------------


def gini_by_mean_difference(x: np.ndarray) -> float:
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=60))
def test_gini_matches_mean_difference_formula(values: list[int]) -> None:
    x = np.array(values, dtype=float)
    g = gini(x)
    if x.sum() == 0:
        assert math.isnan(g)
        return
    assert g == pytest.approx(gini_by_mean_difference(x), abs=1e-12)
    assert 0 <= g <= (len(x) - 1) / len(x) + 1e-12
    # Twice the area between the Lorenz curve and the diagonal.
    places, share = lorenz_curve(x)
    area = np.sum((places[1:] - places[:-1]) * (share[1:] + share[:-1]) / 2)
    assert g == pytest.approx(1 - 2 * area, abs=1e-12)


def test_gini_extremes() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 12]) == pytest.approx(3 / 4)
    assert gini([0, 0, 0, 12, 0, 0, 0, 0]) > gini([0, 0, 0, 12])  # zeros count
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_lorenz_curve_points() -> None:
    places, share = lorenz_curve([3, 0, 1])
    assert places.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert share.tolist() == pytest.approx([0, 0, 0.25, 1])
    with pytest.raises(ValueError, match="positive total"):
        lorenz_curve([0, 0])


def test_top_share_by_hand() -> None:
    # 130 places: 5% is 6.5 places = the busiest six plus half of the seventh.
    values = np.arange(1, 131, dtype=float)
    total = values.sum()
    shares = top_share(values, fractions=(0.05, 0.10, 1.0))
    top = np.sort(values)[::-1]
    assert shares[0.05] == pytest.approx((top[:6].sum() + 0.5 * top[6]) / total)
    assert shares[0.10] == pytest.approx(top[:13].sum() / total)
    assert shares[1.0] == pytest.approx(1.0)
    default = top_share(values)
    assert set(default) == {0.01, 0.05, 0.10}
    assert default[0.01] == pytest.approx((130 + 0.3 * 129) / total)


def test_top_share_edges() -> None:
    assert math.isnan(top_share([0, 0, 0])[0.05])
    assert top_share([7.0], fractions=(0.5,))[0.5] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="fractions"):
        top_share([1, 2], fractions=(1.5,))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=50), st.floats(0, 1), st.floats(0, 1))
def test_top_share_is_monotone_and_on_the_lorenz_curve(
    values: list[int], f1: float, f2: float
) -> None:
    if sum(values) == 0:
        return
    low, high = sorted((f1, f2))
    shares = top_share(values, fractions=(low, high))
    assert shares[low] <= shares[high] + 1e-12
    assert shares[low] >= 0
    places, share = lorenz_curve(values)
    # Top f of places = 1 − L(1 − f) on the interpolated Lorenz curve.
    assert shares[high] == pytest.approx(1 - np.interp(1 - high, places, share), abs=1e-9)
