"""Knox test: against a brute-force computation, every permutation enumerated, and the
Near Repeat Calculator's published tables (tests/data/knox/README.md)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from thrv.stats.knox import COLUMNS, band_index, band_labels, knox_test, time_permutations

KNOX_DATA = Path(__file__).resolve().parents[1] / "data" / "knox"


def brute_table(x: np.ndarray, y: np.ndarray, t: np.ndarray, d_edges: list[float], t_edges: list[float],
                closed: str = "right", metric: str = "euclidean") -> np.ndarray:
    """Every pair's distance and time apart from scipy's pdist, binned with np.digitize."""
    d = pdist(np.column_stack([x, y]), "cityblock" if metric == "manhattan" else "euclidean")
    dt_ = pdist(np.asarray(t, dtype=float)[:, None], "cityblock")
    right = closed == "right"
    si = np.digitize(d, d_edges, right=right)
    ti = np.digitize(dt_, t_edges, right=right)
    out = np.zeros((len(d_edges) + 1, len(t_edges) + 1), dtype=int)
    np.add.at(out, (si, ti), 1)
    return out


def events(seed: int, n: int, grid: int, step: float, times: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events on a coarse grid (so many share a place, as police.uk map points do)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, grid, n) * step, rng.integers(0, grid, n) * step, rng.integers(0, times, n).astype(float))


@pytest.mark.parametrize(("closed", "metric", "d_edges", "t_edges", "times"), [
    ("right", "euclidean", [0, 100, 200, 300], [0, 1, 3], 24),       # police.uk-like: months, same-place band
    ("left", "manhattan", [1, 100, 250], [1, 2, 5], 24),
    ("right", "manhattan", [50, 150], [7, 14, 21], 365),             # days
])
def test_observed_and_p_values_match_brute_force(closed: str, metric: str, d_edges: list[float],
                                                  t_edges: list[float], times: int) -> None:
    x, y, t = events(3, 150, 25, 30.0, times)
    r = knox_test(x, y, t, d_edges, t_edges, closed=closed, metric=metric, permutations=40, seed=7)  # type: ignore[arg-type]
    observed = brute_table(x, y, t, d_edges, t_edges, closed, metric)
    assert (r.observed == observed).all()
    assert r.pairs == 150 * 149 // 2 == observed.sum()
    # replay the very permutations the result used, counted by brute force
    exceed = np.zeros_like(observed)
    total = np.zeros(observed.shape)
    for block in time_permutations(len(t), 40, 7):
        for perm in block:
            sim = brute_table(x, y, t[perm], d_edges, t_edges, closed, metric)
            exceed += sim >= observed
            total += sim
    assert np.allclose(r.p_value, (1 + exceed) / 41)
    assert np.allclose(r.simulated_mean, total / 40)


def test_expected_is_the_mean_over_every_permutation() -> None:
    """E = S·T/P, checked by enumerating all 6! permutations of the times."""
    x = np.array([0.0, 50, 120, 130, 400, 410])
    y = np.array([0.0, 0, 30, 30, 0, 0])
    t = np.array([0.0, 0, 1, 3, 4, 9])
    d_edges, t_edges = [0, 100, 300], [0, 1, 3]
    total = np.zeros((4, 4))
    perms = list(itertools.permutations(range(6)))
    for perm in perms:
        total += brute_table(x, y, t[list(perm)], d_edges, t_edges)
    r = knox_test(x, y, t, d_edges, t_edges, permutations=0)
    assert np.allclose(r.expected, total / len(perms))
    assert np.isnan(r.p_value).all()


def test_simulated_mean_converges_on_expected() -> None:
    x, y, t = events(11, 300, 30, 25.0, 18)
    r = knox_test(x, y, t, [0, 100, 200], [0, 2], permutations=400, seed=1)
    ok = r.expected > 5
    se = np.sqrt(r.expected[ok] / 400)  # counts are close to Poisson under the null
    assert (np.abs(r.simulated_mean[ok] - r.expected[ok]) < 5 * se).all()


def test_table_columns_and_margins() -> None:
    x, y, t = events(5, 80, 15, 40.0, 12)
    r = knox_test(x, y, t, [0, 200, 400], [0, 1, 2], permutations=19)
    table = r.table()
    assert list(table.columns) == COLUMNS
    assert len(table) == 4 * 4
    # margins do not depend on times (rows) or places (columns): they equal the expected's margins
    assert np.allclose(r.observed.sum(axis=1), r.expected.sum(axis=1))
    assert np.allclose(r.observed.sum(axis=0), r.expected.sum(axis=0))
    assert ((table["p_value"] > 0) & (table["p_value"] <= 1)).all()
    assert table["p_value"].min() >= 1 / 20


def test_clustered_events_are_flagged_and_random_ones_are_not() -> None:
    rng = np.random.default_rng(2)
    # 60 "first" events and, for each, a follow-up within 50 m the same month
    x0, y0, t0 = rng.uniform(0, 5000, 60), rng.uniform(0, 5000, 60), rng.integers(0, 24, 60).astype(float)
    x = np.r_[x0, x0 + rng.uniform(-30, 30, 60)]
    y = np.r_[y0, y0 + rng.uniform(-30, 30, 60)]
    t = np.r_[t0, t0]
    r = knox_test(x, y, t, [0, 100, 500], [0, 2], permutations=199, seed=0)
    near_same_month = r.p_value[1, 0]
    assert near_same_month == pytest.approx(1 / 200)
    assert r.knox_ratio[1, 0] > 5
    # shuffle the times: the excess disappears
    r2 = knox_test(x, y, rng.permutation(t), [0, 100, 500], [0, 2], permutations=199, seed=0)
    assert r2.p_value[1, 0] > 0.01


# -- the Near Repeat Calculator's published tables ----------------------------------------

def _nrc(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = pd.read_csv(KNOX_DATA / f"{name}.csv", header=None, names=["x", "y", "date"])
    days = (pd.to_datetime(frame["date"]) - pd.Timestamp("2016-01-01")).dt.days.to_numpy(float)
    # the calculator computes distances in single precision
    xy = frame[["x", "y"]].to_numpy().astype(np.float32).astype(float)
    return xy[:, 0], xy[:, 1], days


NAN = np.nan
NRC = {
    # name: (distance edges, time edges, iterations, observed, observed over mean expected)
    "chicago_arson": ([0.001, 200, 400, 600], [1, 2, 3], 99,
                      [[0, 2, 0, 8], [9, 1, 1, 45], [4, 0, 0, 140], [6, 0, 0, 234], [393, 710, 770, 133658]],
                      [[NAN, 28.286, NAN, .814], [74.25, 3.667, 3.96, .813], [11.647, NAN, NAN, .986],
                       [7.714, NAN, NAN, .989], [.957, .999, 1.002, 1]]),
    "chicago_be_month1": ([0.001, 100, 200, 300], [7, 14, 21], 19,
                          [[28, 5, 5, 2], [44, 13, 8, 4], [97, 56, 19, 16], [77, 67, 45, 20],
                           [182194, 146149, 95237, 45879]],
                          [[1.652, .43, .629, .576], [1.685, .6, .569, .559], [1.318, .945, .513, .884],
                           [.938, 1.028, 1.071, 1.011], [1, 1, 1, 1]]),
}


@pytest.mark.parametrize("name", sorted(NRC))
def test_reproduces_the_near_repeat_calculator(name: str) -> None:
    """The calculator's bands are [a, b) with 'same location' = 0 m (Steenbeek's NRC vignette):
    left-closed bands with a first edge of 1 mm reproduce its observed table exactly; its
    Knox ratios divide by the mean of its few simulations, so the mean they imply must lie
    within simulation error of the exact expectation."""
    d_edges, t_edges, iterations, observed, ratio = NRC[name]
    x, y, t = _nrc(name)
    r = knox_test(x, y, t, d_edges, t_edges, closed="left", metric="manhattan", permutations=0)
    assert r.events == len(x)
    assert r.observed.tolist() == observed
    implied = r.observed / np.asarray(ratio)
    ok = np.isfinite(implied) & (r.expected > 0)
    z = (implied[ok] - r.expected[ok]) / np.sqrt(r.expected[ok] / iterations)
    assert np.abs(z).max() < 3.5


def test_labels() -> None:
    assert band_labels([0, 200, 400, 1000], "m", zero="same place (0 m)") == [
        "same place (0 m)", "1–200 m", "201–400 m", "401–1,000 m", "more than 1,000 m"]
    assert band_labels([0, 1, 2, 3, 6], "months", zero="same month") == [
        "same month", "1 month", "2 months", "3 months", "4–6 months", "more than 6 months"]
    assert band_labels([7, 14, 21], "days") == ["0–7 days", "8–14 days", "15–21 days", "more than 21 days"]
    assert band_labels([1, 100], "m", closed="left") == ["[0, 1) m", "[1, 100) m", "100 m or more"]
    assert band_labels([0.5, 2.5], "km") == ["0–0.5 km", "over 0.5 to 2.5 km", "more than 2.5 km"]


def test_band_index_edges() -> None:
    e = np.array([0.0, 200.0])
    assert band_index([0, 0.1, 200, 200.1], e, "right").tolist() == [0, 1, 1, 2]
    assert band_index([0, 0.1, 200, 200.1], np.array([1.0, 200.0]), "left").tolist() == [0, 0, 2, 2]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"distance_edges": [200, 100]}, "increase strictly"),
    ({"distance_edges": [-1, 100]}, "not negative"),
    ({"time_edges": []}, "at least one edge"),
    ({"closed": "left", "distance_edges": [0, 100]}, "first edge must be above 0"),
    ({"metric": "chebyshev"}, "metric"),
    ({"permutations": -1}, "permutations"),
])
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"distance_edges": [0, 100], "time_edges": [0, 1], **kwargs}
    with pytest.raises(ValueError, match=message):
        knox_test([0, 1, 2], [0, 1, 2], [0, 1, 2], **args)  # type: ignore[arg-type]


def test_too_few_or_bad_events() -> None:
    with pytest.raises(ValueError, match="at least two"):
        knox_test([0], [0], [0], [0, 100], [0])
    with pytest.raises(ValueError, match="finite"):
        knox_test([0, np.nan], [0, 1], [0, 1], [0, 100], [0])
    with pytest.raises(ValueError, match="same length"):
        knox_test([0, 1], [0, 1], [0], [0, 100], [0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 15)), min_size=2, max_size=40),
       st.sampled_from(["right", "left"]))
def test_property_observed_equals_brute_force(points: list[tuple[int, int, int]], closed: str) -> None:
    x = np.array([p[0] * 50.0 for p in points])
    y = np.array([p[1] * 50.0 for p in points])
    t = np.array([float(p[2]) for p in points])
    d_edges = [50, 120, 200] if closed == "left" else [0, 50, 120, 200]
    t_edges = [1, 3] if closed == "left" else [0, 1, 3]
    r = knox_test(x, y, t, d_edges, t_edges, closed=closed, permutations=3)  # type: ignore[arg-type]
    assert (r.observed == brute_table(x, y, t, d_edges, t_edges, closed)).all()
    assert np.isclose(r.expected.sum(), r.pairs)
