"""Lee's L and the bivariate local Moran against esda, on real LSOA centres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from thrv.reference import REFERENCE
from thrv.stats.colocation import knn_weights, lees_l, local_moran_bv


@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    centres = pd.read_csv(REFERENCE / "partner" / "lsoa_centres.csv.gz")
    cambridge = pd.read_csv(REFERENCE / "lsoa.csv.gz", usecols=["lsoa_code", "vintage", "lad_code"])
    codes = cambridge[(cambridge["lad_code"] == "E07000008") & (cambridge["vintage"] == 2021)]["lsoa_code"]
    frame = centres[centres["lsoa_code"].isin(codes)].reset_index(drop=True)
    rng = np.random.default_rng(5)
    # a smooth pattern plus noise, so that the two measures co-locate
    trend = (frame["lat"] - frame["lat"].mean()) * 50
    frame["x"] = trend + rng.normal(size=len(frame))
    frame["y"] = trend + rng.normal(size=len(frame))
    return frame


def _esda_weights(w: object) -> object:
    from libpysal.weights import WSP

    wsp = WSP(w)
    out = wsp.to_W(silence_warnings=True)
    out.transform = "r"
    return out


def test_lees_l_matches_esda(places: pd.DataFrame) -> None:
    from esda.lee import Spatial_Pearson

    w = knn_weights(places["lat"], places["lon"], k=6)
    ours = lees_l(places["x"], places["y"], w, permutations=0)
    theirs = Spatial_Pearson(connectivity=w, permutations=0).fit(places[["x"]].to_numpy(), places[["y"]].to_numpy())
    assert abs(ours.L - theirs.association_[0, 1]) < 1e-10 * abs(ours.L)
    seeded = lees_l(places["x"], places["y"], w, permutations=199, seed=3)
    assert seeded == lees_l(places["x"], places["y"], w, permutations=199, seed=3)
    assert seeded.p_value < 0.05  # a strong shared trend is not a chance arrangement
    shuffled = np.random.default_rng(1).permutation(places["y"].to_numpy())
    flat = lees_l(places["x"], shuffled, w, permutations=199, seed=3)
    assert abs(flat.L) < abs(seeded.L)


def test_local_bivariate_moran_matches_esda(places: pd.DataFrame) -> None:
    from esda.moran import Moran_Local_BV

    w = knn_weights(places["lat"], places["lon"], k=6)
    ours = local_moran_bv(places["x"], places["y"], w, permutations=999, seed=2)
    theirs = Moran_Local_BV(places["x"].to_numpy(), places["y"].to_numpy(), _esda_weights(w),
                            permutations=999, seed=2)
    np.testing.assert_allclose(ours.local_i, theirs.Is, rtol=1e-10)
    np.testing.assert_array_equal(ours.quadrant, theirs.q)
    # permutation p-values: different random draws, the same distribution
    assert stats.spearmanr(ours.p_value, theirs.p_sim).statistic > 0.9
    assert np.mean(np.abs(ours.p_value - theirs.p_sim)) < 0.03
    assert ((ours.p_value < 0.05) == (theirs.p_sim < 0.05)).mean() > 0.9


def test_knn_weights_rows_sum_to_one_and_exclude_self(places: pd.DataFrame) -> None:
    w = knn_weights(places["lat"], places["lon"], k=4)
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0)
    assert w.diagonal().sum() == 0
    assert (w.getnnz(axis=1) == 4).all()
