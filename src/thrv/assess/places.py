"""The same places: police crime, harm and ASB beside every partner measure held.

For the assessment's section "Places where agencies' demand coincides":

1. **Each measure at its own grain, never down-scaled.** A partner measure published by
   LSOA is compared by LSOA (2021), and its counts are added up to districts; a district
   measure is compared by district; an upper-tier measure (county or unitary) by upper-tier
   authority. Rates are used only at the grain they were published at (a rate cannot be
   added up without its denominator). Police records are added up to every grain.
2. **A common period where there is one.** Partner periods wholly inside the assessment
   period are used; a measure with none uses its latest 12 months (monthly data) or latest
   period, and says so: its pattern across places is compared, not its timing.
3. **Standardised scores and ranks**: counts become rates per 1,000 residents a year (Census
   2021); every measure is standardised across the scope's places (z, sample SD) and ranked
   (1 = highest).
4. **Co-location** by LSOA: Lee's L (global) and the bivariate local Moran (local) between
   each police measure and each partner LSOA measure, k-nearest-neighbour weights on LSOA
   centres, seeded permutations, Benjamini–Hochberg q-values (:mod:`thrv.stats.colocation`).
   Districts are too few for spatial statistics: their measures get Spearman correlations,
   marked indicative.
5. **A multi-agency need index**: the weighted mean of standardised scores, weights as data
   (``thrv/data/config/places.toml``), with a sensitivity check (random weights, and each
   component left out).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from thrv.reference import DATA, REFERENCE
from thrv.sources.partner_areas import district_counties
from thrv.stats.colocation import knn_weights, lees_l, local_moran_bv
from thrv.stats.spatial import benjamini_hochberg

CONFIG = DATA / "config" / "places.toml"
POLICE = {"crime_rate": "Police recorded crime (excluding ASB) per 1,000 a year",
          "asb_rate": "Anti-social behaviour (police) per 1,000 a year",
          "harm_rate": "Crime harm per 1,000 a year"}
GRAINS = ("lsoa", "district", "upper_tier")
GRAIN_TITLES = {"lsoa": "LSOA (2021)", "district": "district (2024)", "upper_tier": "county or unitary authority"}


@dataclass(frozen=True)
class IndexComponent:
    name: str
    measure: str
    weight: float


@dataclass(frozen=True)
class PlacesConfig:
    knn: int = 6
    permutations: int = 999
    seed: int = 1
    fdr_alpha: float = 0.05
    min_places: int = 30
    top: int = 10
    sensitivity_range: float = 0.5
    sensitivity_draws: int = 1000
    index: tuple[IndexComponent, ...] = field(default_factory=tuple)


def load_config(path: str | Path | None = None) -> PlacesConfig:
    doc = tomllib.loads(Path(path or CONFIG).read_text(encoding="utf-8"))
    parts = tuple(IndexComponent(str(c["name"]), str(c["measure"]), float(c["weight"])) for c in doc.get("index", []))
    keys = {k: doc[k] for k in ("knn", "permutations", "seed", "fdr_alpha", "min_places", "top",
                                "sensitivity_range", "sensitivity_draws") if k in doc}
    return PlacesConfig(index=parts, **keys)


# -- measures --------------------------------------------------------------------------

@dataclass
class Measure:
    """One measure at one grain: a value per place, and where it came from."""

    key: str  # "police:crime_rate" or "<dataset>:<measure>"
    title: str
    agency: str
    grain: str
    values: pd.Series  # place code -> value
    unit: str
    window: str
    same_period: bool
    source: str = ""
    aggregated_from: str = ""
    england: float | None = None


def _window(rows: pd.DataFrame, first: dt.date, last_end: dt.date) -> tuple[pd.DataFrame, bool]:
    inside = rows[(rows["period_start"] >= first) & (rows["period_end"] <= last_end)]
    if len(inside):
        return inside, True
    if (rows["period_type"] == "month").all():
        latest = rows["period_start"].max()
        start = (pd.Timestamp(latest) - pd.DateOffset(months=11)).date()
        return rows[rows["period_start"] >= start], False
    return rows[rows["period_start"] == rows["period_start"].max()], False


def _label(rows: pd.DataFrame) -> str:
    ordered = rows.sort_values("period_start")
    first, last = ordered["period_label"].iloc[0], ordered["period_label"].iloc[-1]
    return str(first) if first == last else f"{first} to {last}"


def _years(rows: pd.DataFrame) -> float:
    spans = rows.drop_duplicates(["period_start", "period_end"])
    days = sum((pd.Timestamp(e) - pd.Timestamp(s)).days + 1 for s, e in zip(spans["period_start"], spans["period_end"],
                                                                           strict=True))
    return days / 365.25


def _is_count(unit: str) -> bool:
    return unit.strip().lower() in {"count", "number", "incidents", "reports"}


def partner_measures(frame: pd.DataFrame, first: dt.date, last_end: dt.date, places: dict[str, pd.DataFrame],
                     sources: dict[str, str]) -> list[Measure]:
    """Every partner measure at each grain it can honestly be shown at."""
    out: list[Measure] = []
    if frame.empty:
        return out
    frame = frame.copy()
    for c in ("period_start", "period_end"):
        frame[c] = pd.to_datetime(frame[c]).dt.date
    for (partner, dataset, measure, unit), rows in frame.groupby(["partner", "dataset", "measure", "unit"], dropna=False):
        unit = str(unit) if isinstance(unit, str) else "value"
        in_scope = rows[rows["area_level"].isin(["lsoa", "msoa", "ward", "district", "county"])]
        if in_scope.empty:
            continue
        window, same = _window(in_scope, first, last_end)
        label, years = _label(window), max(_years(window), 1e-9)
        key = f"{dataset}:{measure}"
        england_rows = rows[(rows["area_level"] == "country") & rows["period_label"].isin(window["period_label"])]
        england = float(england_rows["value"].mean()) if len(england_rows) and not _is_count(unit) else None
        count = _is_count(unit)
        base: dict[str, Any] = {"key": key, "title": str(measure), "agency": str(partner), "unit": unit,
                                "window": label, "same_period": same, "source": sources.get(str(dataset), ""),
                                "england": england}
        levels = set(window["area_level"])
        if "lsoa" in levels and count:
            lsoa = window[window["area_level"] == "lsoa"].dropna(subset=["lsoa21_code"])
            sums = lsoa.groupby("lsoa21_code")["value"].sum()
            # reports are published only where there were some: an LSOA of the scope absent is zero
            values = sums.reindex(places["lsoa"]["code"]).fillna(0.0) / years
            out.append(Measure(grain="lsoa", values=_per_1000(values, places["lsoa"]), **base))
        own = window[window["area_level"] == "district"]
        if len(own):
            current = own[own["area_code"] == own["district_code"]] if not count else own
            agg = current.groupby("district_code")["value"].sum() / years if count else \
                current.groupby("district_code")["value"].mean()
            values = agg.reindex(places["district"]["code"])
            out.append(Measure(grain="district", values=_per_1000(values, places["district"]) if count else values,
                               **base))
        elif count and levels & {"lsoa", "msoa", "ward"}:
            agg = window.dropna(subset=["district_code"]).groupby("district_code")["value"].sum() / years
            values = agg.reindex(places["district"]["code"]).fillna(0.0)
            lower = sorted(levels & {"lsoa", "msoa", "ward"})
            out.append(Measure(grain="district", values=_per_1000(values, places["district"]),
                               aggregated_from=", ".join(lower), **base))
        upper = window[(window["area_level"] == "county") |
                       ((window["area_level"] == "district") & (window["area_code"] == window["county_code"]))]
        if len(upper) and upper["county_code"].nunique() > 0 and "county" in levels:
            values = (upper.groupby("county_code")["value"].sum() / years if count
                      else upper.groupby("county_code")["value"].mean()).reindex(places["upper_tier"]["code"])
            out.append(Measure(grain="upper_tier", values=_per_1000(values, places["upper_tier"]) if count else values,
                               **base))
    return out


def _per_1000(values: pd.Series, places: pd.DataFrame) -> pd.Series:
    population = places.set_index("code")["population"].reindex(values.index)
    return values / population * 1000


def police_measures(lsoas: pd.DataFrame, years: float, harm_key: str, window: str,
                    places: dict[str, pd.DataFrame]) -> list[Measure]:
    """Crimes, ASB and harm per 1,000 residents a year, at every grain (added up from LSOAs)."""
    out = []
    frames = {"lsoa": lsoas.rename(columns={"lsoa21_code": "code"}),
              "district": lsoas.groupby("district_code", as_index=False).sum(numeric_only=True)
              .rename(columns={"district_code": "code"})}
    upper = district_counties()
    by_upper = lsoas.assign(code=lsoas["district_code"].map(lambda d: upper.get(d, d)))
    frames["upper_tier"] = by_upper.groupby("code", as_index=False).sum(numeric_only=True)
    columns = {"crime_rate": "crimes", "asb_rate": "asb", "harm_rate": f"harm_{harm_key}"}
    for grain, frame in frames.items():
        counts = frame.set_index("code")
        for key, column in columns.items():
            values = counts[column].astype(float) / years
            out.append(Measure(key=f"police:{key}", title=POLICE[key], agency="police", grain=grain,
                               values=_per_1000(values.reindex(places[grain]["code"]), places[grain]), unit="per 1,000 a year",
                               window=window, same_period=True, source="data.police.uk street-level crime"))
    return out


def place_tables(scope: Any) -> dict[str, pd.DataFrame]:
    """code, name, population of the scope's LSOAs, districts and upper-tier authorities."""
    lsoa = scope.lsoas.rename(columns={"lsoa21_code": "code", "lsoa_name": "name"})[["code", "name", "population",
                                                                                      "district_code"]]
    district = scope.districts.rename(columns={"district_code": "code", "district": "name"})[["code", "name", "population"]]
    upper = district_counties()
    tiers = district.assign(code=district["code"].map(lambda d: upper.get(d, d)))
    names = dict(zip(district["code"], district["name"], strict=True))
    tiers = tiers.groupby("code", as_index=False)["population"].sum()
    tiers["name"] = [names.get(c) or _upper_name(c) for c in tiers["code"]]
    return {"lsoa": lsoa.reset_index(drop=True), "district": district.reset_index(drop=True),
            "upper_tier": tiers[["code", "name", "population"]]}


def _upper_name(code: str) -> str:
    from thrv.sources.partner_areas import resolve

    place = resolve(code)
    return code if isinstance(place, str) else place.name


# -- scores, co-location, index ------------------------------------------------------------

def standardise(values: pd.Series) -> pd.Series:
    v = values.astype(float)
    sd = v.std(ddof=1)
    if not np.isfinite(sd) or sd == 0:
        return pd.Series(np.nan, index=v.index)
    return (v - v.mean()) / sd


def profile_table(measures: list[Measure], places: pd.DataFrame) -> pd.DataFrame:
    """One row per place: each measure's value, z-score and rank (1 = highest)."""
    out = places[["code", "name", "population"]].copy().set_index("code")
    for m in measures:
        out[f"{m.key}|value"] = m.values
        out[f"{m.key}|z"] = standardise(m.values)
        out[f"{m.key}|rank"] = m.values.rank(ascending=False, method="min")
    return out.reset_index()


def colocation(police: list[Measure], partners: list[Measure], centres: pd.DataFrame, places: pd.DataFrame,
               config: PlacesConfig) -> list[dict[str, Any]]:
    """Lee's L and bivariate local Moran for each police x partner pair of LSOA measures."""
    results = []
    base = places[["code", "name"]].merge(centres, left_on="code", right_on="lsoa_code", how="inner")
    for partner in partners:
        for pol in police:
            frame = base.assign(x=pol.values.reindex(base["code"]).to_numpy(),
                                y=partner.values.reindex(base["code"]).to_numpy()).dropna(subset=["x", "y"])
            if len(frame) < config.min_places or frame["x"].std() == 0 or frame["y"].std() == 0:
                continue
            w = knn_weights(frame["lat"], frame["lon"], config.knn)
            lee = lees_l(frame["x"], frame["y"], w, config.permutations, config.seed)
            local = local_moran_bv(frame["x"], frame["y"], w, config.permutations, config.seed)
            q = benjamini_hochberg(local.p_value)
            hh = (local.quadrant == 1) & (q < config.fdr_alpha)
            hot = frame.assign(local_i=local.local_i, q=q)[hh].sort_values("local_i", ascending=False)
            results.append({
                "police": pol.key, "police_title": pol.title, "partner": partner.key, "partner_title": partner.title,
                "agency": partner.agency, "places": len(frame), "partner_window": partner.window,
                "same_period": partner.same_period,
                "lees_l": lee.L, "lees_p": lee.p_value, "pearson_r": float(np.corrcoef(frame["x"], frame["y"])[0, 1]),
                "high_high": int(hh.sum()), "low_low": int(((local.quadrant == 3) & (q < config.fdr_alpha)).sum()),
                "places_high_high": [{"code": r.code, "name": r.name, "local_i": float(r.local_i), "q": float(r.q)}
                                     for r in hot.head(config.top).itertuples()],
                "method": f"{lee.method}; {local.method}; {config.knn}-nearest-neighbour weights on LSOA centres, "
                          f"{config.permutations} permutations (seed {config.seed}), Benjamini–Hochberg q < "
                          f"{config.fdr_alpha}",
            })
    return results


def correlations(police: list[Measure], partners: list[Measure]) -> list[dict[str, Any]]:
    out = []
    for partner in partners:
        for pol in police:
            frame = pd.DataFrame({"x": pol.values, "y": partner.values}).dropna()
            if len(frame) < 4 or frame["x"].nunique() < 2 or frame["y"].nunique() < 2:
                continue
            rho = stats.spearmanr(frame["x"], frame["y"])
            out.append({"police": pol.key, "partner": partner.key, "partner_title": partner.title,
                        "agency": partner.agency, "places": len(frame), "spearman_rho": float(rho.statistic),
                        "p": float(rho.pvalue), "partner_window": partner.window, "same_period": partner.same_period})
    return out


def _components(measures: list[Measure], config: PlacesConfig) -> list[tuple[IndexComponent, Measure]]:
    found = []
    for c in config.index:
        match = [m for m in measures if fnmatch.fnmatch(m.key.lower(), c.measure.lower())]
        if match:
            found.append((c, match[0]))
    return found


def need_index(measures: list[Measure], places: pd.DataFrame, config: PlacesConfig) -> dict[str, Any]:
    """Weighted mean of standardised scores over the components a grain has, with sensitivity."""
    parts = _components(measures, config)
    if len(parts) < 2:
        return {"available": False, "note": "fewer than two index components are held at this grain"}
    z = pd.DataFrame({m.key: standardise(m.values) for _, m in parts}).reindex(places["code"])
    weights = np.array([c.weight for c, _ in parts])
    complete = z.notna().all(axis=1) & z.notna().any(axis=1)
    zc = z[complete]
    if len(zc) < 2:
        return {"available": False, "note": "too few places have every component"}
    base = zc.to_numpy() @ weights / weights.sum()
    rank = pd.Series(base, index=zc.index).rank(ascending=False, method="min")
    rng = np.random.default_rng(config.seed)
    draws = weights * rng.uniform(1 - config.sensitivity_range, 1 + config.sensitivity_range,
                                  size=(config.sensitivity_draws, len(weights)))
    scores = zc.to_numpy() @ (draws / draws.sum(axis=1, keepdims=True)).T  # places x draws
    ranks = pd.DataFrame(scores, index=zc.index).rank(ascending=False, method="min")
    leave_out = []
    for j, (c, _m) in enumerate(parts):
        keep = np.arange(len(parts)) != j
        alt = zc.to_numpy()[:, keep] @ weights[keep] / weights[keep].sum()
        varies = len(base) > 2 and np.ptp(base) > 0 and np.ptp(alt) > 0
        rho = stats.spearmanr(base, alt).statistic if varies else float("nan")
        alt_rank = pd.Series(alt, index=zc.index).rank(ascending=False, method="min")
        leave_out.append({"component": c.name, "spearman_with_full_index": float(rho),
                          "top_place_unchanged": bool(alt_rank.idxmin() == rank.idxmin())})
    names = places.set_index("code")["name"]
    rows = []
    for code in rank.sort_values().index:
        position = int(np.flatnonzero(zc.index == code)[0])
        rows.append({"code": code, "name": names.get(code), "index": float(base[position]),
                     "rank": int(rank[code]), "rank_5pct": int(np.percentile(ranks.loc[code], 5)),
                     "rank_95pct": int(np.percentile(ranks.loc[code], 95)),
                     **{f"z|{m.key}": float(zc[m.key].iloc[position]) for _, m in parts}})
    top = rank.idxmin()
    return {
        "available": True,
        "components": [{"name": c.name, "measure": m.key, "title": m.title, "agency": m.agency, "weight": c.weight,
                        "window": m.window, "same_period": m.same_period} for c, m in parts],
        "not_held": [c.name for c in config.index if c not in {p for p, _ in parts}],
        "places": rows,
        "places_without_every_component": int((~complete).sum()),
        "sensitivity": {
            "method": f"each weight × U({1 - config.sensitivity_range:g}, {1 + config.sensitivity_range:g}), "
                      f"{config.sensitivity_draws} draws (seed {config.seed}); and each component left out",
            "top_place_share_of_draws": float((ranks.to_numpy()[list(zc.index).index(top)] == 1).mean()),
            "leave_one_out": leave_out,
        },
        "method": "weighted mean of z-scores (sample SD across the scope's places); weights from places.toml",
    }


# -- the section -------------------------------------------------------------------------

def same_places(con: Any, scope: Any, lsoas: pd.DataFrame, period: list[dt.date], harm_key: str,
                config: PlacesConfig | None = None) -> dict[str, Any]:
    """The assessment section: every partner measure beside police demand, place by place."""
    config = config or load_config()
    tables = set(con.list_tables())
    if "partner_measures" not in tables and "partner_incidents" not in tables:
        return {"available": False, "note": "No partner data is held: load partners' area measures or incident "
                                            "records with `thrv ingest FILE --partner NAME --mapping FILE` "
                                            "(docs/partner-data.md)."}
    first, last = min(period), max(period)
    last_end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    years = len(period) / 12
    places = place_tables(scope)
    counties = sorted(set(places["upper_tier"]["code"]))
    frame, sources = _partner_rows(con, tables, scope.district_codes, counties)
    police_window = f"{first:%Y-%m} to {last:%Y-%m}"
    police = police_measures(lsoas, years, harm_key, police_window, places)
    partners = [m for m in partner_measures(frame, first, last_end, places, sources)
                if int(m.values.notna().sum()) >= 2]  # one place is no comparison
    if not partners:
        return {"available": False, "note": f"Partner data is held, but none for {scope.name}'s places."}
    centres = pd.read_csv(REFERENCE / "partner" / "lsoa_centres.csv.gz")
    grains: dict[str, Any] = {}
    for grain in GRAINS:
        ms = [m for m in police + partners if m.grain == grain]
        partner_here = [m for m in ms if m.agency != "police"]
        if not partner_here:
            continue
        table = profile_table(ms, places[grain])
        grains[grain] = {
            "title": GRAIN_TITLES[grain], "places": len(places[grain]),
            "measures": [_describe(m) for m in ms],
            "table": _table_records(table, ms, config.top if grain == "lsoa" else None),
            "need_index": need_index(ms, places[grain], config),
        }
    lsoa_partner = [m for m in partners if m.grain == "lsoa"]
    lsoa_police = [m for m in police if m.grain == "lsoa" and m.key != "police:harm_rate"]
    district_partner = [m for m in partners if m.grain == "district"]
    district_police = [m for m in police if m.grain == "district"]
    colo = colocation(lsoa_police, lsoa_partner, centres, places["lsoa"], config)
    q_all: list[float] = list(benjamini_hochberg([c["lees_p"] for c in colo])) if colo else []
    for c, q in zip(colo, q_all, strict=True):
        c["lees_q"] = float(q)
    different = sorted({f"{m.agency} {m.title}: {m.window}" for m in partners if not m.same_period})
    return {
        "available": True,
        "police_period": police_window,
        "measures": [_describe(m) for m in partners],
        "grains": grains,
        "colocation": colo,
        "district_correlations": correlations(district_police, district_partner),
        "different_periods": different,
        "method": __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
        "caveats": _caveats(partners, different),
    }


def _partner_rows(con: Any, tables: set[str], districts: list[str], counties: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    frames = []
    if "partner_measures" in tables:
        t = con.table("partner_measures")
        t = t.filter(t.district_code.isin(districts) | t.county_code.isin(counties) | t.area_level.isin(["country"]))
        frames.append(t.select("partner", "dataset", "measure", "unit", "area_code", "area_level", "lsoa21_code",
                               "district_code", "county_code", "period_type", "period_start", "period_end",
                               "period_label", "value").to_pandas())
    if "partner_incidents" in tables:
        t = con.table("partner_incidents")
        t = t.filter(t.district_code.isin(districts))
        inc = t.group_by(["partner", "dataset", "category", "area_code", "area_level", "lsoa21_code", "district_code",
                          "county_code", "month"]).aggregate(value=t.count()).to_pandas()
        if len(inc):
            inc["month"] = pd.to_datetime(inc["month"])
            frames.append(pd.DataFrame({
                "partner": inc["partner"], "dataset": inc["dataset"],
                "measure": "incidents: " + inc["category"].fillna("all").astype(str), "unit": "count",
                "area_code": inc["area_code"], "area_level": inc["area_level"], "lsoa21_code": inc["lsoa21_code"],
                "district_code": inc["district_code"], "county_code": inc["county_code"], "period_type": "month",
                "period_start": inc["month"].dt.date, "period_end": (inc["month"] + pd.offsets.MonthEnd(0)).dt.date,
                "period_label": inc["month"].dt.strftime("%Y-%m"), "value": inc["value"].astype(float)}))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    sources: dict[str, str] = {}
    return frame, sources


def _describe(m: Measure) -> dict[str, Any]:
    held = m.values.notna()
    return {"key": m.key, "title": m.title, "agency": m.agency, "grain": m.grain, "unit": m.unit,
            "shown_as": "per 1,000 residents a year" if _is_count(m.unit) or m.agency == "police" else m.unit,
            "window": m.window, "same_period": m.same_period, "places_with_value": int(held.sum()),
            "aggregated_from": m.aggregated_from, "england": m.england,
            "mean": float(m.values.mean()) if held.any() else None}


def _table_records(table: pd.DataFrame, measures: list[Measure], top: int | None) -> list[dict[str, Any]]:
    rows = []
    order = table
    if top is not None:
        # LSOAs: those ranked highest on any partner measure, then on police crime
        partner_ranks = [f"{m.key}|rank" for m in measures if m.agency != "police"]
        order = table.assign(_best=table[partner_ranks].min(axis=1)).sort_values("_best").head(top)
    for r in order.to_dict("records"):
        rows.append({"code": r["code"], "name": r["name"], "population": r["population"],
                     "measures": {m.key: {"value": _f(r.get(f"{m.key}|value")), "z": _f(r.get(f"{m.key}|z")),
                                          "rank": _f(r.get(f"{m.key}|rank"))} for m in measures}})
    return rows


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _caveats(partners: list[Measure], different: list[str]) -> list[str]:
    notes = []
    if different:
        notes.append("Some partner measures do not cover the assessment period (listed); for them the section "
                     "compares where demand falls, not when.")
    if any(m.key.startswith("fixmystreet") for m in partners):
        notes.append("FixMyStreet counts are citizens' reports through one channel, not council-recorded incidents; "
                     "they depend on how many residents use it.")
    notes.append("A measure is never split to smaller places than it was published for; counts are only added up.")
    return notes
