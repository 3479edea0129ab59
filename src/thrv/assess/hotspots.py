"""Hot spots on a hexagonal H3 grid: Getis–Ord Gi* with a Benjamini–Hochberg correction.

The grid is built from the distinct snapped map points (far fewer than records), so it
costs the same whatever the volume. The study region is every hexagon holding at least one
record of any kind in the period; a hexagon's neighbourhood is itself and the (up to six)
hexagons touching it that lie in the region (binary weights with self, the Gi* "star").
Each hexagon's z-score gets a two-sided normal p-value, and the p-values of one layer are
corrected together (Benjamini–Hochberg), so among the hexagons called hot at q < alpha the
expected share of false discoveries is at most alpha. LSOAs have no adjacency in the
shipped data, so Gi* runs on the grid only; LSOAs get rates and persistence instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from thrv.assess.config import AssessConfig
from thrv.assess.harm import ASB, HarmScheme
from thrv.assess.scope import Scope
from thrv.stats import benjamini_hochberg, getis_ord_gi_star

METHOD = ("Getis–Ord Gi* (Ord & Getis 1995) on H3 hexagons, binary contiguity weights including "
          "the hexagon itself; two-sided normal p-values; Benjamini–Hochberg false discovery rate "
          "across the hexagons of each layer")


@dataclass(frozen=True, eq=False)
class Grid:
    """Hexagons of the study region, their values per layer and their neighbour matrix."""

    cells: pd.DataFrame  # cell, lat, lon, district, lsoa_name, records, crimes, harm_*, <layer values>
    weights: sp.csr_matrix
    resolution: int


def assign_cells(points: pd.DataFrame, resolution: int) -> pd.Series:
    """H3 cell of each row, computed once per distinct (latitude, longitude)."""
    distinct = points[["latitude", "longitude"]].drop_duplicates()
    cells = [h3.latlng_to_cell(a, b, resolution) for a, b in zip(distinct["latitude"].tolist(), distinct["longitude"].tolist(), strict=True)]
    lookup = distinct.assign(cell=cells)
    return points[["latitude", "longitude"]].merge(lookup, on=["latitude", "longitude"], how="left")["cell"].set_axis(points.index)


def neighbour_matrix(cells: Sequence[str]) -> sp.csr_matrix:
    """Binary contiguity between the given hexagons (no self-links; Gi* adds them)."""
    index = {c: i for i, c in enumerate(cells)}
    rows, cols = [], []
    for i, c in enumerate(cells):
        for nb in h3.grid_ring(c, 1):
            j = index.get(nb)
            if j is not None:
                rows.append(i)
                cols.append(j)
    n = len(cells)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def build_grid(points: pd.DataFrame, scope: Scope, schemes: Sequence[HarmScheme],
               layers: dict[str, tuple[str, ...]], resolution: int) -> Grid:
    """Aggregate the point counts to hexagons. ``layers``: column -> crime types it counts."""
    p = points.assign(cell=assign_cells(points, resolution).to_numpy())
    p["crimes"] = np.where(p["crime_type"] != ASB, p["n"], 0)
    for name, crime_types in layers.items():
        p[name] = np.where(p["crime_type"].isin(list(crime_types)), p["n"], 0)
    harm_cols = [f"harm_{s.key}" for s in schemes]
    value_cols = ["crimes", *harm_cols, *layers]
    agg = p.groupby("cell", as_index=False).agg(records=("n", "sum"), **{c: (c, "sum") for c in value_cols})
    dnames = scope.districts.set_index("district_code")["district"]
    lnames = scope.lsoas.set_index("lsoa21_code")["lsoa_name"]
    top = p.sort_values("n", ascending=False).drop_duplicates("cell")[["cell", "district_code", "lsoa21_code"]]
    agg = agg.merge(top, on="cell", how="left")
    agg["district"] = agg["district_code"].map(dnames)
    agg["lsoa_name"] = agg["lsoa21_code"].map(lnames)
    loc = (p[p["crimes"] > 0].groupby(["cell", "location"], as_index=False).agg(crimes=("crimes", "sum"))
           .sort_values("crimes", ascending=False).groupby("cell").head(3)
           .groupby("cell")["location"].agg(lambda s: "; ".join(v.replace("On or near ", "") for v in s)))
    agg["main_locations"] = agg["cell"].map(loc).fillna("")
    centres = [h3.cell_to_latlng(c) for c in agg["cell"]]
    agg["lat"] = [c[0] for c in centres]
    agg["lon"] = [c[1] for c in centres]
    agg = agg.sort_values("cell").reset_index(drop=True)
    return Grid(agg, neighbour_matrix(agg["cell"].tolist()), resolution)


def gi_layer(grid: Grid, column: str, alpha: float) -> pd.DataFrame:
    """z, p, q and class for one layer over the grid."""
    x = grid.cells[column].to_numpy(dtype=float)
    if len(x) < 3 or x.sum() == 0 or np.all(x == x[0]):
        nan = np.full(len(x), np.nan)
        return pd.DataFrame({"z": nan, "p": nan, "q": nan, "class": "not tested"})
    z, p = getis_ord_gi_star(x, grid.weights)
    q = benjamini_hochberg(p)
    cls = np.full(len(x), "not significant", dtype=object)
    for level, name in ((alpha, "{} (q < {:g})".format), (0.01, "{} (q < {:g})".format), (0.001, "{} (q < {:g})".format)):
        if level > alpha:
            continue
        cls[(q < level) & (z > 0)] = name("hot", level)
        cls[(q < level) & (z < 0)] = name("cold", level)
    return pd.DataFrame({"z": z, "p": p, "q": q, "class": cls})


def _clusters(grid: Grid, hot: np.ndarray, column: str, schemes: Sequence[HarmScheme], limit: int) -> list[dict[str, object]]:
    """Connected groups of hot hexagons, busiest first: what a reader needs to act on."""
    idx = np.flatnonzero(hot)
    if idx.size == 0:
        return []
    sub = grid.weights[idx][:, idx]
    _, labels = connected_components(sub, directed=False)
    cells = grid.cells.iloc[idx].assign(_c=labels)
    total = float(grid.cells[column].sum())
    out = []
    for _, g in cells.groupby("_c"):
        value = float(g[column].sum())
        locs = "; ".join(dict.fromkeys("; ".join(g.sort_values(column, ascending=False)["main_locations"].head(3)).split("; ")))
        row: dict[str, object] = {
            "hexagons": len(g), "value": value, "share_pct": value / total * 100 if total else None,
            "crimes": int(g["crimes"].sum()),
            "districts": ", ".join(sorted({str(d) for d in g["district"].dropna()})),
            "lsoas": ", ".join(list(dict.fromkeys(str(v) for v in g.sort_values(column, ascending=False)["lsoa_name"].dropna()))[:4]),
            "main_locations": locs, "lat": float(g["lat"].mean()), "lon": float(g["lon"].mean()),
        }
        for s in schemes:
            row[f"harm_{s.key}"] = float(g[f"harm_{s.key}"].sum())
        out.append(row)
    out.sort(key=lambda r: -float(r["value"]))  # type: ignore[arg-type]
    for i, r in enumerate(out, start=1):
        r["cluster"] = i
    return out[:limit]


def hotspot_layers(grid: Grid, layer_titles: dict[str, str], schemes: Sequence[HarmScheme],
                   config: AssessConfig) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Gi* for every layer: the cell table (z/q/class per layer) and a summary per layer."""
    cells = grid.cells.copy()
    summaries = []
    area_km2 = h3.average_hexagon_area(grid.resolution, "km^2")
    for column, title in layer_titles.items():
        res = gi_layer(grid, column, config.fdr_alpha)
        for c in ("z", "q", "class"):
            cells[f"{column}_{c}"] = res[c].to_numpy()
        hot = (res["q"] < config.fdr_alpha).to_numpy() & (res["z"] > 0).to_numpy()
        cold = (res["q"] < config.fdr_alpha).to_numpy() & (res["z"] < 0).to_numpy()
        total = float(cells[column].sum())
        summaries.append({
            "layer": column, "title": title, "hexagons": len(cells), "hot_hexagons": int(hot.sum()),
            "cold_hexagons": int(cold.sum()), "total": total,
            "share_in_hot_pct": float(cells.loc[hot, column].sum() / total * 100) if total else None,
            "share_of_area_hot_pct": float(hot.mean() * 100) if len(cells) else None,
            "hot_area_km2": float(hot.sum() * area_km2),
            "clusters": _clusters(grid, hot, column, schemes, config.table_rows),
            "note": "" if res["class"].iloc[0] != "not tested" or not len(res) else "Too few hexagons or no variation: not tested.",
        })
    return cells, summaries


def cells_geometry(cells: Sequence[str]) -> dict[str, object]:
    """The union of hexagons as a GeoJSON MultiPolygon with rings reversed to clockwise,
    the winding d3-geo (and so Vega-Lite) expects; dissolving keeps map files small."""
    if not cells:
        return {"type": "MultiPolygon", "coordinates": []}
    geo = h3.cells_to_geo(list(cells))
    polygons = geo["coordinates"] if geo["type"] == "MultiPolygon" else [geo["coordinates"]]
    coords = [[[[round(x, 5), round(y, 5)] for x, y in reversed(ring)] for ring in poly] for poly in polygons]
    return {"type": "MultiPolygon", "coordinates": coords}
