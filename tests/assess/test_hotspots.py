"""Hot and cold spots on the H3 grid of the real sample, checked against esda on the same grid."""

from __future__ import annotations

import datetime as dt
from typing import Any

import esda
import h3
import libpysal
import numpy as np
import pandas as pd
import pytest

from thrv.assess.config import DEFAULT_HARM_SCHEMES, AssessConfig
from thrv.assess.harm import add_harm, load_schemes
from thrv.assess.hotspots import (
    build_grid,
    cells_geometry,
    gi_layer,
    hotspot_layers,
    neighbour_matrix,
)
from thrv.assess.query import months_held_in_store, point_counts
from thrv.assess.scope import resolve_scope
from thrv.stats import benjamini_hochberg, getis_ord_gi_star
from thrv.stats.spatial import gi_star_permutation_test


@pytest.fixture(scope="module")
def inputs(sample_ro: Any) -> Any:
    con = sample_ro.ibis()
    scope = resolve_scope(con, "Cambridgeshire Constabulary")
    schemes = load_schemes(DEFAULT_HARM_SCHEMES)
    points = add_harm(point_counts(con, scope, dt.date(2025, 1, 1), dt.date(2025, 6, 1)), schemes)
    points = points[points["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])].reset_index(drop=True)
    region = point_counts(con, scope, *months_held_in_store(con, scope.forces))
    region = region[region["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])].reset_index(drop=True)
    return points, scope, schemes, region


@pytest.fixture(scope="module")
def grid(inputs: Any) -> Any:
    points, scope, schemes, region = inputs
    return build_grid(points, scope, schemes, {"robbery": ("Robbery",)}, 8, region=region)


def _esda_w(grid: Any) -> Any:
    cells = grid.cells["cell"].tolist()
    index = {c: i for i, c in enumerate(cells)}
    neighbours = {i: [index[n] for n in h3.grid_ring(c, 1) if n in index] for i, c in enumerate(cells)}
    return libpysal.weights.W(neighbours, silence_warnings=True)


# islands (hexagons with no neighbour in the region) are real here; libpysal warns about them
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("column", ["crimes", "harm_cchi", "robbery"])
def test_gi_star_matches_esda_on_the_same_hexagons(grid: Any, column: str) -> None:
    w = _esda_w(grid)
    y = grid.cells[column].to_numpy(float)
    reference = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    z, p = getis_ord_gi_star(y, grid.weights, two_sided=False)
    np.testing.assert_allclose(z, reference.Zs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(p, reference.p_norm, rtol=1e-9, atol=1e-12)


def test_grid_counts_every_located_record(grid: Any, sample_ro: Any) -> None:
    assert grid.cells["records"].sum() > 0
    assert grid.cells["cell"].is_unique
    assert (grid.cells["crimes"] <= grid.cells["records"]).all()
    assert (abs(grid.weights - grid.weights.T)).nnz == 0  # contiguity is symmetric
    assert grid.weights.diagonal().sum() == 0


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
@pytest.mark.parametrize("column", ["crimes", "robbery"])
def test_permutations_reproduce_esda_conditional_randomisation(grid: Any, column: str) -> None:
    """With esda's own permutation matrix, the simulations are esda's, draw for draw."""
    from esda.crand import vec_permutations

    y = grid.cells[column].to_numpy(float)
    permutations, seed = 199, 11
    reference = esda.G_Local(y, _esda_w(grid), transform="B", star=True, permutations=permutations,
                             seed=seed, n_jobs=1, keep_simulations=False)
    k_max = int(np.asarray((grid.weights != 0).sum(axis=1)).max())
    res = gi_star_permutation_test(y, grid.weights, permuted_ids=vec_permutations(k_max, len(y), permutations, seed))
    folded = (np.minimum(res.upper, permutations - res.upper) + 1) / (permutations + 1)  # esda's p_sim
    assert res.tested.sum() > 0.9 * len(y)
    np.testing.assert_allclose(folded[res.tested], reference.p_sim[res.tested], rtol=0, atol=1e-6)


def test_study_region_is_the_whole_area_with_zero_counts(grid: Any, inputs: Any) -> None:
    points, scope, _schemes, _region = inputs
    cells = grid.cells
    assert (cells["records"] == 0).sum() > 0.3 * len(cells)  # empty hexagons are in the region
    assert cells["records"].sum() == points["n"].sum()  # every located record of the period counted once
    assert cells["lsoa21_code"].isin(scope.lsoas["lsoa21_code"]).all()
    assert cells["district"].notna().all()
    without = build_grid(points, scope, _schemes, {}, 8)
    assert set(without.cells["cell"]) < set(cells["cell"])
    assert (without.cells["records"] > 0).all()


def test_layer_classes_follow_bh_q_of_permutation_p_values(grid: Any) -> None:
    res = gi_layer(grid, "crimes", 0.05, permutations=9999, seed=3)
    y = grid.cells["crimes"].to_numpy(float)
    perm = gi_star_permutation_test(y, grid.weights, permutations=9999, seed=3)
    p = np.where(perm.tested, perm.p_value, np.nan)
    np.testing.assert_allclose(res["p"], p)
    np.testing.assert_allclose(res["q"], benjamini_hochberg(p))
    hot = res["class"].str.startswith("hot")
    assert (hot == ((res["q"] < 0.05) & perm.high & (res["z"] > 0))).all()
    assert hot.sum() > 0
    assert (res.loc[res["q"] < 0.001, "class"].str.contains("0.001")).all()
    assert (res.loc[~perm.tested, "class"] == "not tested (no neighbour)").all()


def test_cold_spots_are_found_on_a_coarser_real_grid(sample_ro: Any, inputs: Any) -> None:
    _points, scope, schemes, region = inputs
    con = sample_ro.ibis()
    year = add_harm(point_counts(con, scope, dt.date(2025, 1, 1), dt.date(2025, 12, 1)), schemes)
    year = year[year["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])]
    coarse = build_grid(year, scope, schemes, {}, 7, region=region)
    res = gi_layer(coarse, "harm_cchi", 0.05, permutations=9999, seed=0)
    cold = res["class"].str.startswith("cold")
    assert cold.sum() >= 2
    x = coarse.cells["harm_cchi"]
    assert (x[cold] < x.mean()).all()
    assert (res.loc[cold, "z"] < 0).all()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_labels_do_not_depend_on_row_order(inputs: Any) -> None:
    points, scope, schemes, region = inputs
    config = AssessConfig(gi_permutations=199)
    titles = {"crimes": "crimes", "robbery": "robbery"}
    runs = []
    for seed in (None, 1):
        p = points if seed is None else points.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        r = region if seed is None else region.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        g = build_grid(p, scope, schemes, {"robbery": ("Robbery",)}, 8, region=r)
        cells, summaries = hotspot_layers(g, titles, schemes, config)
        runs.append((cells, summaries))
    for cells, summaries in runs[1:]:
        pd.testing.assert_frame_equal(cells, runs[0][0])
        assert summaries == runs[0][1]


def test_neighbours_are_h3_rings() -> None:
    centre = h3.latlng_to_cell(52.2, 0.12, 8)
    cells = [centre, *h3.grid_ring(centre, 1)]
    w = neighbour_matrix(cells)
    assert w[0].sum() == 6  # the centre touches all six
    assert all(2 <= w[i].sum() <= 3 for i in range(1, 7))  # each ring cell: the centre and two ring cells


def test_map_geometry_winds_clockwise_for_d3() -> None:
    """d3-geo (Vega-Lite) fills the outside of an anticlockwise ring: rings must be clockwise."""
    centre = h3.latlng_to_cell(52.2, 0.12, 8)
    geom = cells_geometry([centre, *h3.grid_ring(centre, 1)])
    ring = np.array(geom["coordinates"][0][0])
    signed = 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    assert signed < 0


def test_model_hotspot_section(model: dict[str, Any]) -> None:
    hs = model["places"]["hotspots"]
    assert hs["resolution"] == AssessConfig().h3_resolution
    assert "Benjamini" in hs["method"]
    assert "Gi*" in hs["method"]
    layers = {layer["layer"]: layer for layer in hs["layers"]}
    assert {"crimes", "harm_cchi", "harm_css"} <= set(layers)
    crimes = layers["crimes"]
    assert crimes["clusters"]
    assert crimes["clusters"][0]["cluster"] == 1
    cells = model["places"]["hex_cells"]
    assert crimes["hot_hexagons"] == sum(1 for c in cells if c["crimes_class"].startswith("hot"))
    assert sum(c["share_pct"] for c in crimes["clusters"]) == pytest.approx(crimes["share_in_hot_pct"], rel=1e-6)
    assert "conditional permutations" in hs["method"] and "zero" in hs["study_region"]
    assert crimes["cold_hexagons"] == sum(1 for c in cells if c["crimes_class"].startswith("cold"))
    assert "too skewed for normal p-values" in crimes["note"]
    assert crimes["zero_hexagons"] > 0 and crimes["skewness"] > 2
