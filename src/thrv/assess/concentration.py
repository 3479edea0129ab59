"""Where crime concentrates: concentration curves, rates per 1,000, persistent hot LSOAs,
repeat locations.

Places are the scope's 2021 LSOAs *including those with no crime* (leaving them out
understates concentration: Bernasco & Steenbeek 2017), the hexagons of the hot-spot grid,
and the snapped map points data.police.uk publishes (for points only those with a record
are known, so their concentration is a lower bound).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from thrv.assess.config import AssessConfig
from thrv.assess.harm import ASB, HarmScheme
from thrv.assess.scope import Scope
from thrv.stats import (
    benjamini_hochberg,
    gini,
    lorenz_curve,
    poisson_exact_test_many,
    rate_per_1000_many,
    top_share,
)
from thrv.stats.concentration import generalised_gini

RATE_METHOD = "Exact Poisson (Garwood) interval for the count, scaled by residents and years"
RATE_TEST = "Exact conditional Poisson test of the place's rate against the rest of the scope; Benjamini–Hochberg q"


def concentration_summary(values: np.ndarray, fractions: Sequence[float], counts: bool = True) -> dict[str, object]:
    """Gini (and generalised Gini for counts), top-x% shares and a 101-point Lorenz curve."""
    x = np.asarray(values, dtype=float)
    total = float(x.sum())
    out: dict[str, object] = {"places": int(x.size), "total": total, "places_with_any": int((x > 0).sum())}
    if x.size == 0 or total <= 0:
        out.update({"gini": None, "generalised_gini": None, "top_shares": {}, "lorenz": []})
        return out
    out["gini"] = gini(x)
    out["generalised_gini"] = generalised_gini(x) if counts else None
    out["top_shares"] = {f"{f:.0%}": v * 100 for f, v in top_share(x, fractions).items()}
    places, share = lorenz_curve(x)
    grid = np.linspace(0, 1, 101)
    out["lorenz"] = [{"places_pct": float(g * 100), "share_pct": float(s * 100)} for g, s in zip(grid, np.interp(grid, places, share), strict=True)]
    # how few places hold half the total
    desc = np.sort(x)[::-1]
    k = int(np.searchsorted(np.cumsum(desc), total / 2) + 1)
    out["places_for_half"] = k
    out["places_for_half_pct"] = k / x.size * 100
    return out


def lsoa_counts(records: pd.DataFrame, scope: Scope, schemes: Sequence[HarmScheme]) -> pd.DataFrame:
    """Crimes (excluding ASB), ASB and harm per 2021 LSOA of the scope, zeros included."""
    in_scope = records[records["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])]
    r = in_scope.assign(crimes=np.where(in_scope["crime_type"] != ASB, in_scope["n"], 0),
                        asb=np.where(in_scope["crime_type"] == ASB, in_scope["n"], 0))
    cols = ["crimes", "asb", *[f"harm_{s.key}" for s in schemes]]
    agg = r.groupby("lsoa21_code", as_index=False)[cols].sum()
    out = scope.lsoas.merge(agg, on="lsoa21_code", how="left")
    out[cols] = out[cols].fillna(0.0)
    out["crimes"] = out["crimes"].astype("int64")
    out["asb"] = out["asb"].astype("int64")
    return out


def add_rates(places: pd.DataFrame, schemes: Sequence[HarmScheme], years: float, config: AssessConfig,
              key: str) -> pd.DataFrame:
    """Crimes per 1,000 residents a year with exact intervals, each place tested against the
    rest of the scope (so the two sides are independent), BH-corrected across places."""
    out = places.copy()
    pop = out["population"].to_numpy(dtype=float)
    k = out["crimes"].to_numpy(dtype=float)
    ok = np.isfinite(pop) & (pop > 0)
    rates = rate_per_1000_many(k, np.where(ok, pop, np.nan), config.confidence)
    out["crime_rate_per_1000_per_year"] = rates.rate / years
    out["rate_ci_low"] = rates.ci_low / years
    out["rate_ci_high"] = rates.ci_high / years
    total_k, total_pop = float(k[ok].sum()), float(pop[ok].sum())
    rest_k = np.where(ok, total_k - k, np.nan)
    rest_pop = np.where(ok, total_pop - pop, np.nan)
    testable = ok & (rest_pop > 0)
    res = poisson_exact_test_many(np.where(testable, k, np.nan), np.where(testable, pop, 1.0),
                                  np.where(testable, rest_k, np.nan), np.where(testable, rest_pop, 1.0),
                                  config.confidence, intervals=False)
    out["rate_ratio_vs_rest"] = res.estimate
    out["p"] = res.p_value
    out["q"] = benjamini_hochberg(res.p_value)
    sig = out["q"] < config.fdr_alpha
    out["compared_with_rest"] = np.where(~testable, "", np.where(sig & (res.estimate > 1), "higher",
                                         np.where(sig & (res.estimate < 1), "lower", "similar")))
    for s in schemes:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"harm_{s.key}_per_1000_per_year"] = np.where(ok, out[f"harm_{s.key}"] / pop * 1000 / years, np.nan)
    out.attrs["key"] = key
    return out


def district_table(lsoas: pd.DataFrame, scope: Scope, schemes: Sequence[HarmScheme], years: float,
                   config: AssessConfig) -> pd.DataFrame:
    cols = ["crimes", "asb", *[f"harm_{s.key}" for s in schemes]]
    agg = lsoas.groupby(["district_code"], as_index=False)[cols].sum()
    d = scope.districts.merge(agg, on="district_code", how="left").fillna(dict.fromkeys(cols, 0))
    d["crimes"] = d["crimes"].astype("int64")
    return add_rates(d, schemes, years, config, "district_code")


def persistent_hot(records: pd.DataFrame, scope: Scope, months: list[dt.date], config: AssessConfig) -> tuple[pd.DataFrame, str]:
    """LSOAs among the busiest ``hot_share`` in month after month (crimes excluding ASB).

    A month's hot LSOAs are those with at least as many crimes as the k-th busiest, k =
    ceil(hot_share × LSOAs), and at least one crime. With fewer than
    ``min_persistence_months`` months held, persistence is not assessed.
    """
    cols = ["lsoa21_code", "lsoa_name", "district", "months_hot", "months_held", "share_of_months_hot_pct",
            "longest_run", "crimes", "persistent"]
    if len(months) < config.min_persistence_months:
        return pd.DataFrame(columns=cols), (f"Persistence needs at least {config.min_persistence_months} months; "
                                            f"{len(months)} held in the period.")
    lsoa_ids = scope.lsoas["lsoa21_code"].to_numpy()
    if len(lsoa_ids) == 0:
        return pd.DataFrame(columns=cols), "The scope has no LSOAs in the shipped lookups: persistence not assessed."
    r = records[(records["crime_type"] != ASB) & records["lsoa21_code"].isin(lsoa_ids) & records["month"].isin(months)]
    wide = r.pivot_table(index="lsoa21_code", columns="month", values="n", aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=lsoa_ids, columns=months, fill_value=0)
    m = wide.to_numpy(dtype=float)
    k = max(1, math.ceil(config.hot_share * m.shape[0]))
    threshold = -np.sort(-m, axis=0)[k - 1, :]
    hot = (m >= threshold[None, :]) & (m > 0)
    runs = np.zeros(m.shape[0], dtype=int)
    current = np.zeros(m.shape[0], dtype=int)
    for j in range(m.shape[1]):
        current = np.where(hot[:, j], current + 1, 0)
        runs = np.maximum(runs, current)
    out = scope.lsoas[["lsoa21_code", "lsoa_name", "district"]].copy()
    out["months_hot"] = hot.sum(axis=1)
    out["months_held"] = m.shape[1]
    out["share_of_months_hot_pct"] = out["months_hot"] / m.shape[1] * 100
    out["longest_run"] = runs
    out["crimes"] = m.sum(axis=1).astype(int)
    out["persistent"] = out["share_of_months_hot_pct"] >= config.persistent_share * 100
    out = out[out["months_hot"] > 0].sort_values(["months_hot", "crimes"], ascending=False)
    note = (f"Hot = among the busiest {config.hot_share:.0%} of {m.shape[0]} LSOAs for crimes in a month "
            f"(at least {k} LSOAs); persistent = hot in at least {config.persistent_share:.0%} of {m.shape[1]} months.")
    return out.reset_index(drop=True)[cols], note


def type_concentration(by_lsoa_type: pd.DataFrame) -> pd.DataFrame:
    """Generalised Gini and top-5% share over the scope's LSOAs for each crime type.

    ``by_lsoa_type``: crimes per LSOA (rows, zeros included) and crime type (columns).
    """
    rows = []
    for t in by_lsoa_type.columns:
        x = by_lsoa_type[t].to_numpy(float)
        any_ = x.sum() > 0
        rows.append({"crime_type": t, "records_in_lsoas": int(x.sum()),
                     "generalised_gini": generalised_gini(x) if any_ else None,
                     "gini": gini(x) if any_ else None,
                     "top_5pct_share": top_share(x, (0.05,))[0.05] * 100 if any_ else None})
    return pd.DataFrame(rows, columns=["crime_type", "records_in_lsoas", "generalised_gini", "gini", "top_5pct_share"])


def repeat_locations(points: pd.DataFrame, schemes: Sequence[HarmScheme], config: AssessConfig,
                     scope: Scope) -> dict[str, object]:
    """The snapped map points and location descriptions that recur."""
    harm_cols = [f"harm_{s.key}" for s in schemes]
    p = points.assign(crimes=np.where(points["crime_type"] != ASB, points["n"], 0))
    names = scope.lsoas.set_index("lsoa21_code")["lsoa_name"]
    dnames = scope.districts.set_index("district_code")["district"]
    by_point = p.groupby(["latitude", "longitude", "location"], as_index=False, dropna=False).agg(
        records=("n", "sum"), crimes=("crimes", "sum"), **{c: (c, "sum") for c in harm_cols},
        lsoa21_code=("lsoa21_code", "first"), district_code=("district_code", "first"))
    main = (p.sort_values("n", ascending=False).drop_duplicates(["latitude", "longitude", "location"])
            [["latitude", "longitude", "location", "crime_type"]].rename(columns={"crime_type": "main_type"}))
    by_point = by_point.merge(main, on=["latitude", "longitude", "location"], how="left")
    by_point["lsoa_name"] = by_point["lsoa21_code"].map(names)
    by_point["district"] = by_point["district_code"].map(dnames)
    by_point = by_point[by_point["crimes"] > 0]  # points with only ASB are not crime locations
    crimes = by_point["crimes"].to_numpy(float)
    buckets = [(1, 1), (2, 4), (5, 9), (10, 49), (50, None)]
    dist = []
    total = crimes.sum()
    for lo, hi in buckets:
        mask = (crimes >= lo) & ((crimes <= hi) if hi is not None else True)
        dist.append({"crimes_at_point": f"{lo}" if lo == hi else (f"{lo}+" if hi is None else f"{lo}–{hi}"),
                     "points": int(mask.sum()), "crimes": int(crimes[mask].sum()),
                     "share_of_crimes_pct": float(crimes[mask].sum() / total * 100) if total else None})
    keep = ["location", "district", "lsoa_name", "latitude", "longitude", "crimes", "records", *harm_cols, "main_type"]
    top_crimes = by_point.sort_values("crimes", ascending=False).head(config.table_rows)[keep]
    top_harm = by_point.sort_values(harm_cols[0], ascending=False).head(config.table_rows)[keep]
    text = p.groupby("location", as_index=False).agg(crimes=("crimes", "sum"), records=("n", "sum"))
    npts = by_point.groupby("location").size().rename("points").reset_index()
    text = text.merge(npts, on="location").sort_values("crimes", ascending=False).head(config.table_rows)
    return {
        "method": "Crimes (excluding ASB) by the anonymised map point data.police.uk snaps each record to; "
                  "points with no crime are not published, so shares are among points with at least one.",
        "points": len(by_point),
        "repeat_points": int((crimes >= 2).sum()),
        "share_of_crimes_at_repeat_points_pct": float(crimes[crimes >= 2].sum() / total * 100) if total else None,
        "concentration": concentration_summary(crimes, config.top_fractions),
        "distribution": dist,
        "top_by_crimes": top_crimes.to_dict("records"),
        "top_by_harm": top_harm.to_dict("records"),
        "recurring_descriptions": text.to_dict("records"),
    }
