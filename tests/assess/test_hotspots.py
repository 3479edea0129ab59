"""Hot spots on the H3 grid of the real sample, checked against esda on the same grid."""

from __future__ import annotations

import datetime as dt
from typing import Any

import esda
import h3
import libpysal
import numpy as np
import pytest

from thrv.assess.config import DEFAULT_HARM_SCHEMES, AssessConfig
from thrv.assess.harm import add_harm, load_schemes
from thrv.assess.hotspots import build_grid, cells_geometry, gi_layer, neighbour_matrix
from thrv.assess.query import point_counts
from thrv.assess.scope import resolve_scope
from thrv.stats import benjamini_hochberg, getis_ord_gi_star


@pytest.fixture(scope="module")
def grid(sample_ro: Any) -> Any:
    con = sample_ro.ibis()
    scope = resolve_scope(con, "Cambridgeshire Constabulary")
    schemes = load_schemes(DEFAULT_HARM_SCHEMES)
    month = dt.date(2025, 6, 1)
    points = add_harm(point_counts(con, scope, dt.date(2025, 1, 1), month), schemes)
    points = points[points["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])]
    return build_grid(points, scope, schemes, {"robbery": ("Robbery",)}, 8)


# islands (hexagons with no neighbour in the region) are real here; libpysal warns about them
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("column", ["crimes", "harm_cchi", "robbery"])
def test_gi_star_matches_esda_on_the_same_hexagons(grid: Any, column: str) -> None:
    cells = grid.cells["cell"].tolist()
    index = {c: i for i, c in enumerate(cells)}
    neighbours = {i: [index[n] for n in h3.grid_ring(c, 1) if n in index] for i, c in enumerate(cells)}
    w = libpysal.weights.W(neighbours, silence_warnings=True)
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


def test_layer_classes_follow_bh_q_values(grid: Any) -> None:
    res = gi_layer(grid, "crimes", 0.05)
    _z, p = getis_ord_gi_star(grid.cells["crimes"].to_numpy(float), grid.weights)
    np.testing.assert_allclose(res["q"], benjamini_hochberg(p))
    hot = res["class"].str.startswith("hot")
    assert (hot == ((res["q"] < 0.05) & (res["z"] > 0))).all()
    assert hot.sum() > 0
    assert (res.loc[res["q"] < 0.001, "class"].str.contains("0.001")).all()


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
