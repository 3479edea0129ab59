"""Hot and cold spots on a hexagonal H3 grid: Getis–Ord Gi* with permutation p-values and FDR.

The grid is built from the distinct snapped map points (far fewer than records), so it
costs the same whatever the volume. The study region is the whole area, not just where
crime happened (otherwise cold spots are impossible): every hexagon holding a record of
the area's own LSOAs in any month the store holds, plus every hexagon whose centre lies
inside the convex hull of an LSOA's map points (which fills the fields and parks between
streets); hexagons with no record in the period count as zero. A hexagon's neighbourhood
is itself and the (up to six) hexagons touching it in the region (binary weights with
self, the Gi* "star"). Counts per hexagon are far too skewed for normal p-values, so each
hexagon's p-value comes from conditional permutations (esda's method, seeded), two-sided,
and the p-values of one layer are corrected together (Benjamini–Hochberg): among the
hexagons called hot or cold at q < alpha the expected share of false discoveries is at
most alpha. Every sort has an explicit tie-break, so the labels never depend on the order
the engine returns rows in. LSOAs have no adjacency in the shipped data, so Gi* runs on the
grid only; LSOAs get rates and persistence instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError

from thrv.assess.config import AssessConfig
from thrv.assess.harm import ASB, HarmScheme
from thrv.assess.scope import Scope
from thrv.stats import benjamini_hochberg, getis_ord_gi_star
from thrv.stats.spatial import gi_star_permutation_test

METHOD = ("Getis–Ord Gi* (Ord & Getis 1995) on H3 hexagons over the whole area (hexagons with no "
          "record count as zero), binary contiguity weights including the hexagon itself; two-sided "
          "p-values from {permutations:,} conditional permutations (Anselin 1995, as esda), "
          "Benjamini–Hochberg false discovery rate across the hexagons of each layer")
STUDY_REGION = ("every hexagon of the area: those holding a record of the area's LSOAs in any month held, "
                "and those whose centre lies inside the convex hull of an LSOA's map points; "
                "hexagons with no record in the period count as zero")


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


def _hull_cells(pts: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """Hexagons whose centre lies inside the convex hull of each LSOA's distinct map points."""
    rows: list[tuple[str, str]] = []
    distinct = pts[["lsoa21_code", "longitude", "latitude"]].drop_duplicates().sort_values(
        ["lsoa21_code", "longitude", "latitude"], kind="mergesort")
    codes = distinct["lsoa21_code"].astype(str).to_numpy()
    coords = distinct[["longitude", "latitude"]].to_numpy(float)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    for a, b in zip(starts, [*starts[1:], len(codes)], strict=True):
        code, xy = codes[a], coords[a:b]
        if len(xy) < 3:
            continue
        try:
            hull = ConvexHull(xy)
        except QhullError:  # all on one line
            continue
        ring = [(float(xy[v, 1]), float(xy[v, 0])) for v in hull.vertices]
        for cell in h3.polygon_to_cells(h3.LatLngPoly(ring), resolution):
            rows.append((cell, str(code)))
    return pd.DataFrame(rows, columns=["cell", "lsoa21_code"])


def study_region(region_points: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """The hexagons of the area (cell, lsoa21_code, district_code), one row each.

    ``region_points``: map points of the area's LSOAs over every month held (latitude,
    longitude, lsoa21_code, district_code, n). A hexagon's LSOA is the one with most
    records in it (ties: the lower code); a hexagon reached only through a hull takes the
    lowest LSOA code whose hull covers it.
    """
    pts = region_points.dropna(subset=["latitude", "longitude", "lsoa21_code"])
    if pts.empty:
        return pd.DataFrame(columns=["cell", "lsoa21_code", "district_code"])
    pts = pts.assign(cell=assign_cells(pts, resolution).to_numpy())
    held = (pts.groupby(["cell", "lsoa21_code", "district_code"], as_index=False).agg(n=("n", "sum"))
            .sort_values(["cell", "n", "lsoa21_code"], ascending=[True, False, True], kind="mergesort")
            .drop_duplicates("cell")[["cell", "lsoa21_code", "district_code"]])
    districts = pts.drop_duplicates("lsoa21_code").set_index("lsoa21_code")["district_code"]
    hulls = _hull_cells(pts, resolution)
    hulls = hulls[~hulls["cell"].isin(held["cell"])].sort_values(["cell", "lsoa21_code"], kind="mergesort")
    hulls = hulls.drop_duplicates("cell").assign(district_code=lambda d: d["lsoa21_code"].map(districts))
    return pd.concat([held, hulls], ignore_index=True).sort_values("cell", kind="mergesort").reset_index(drop=True)


def build_grid(points: pd.DataFrame, scope: Scope, schemes: Sequence[HarmScheme],
               layers: dict[str, tuple[str, ...]], resolution: int,
               region: pd.DataFrame | None = None) -> Grid:
    """Aggregate the point counts to hexagons over the study region.

    ``layers``: column -> crime types it counts. ``region``: the map points that define
    the area (see :func:`study_region`); without it the region is the period's points
    (hexagons holding a record), where cold spots can hardly appear.
    """
    p = points.assign(cell=assign_cells(points, resolution).to_numpy())
    p["crimes"] = np.where(p["crime_type"] != ASB, p["n"], 0)
    for name, crime_types in layers.items():
        p[name] = np.where(p["crime_type"].isin(list(crime_types)), p["n"], 0)
    harm_cols = [f"harm_{s.key}" for s in schemes]
    value_cols = ["crimes", *harm_cols, *layers]
    agg = p.groupby("cell", as_index=False).agg(records=("n", "sum"), **{c: (c, "sum") for c in value_cols})
    # a hexagon's place: the LSOA with most records in it, ties to the lower code
    top = (p.groupby(["cell", "lsoa21_code", "district_code"], as_index=False, dropna=False).agg(n=("n", "sum"))
           .sort_values(["cell", "n", "lsoa21_code"], ascending=[True, False, True], kind="mergesort", na_position="last")
           .drop_duplicates("cell")[["cell", "district_code", "lsoa21_code"]])
    agg = agg.merge(top, on="cell", how="left")
    if region is not None and len(region):
        extra = study_region(region, resolution)
        extra = extra[~extra["cell"].isin(agg["cell"])]
        zeros = pd.DataFrame({"cell": extra["cell"].to_numpy(), "records": 0,
                              **{c: np.zeros(len(extra), dtype=agg[c].to_numpy().dtype) for c in value_cols},
                              "district_code": extra["district_code"].to_numpy(),
                              "lsoa21_code": extra["lsoa21_code"].to_numpy()})
        agg = pd.concat([agg, zeros], ignore_index=True)
    dnames = scope.districts.set_index("district_code")["district"]
    lnames = scope.lsoas.set_index("lsoa21_code")["lsoa_name"]
    agg["district"] = agg["district_code"].map(dnames)
    agg["lsoa_name"] = agg["lsoa21_code"].map(lnames)
    loc = (p[p["crimes"] > 0].groupby(["cell", "location"], as_index=False).agg(crimes=("crimes", "sum"))
           .sort_values(["cell", "crimes", "location"], ascending=[True, False, True], kind="mergesort")
           .groupby("cell").head(3)
           .groupby("cell")["location"].agg(lambda s: "; ".join(v.replace("On or near ", "") for v in s)))
    agg["main_locations"] = agg["cell"].map(loc).fillna("")
    agg = agg.sort_values("cell", kind="mergesort").reset_index(drop=True)
    centres = [h3.cell_to_latlng(c) for c in agg["cell"]]
    agg["lat"] = [c[0] for c in centres]
    agg["lon"] = [c[1] for c in centres]
    return Grid(agg, neighbour_matrix(agg["cell"].tolist()), resolution)


def skew_note(x: np.ndarray, hot: np.ndarray) -> str:
    """Why normal p-values would mislead here, in figures."""
    if x.size < 3 or np.all(x == x[0]):
        return ""
    zero = float((x == 0).mean() * 100)
    small = float((x <= 2).mean() * 100)
    skewness = float(stats.skew(x))
    hot_small = int(((x <= 2) & hot).sum())
    text = (f"Counts per hexagon are highly skewed (skewness {skewness:.1f}; {zero:.0f}% of hexagons hold none, "
            f"{small:.0f}% hold 2 or fewer), too skewed for normal p-values, so p-values come from conditional permutations.")
    if hot_small:
        text += f" {hot_small} hot hexagons themselves hold 2 or fewer: they are hot through their neighbours."
    return text


def gi_layer(grid: Grid, column: str, alpha: float, permutations: int = 9999, seed: int = 0) -> pd.DataFrame:
    """z (normal, for display), p (two-sided permutation), q (BH) and class for one layer.

    A hexagon is hot where q < alpha, it lies in the upper tail of its permutations and z > 0;
    cold likewise in the lower tail with z < 0.
    """
    x = grid.cells[column].to_numpy(dtype=float)
    if len(x) < 3 or x.sum() == 0 or np.all(x == x[0]):
        nan = np.full(len(x), np.nan)
        return pd.DataFrame({"z": nan, "p": nan, "q": nan, "class": "not tested"})
    z, _p_norm = getis_ord_gi_star(x, grid.weights)
    perm = gi_star_permutation_test(x, grid.weights, permutations=permutations, seed=seed)
    p = np.where(perm.tested, perm.p_value, np.nan)
    q = benjamini_hochberg(p)
    hot = (q < alpha) & perm.high & (z > 0)
    cold = (q < alpha) & ~perm.high & perm.tested & (z < 0)
    cls = np.full(len(x), "not significant", dtype=object)
    cls[~perm.tested] = "not tested (no neighbour)"
    for level in sorted({alpha, 0.01, 0.001}, reverse=True):
        if level > alpha:
            continue
        cls[hot & (q < level)] = f"hot (q < {level:g})"
        cls[cold & (q < level)] = f"cold (q < {level:g})"
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
        ranked = g.sort_values([column, "cell"], ascending=[False, True], kind="mergesort")
        locs = "; ".join(dict.fromkeys("; ".join(ranked["main_locations"].head(3)).split("; ")))
        row: dict[str, object] = {
            "hexagons": len(g), "value": value, "share_pct": value / total * 100 if total else None,
            "crimes": int(g["crimes"].sum()),
            "districts": ", ".join(sorted({str(d) for d in g["district"].dropna()})),
            "lsoas": ", ".join(list(dict.fromkeys(str(v) for v in ranked["lsoa_name"].dropna()))[:4]),
            "main_locations": locs, "lat": float(g["lat"].mean()), "lon": float(g["lon"].mean()),
            "_first": str(g["cell"].min()),
        }
        for s in schemes:
            row[f"harm_{s.key}"] = float(g[f"harm_{s.key}"].sum())
        out.append(row)
    out.sort(key=lambda r: (-float(r["value"]), str(r["_first"])))  # type: ignore[arg-type]
    for i, r in enumerate(out, start=1):
        r["cluster"] = i
        del r["_first"]
    return out[:limit]


def hotspot_layers(grid: Grid, layer_titles: dict[str, str], schemes: Sequence[HarmScheme],
                   config: AssessConfig) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Gi* for every layer: the cell table (z/q/class per layer) and a summary per layer."""
    cells = grid.cells.copy()
    summaries = []
    area_km2 = h3.average_hexagon_area(grid.resolution, "km^2")
    for column, title in layer_titles.items():
        res = gi_layer(grid, column, config.fdr_alpha, config.gi_permutations, config.gi_seed)
        for c in ("z", "q", "class"):
            cells[f"{column}_{c}"] = res[c].to_numpy()
        hot = res["class"].str.startswith("hot").to_numpy()
        cold = res["class"].str.startswith("cold").to_numpy()
        total = float(cells[column].sum())
        tested = res["class"].iloc[0] != "not tested" if len(res) else False
        notes = []
        if not tested:
            notes.append("Too few hexagons or no variation: not tested.")
        else:
            notes.append(f"{int(cold.sum())} cold hexagons (q < {config.fdr_alpha:g}).")
            notes.append(skew_note(cells[column].to_numpy(float), hot))
        summaries.append({
            "layer": column, "title": title, "hexagons": len(cells), "hot_hexagons": int(hot.sum()),
            "cold_hexagons": int(cold.sum()), "total": total,
            "share_in_hot_pct": float(cells.loc[hot, column].sum() / total * 100) if total else None,
            "share_of_area_hot_pct": float(hot.mean() * 100) if len(cells) else None,
            "hot_area_km2": float(hot.sum() * area_km2),
            "hot_hexagons_holding_2_or_fewer": int((hot & (cells[column].to_numpy(float) <= 2)).sum()),
            "zero_hexagons": int((cells[column].to_numpy(float) == 0).sum()),
            "skewness": float(stats.skew(cells[column].to_numpy(float))) if tested else None,
            "clusters": _clusters(grid, hot, column, schemes, config.table_rows),
            "note": " ".join(n for n in notes if n),
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
