"""Build the strategic assessment model: one JSON-able dict every output renders from.

Order matters only where one section feeds another: harm and trends feed the priority
measures; the top priorities choose the extra hot-spot map layers.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from typing import Any

import h3
import pandas as pd

from thrv import __version__
from thrv.assess import concentration as conc
from thrv.assess import hidden, hotspots, nearrepeat, priorities, query, scorecard, similar, trends
from thrv.assess.config import AssessConfig
from thrv.assess.gaps import cannot_compute, caveats
from thrv.assess.harm import (
    add_harm,
    harm_by_area_month,
    harm_by_type,
    harm_totals,
    load_schemes,
    scheme_agreement,
)
from thrv.assess.jsonable import jsonable, records
from thrv.assess.places import same_places
from thrv.assess.scope import Scope, resolve_scope
from thrv.assess.summary import summary
from thrv.assess.text import period_label
from thrv.assess.themes import lsoa_type_matrix, months_text, theme_measures
from thrv.assess.vulnerability import vulnerability


def _month(d: dt.date) -> dt.date:
    return dt.date(d.year, d.month, 1)


def build_assessment(store: Any, first: dt.date, last: dt.date, area: str | None = None,
                     config: AssessConfig | None = None) -> dict[str, Any]:
    """The needs assessment of ``area`` (a force as published, a configured area or a district;
    None = the force held, or every force held) over the months ``first``..``last``."""
    config = config or AssessConfig()
    first, last = _month(first), _month(last)
    if last < first:
        raise ValueError(f"--to ({last:%Y-%m}) is before --from ({first:%Y-%m})")
    con = store.ibis()
    scope = resolve_scope(con, area, config.areas_file)
    schemes = load_schemes(config.harm_schemes)
    matrix = priorities.load_matrix(config.priorities_file)
    cov = query.coverage(con, scope, first, last)
    held = trends.held_months(cov, scope.forces)
    period = [m for m in query.month_range(first, last) if m in held]
    if not period:
        store_first, store_last = query.months_held_in_store(con, scope.forces)
        held_text = "no months"
        if store_first and store_last:
            all_held = trends.held_months(query.coverage(con, scope, store_first, store_last, 0), scope.forces)
            gaps = [f"{m:%Y-%m}" for m in query.month_range(store_first, store_last) if m not in all_held]
            held_text = f"{store_first:%Y-%m} to {store_last:%Y-%m}" + (f" except {', '.join(gaps)}" if gaps else "")
        raise ValueError(f"the store holds no street-level records for {scope.name} in "
                         f"{period_label(first, last)}; it holds {held_text}")
    cube = add_harm(query.crime_cube(con, scope, first, last), schemes)
    records_ = cube[cube["month"].isin(period)]
    years = len(period) / 12.0
    points = add_harm(query.point_counts(con, scope, first, last), schemes)
    # places are the scope's own LSOAs: a force's few records placed outside its area would
    # stretch the grid and the maps far beyond it (they still count in the totals)
    points = points[points["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])].reset_index(drop=True)
    held_types = sorted(set(points["crime_type"].dropna().astype(str)))
    for wanted in config.hotspot_crime_types:  # refused before the long work, not after it
        crime_type_named(wanted, held_types)

    # harm
    by_type = harm_by_type(records_, schemes, scope.population, years)
    harm = {
        "schemes": [s.describe() for s in schemes],
        "totals": harm_totals(by_type, schemes, scope.population, years),
        "by_type": records(by_type),
        "agreement": scheme_agreement(by_type, schemes),
        "by_area_month": records(harm_by_area_month(records_, schemes, scope.districts, scope.name)),
    }

    # trends
    series = trends.build_series(cube, scope, cov, first, last)
    trend_table = trends.analyse(series, config)
    shares = trends.harm_share_changes(series, schemes, config)
    emerging = trends.emerging_issues(trend_table, shares, config)

    # places (LSOAs, districts, repeat locations)
    lsoas = conc.lsoa_counts(records_, scope, schemes)
    lsoa_rates = conc.add_rates(lsoas, schemes, years, config, "lsoa21_code")
    districts = conc.district_table(lsoas, scope, schemes, years, config)
    persistent, persistent_note = conc.persistent_hot(records_, scope, period, config)
    by_lsoa_type = lsoa_type_matrix(records_, scope.lsoas["lsoa21_code"].tolist())
    repeat = conc.repeat_locations(points, schemes, config, scope) if len(points) else {"points": 0}

    # vulnerability and priorities
    vuln = vulnerability(con, scope, period, config, schemes)
    measures, per_scheme, skipped = theme_measures(matrix, by_type, series, by_lsoa_type, schemes, vuln, config)
    ranked = _priorities(matrix, measures, per_scheme, config)
    for row in ranked["priorities"]:
        # a theme measured from a force extract whose rows are simulated says so wherever it is shown
        row["generated_data"] = bool((row.get("inputs") or {}).get("flag")) and bool(vuln.get("generated_rows"))

    # hot spots, with the top crime-type priorities as extra layers
    # the study region: every hexagon of the area's LSOAs seen in any month held, zeros included
    region = query.point_counts(con, scope, *query.months_held_in_store(con, scope.forces))  # type: ignore[arg-type]
    region = region[region["lsoa21_code"].isin(scope.lsoas["lsoa21_code"])]
    grid_section, cells = _hotspots(points, scope, schemes, matrix, ranked, config, region)
    lsoa_centres = _lsoa_centres(points)

    model: dict[str, Any] = {
        "meta": _meta(scope, first, last, period, config, matrix, con),
        "priorities": ranked["priorities"],
        "priorities_not_assessed": skipped,
        "sensitivity": ranked["sensitivity"],
        "harm": harm,
        "trends": {
            "method": trends.METHOD,
            "series": records(trend_table),
            "harm_share_changes": records(shares),
            "emerging": emerging,
            "monthly": {
                "months": months_text(series.months),
                "held": [bool(h) for h in series.held],
                "in_period": [bool(x) for x in series.in_period],
                "series": [{"level": k.level, "area": k.area, "theme": k.theme, "values": list(series.counts[i])}
                           for i, k in enumerate(series.keys.itertuples(index=False))],
            },
        },
        "places": {
            "hotspots": grid_section,
            "hex_cells": records(_compact_cells(cells)),
            "concentration": {
                "lsoa": {
                    "crimes": conc.concentration_summary(lsoas["crimes"].to_numpy(float), config.top_fractions),
                    **{f"harm_{s.key}": conc.concentration_summary(lsoas[f"harm_{s.key}"].to_numpy(float),
                                                                    config.top_fractions, counts=False) for s in schemes},
                },
                "hexagons": conc.concentration_summary(cells["crimes"].to_numpy(float), config.top_fractions) if len(cells) else {},
                "by_type": records(conc.type_concentration(by_lsoa_type)),
                "method": "Gini over places including those with none (Bernasco & Steenbeek 2017 generalised Gini for "
                          "counts: compared with the most equal spread the count allows); top x% share interpolated along "
                          "the Lorenz curve.",
            },
            "rates": {"method": conc.RATE_METHOD, "test": conc.RATE_TEST, "lsoa": records(lsoa_rates),
                      "district": records(districts), "lsoa_centres": records(lsoa_centres)},
            "persistent": {"note": persistent_note, "lsoas": records(persistent)},
            "repeat_locations": repeat,
        },
        "vulnerability": vuln,
    }
    model["same_places"] = same_places(con, scope, lsoas, period, schemes[0].key)  # partner data (thrv.assess.places)
    # near repeats, similar areas, hidden harm and the scorecard of earlier calls (each its own module)
    model["near_repeat"] = nearrepeat.section(con, scope, first, last, config.near_repeat_file)
    model["similar"] = similar.section(con, scope, period, config.similar_file)
    model["hidden_harm"] = hidden.indicators(con, scope, period, model, config.confidence)
    model["scorecard"] = scorecard.build(con, scope, first, last, schemes, matrix, config, model)
    model["cannot_compute"] = cannot_compute(model, period, config)
    model["data_gaps"] = caveats(model, scope, schemes)
    model["summary"] = summary(model, config)
    return jsonable(model)


def _priorities(matrix: priorities.Matrix, measures: dict[str, Any], per_scheme: dict[str, Any],
                config: AssessConfig) -> dict[str, Any]:
    rows = priorities.score_themes(matrix, measures)
    sens = priorities.sensitivity(matrix, measures, config.sensitivity)
    by_scheme = {key: {r["theme"]: r["rank"] for r in priorities.score_themes(matrix, priorities.with_harm(measures, h))}
                 for key, h in per_scheme.items()}
    themes = {t.name: t for t in matrix.themes}
    out = []
    for r in rows:
        theme = themes[r["theme"]]
        m = measures[r["theme"]]
        entry = dict(r)
        entry["rank_by_harm_scheme"] = {k: v.get(r["theme"]) for k, v in by_scheme.items()}
        entry["rank_range_sensitivity"] = sens["rank_range"].get(r["theme"])
        entry["why"] = priorities.explain(theme, r, m, matrix) if r["score"] is not None else "Not enough data to score."
        entry["inputs"] = priorities.inputs(theme, m, matrix)
        out.append(entry)
    return {"priorities": out, "sensitivity": sens}


def _hotspots(points: pd.DataFrame, scope: Scope, schemes: list[Any], matrix: priorities.Matrix,
              ranked: dict[str, Any], config: AssessConfig, region: pd.DataFrame | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    themes = {t.name: t for t in matrix.themes}
    layers: dict[str, tuple[str, ...]] = {}
    titles = {"crimes": "All crime (excluding ASB)", **{f"harm_{s.key}": f"Harm ({s.name})" for s in schemes}}
    held = sorted(set(points["crime_type"].dropna().astype(str))) if len(points) else []
    for wanted in config.hotspot_crime_types:
        name = crime_type_named(wanted, held)
        column = "type_" + "".join(ch if ch.isalnum() else "_" for ch in name.lower())
        layers[column] = (name,)
        titles[column] = name
    for p in ranked["priorities"]:
        theme = themes[p["theme"]]
        if theme.crime_types and len(layers) < config.map_layers + len(config.hotspot_crime_types):
            column = "theme_" + "".join(ch if ch.isalnum() else "_" for ch in theme.name.lower())
            layers[column] = theme.crime_types
            titles[column] = theme.name
    base = {"method": hotspots.METHOD.format(permutations=config.gi_permutations), "resolution": config.h3_resolution,
            "hexagon_area_km2": h3.average_hexagon_area(config.h3_resolution, "km^2"),
            "hexagon_edge_m": h3.average_hexagon_edge_length(config.h3_resolution, "m"),
            "fdr_alpha": config.fdr_alpha}
    if points.empty:
        return {**base, "layers": [], "note": "No records with a map location in the period."}, pd.DataFrame()
    grid = hotspots.build_grid(points, scope, schemes, layers, config.h3_resolution, region=region)
    cells, summaries = hotspots.hotspot_layers(grid, titles, schemes, config)
    return {**base, "layers": summaries, "study_region": hotspots.STUDY_REGION}, cells


def crime_type_named(wanted: str, held: Sequence[str]) -> str:
    """The crime type held in the period that ``wanted`` names (any case), else a ValueError
    with the closest names, so a misspelt type is refused rather than mapped as empty."""
    lowered = {h.lower(): h for h in held}
    if wanted.strip().lower() in lowered:
        return lowered[wanted.strip().lower()]
    close = difflib.get_close_matches(wanted.strip().lower(), list(lowered), n=3, cutoff=0.5)
    close += [lc for lc in lowered if wanted.strip().lower() in lc and lc not in close]
    text = f"--hotspots-for {wanted!r} is not a crime type with mapped records in the period"
    if close:
        hint = "; did you mean " + ", ".join(repr(lowered[c]) for c in close[:3]) + "?"
        raise ValueError(text + hint)
    raise ValueError(text + ("; held: " + ", ".join(held) if held else ""))


def _compact_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """The hexagon table, rounded (coordinates to about a metre, z and q to 5 dp) to keep the JSON small."""
    if cells.empty:
        return cells
    drop = [c for c in ("lsoa21_code", "district_code") if c in cells.columns]
    out = cells.drop(columns=drop).copy()
    for c in out.columns:
        if c in {"lat", "lon"}:
            out[c] = out[c].round(5)
        elif c.endswith(("_z", "_q")):
            out[c] = out[c].astype(float).round(5)
    return out


def _lsoa_centres(points: pd.DataFrame) -> pd.DataFrame:
    """Record-weighted mean of each LSOA's snapped points: where to draw it on a map."""
    if points.empty:
        return pd.DataFrame(columns=["lsoa21_code", "lat", "lon"])
    p = points.dropna(subset=["lsoa21_code"])
    w = p["n"].to_numpy(float)
    g = p.assign(_wlat=p["latitude"] * w, _wlon=p["longitude"] * w).groupby("lsoa21_code")[["_wlat", "_wlon", "n"]].sum()
    return pd.DataFrame({"lsoa21_code": g.index, "lat": g["_wlat"] / g["n"], "lon": g["_wlon"] / g["n"]}).reset_index(drop=True)


def _meta(scope: Scope, first: dt.date, last: dt.date, period: list[dt.date], config: AssessConfig,
          matrix: priorities.Matrix, con: Any) -> dict[str, Any]:
    wanted = query.month_range(first, last)
    store_first, store_last = query.months_held_in_store(con, scope.forces)
    return {
        "title": f"Strategic assessment: {scope.title}",
        "thrv_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scope": {"level": scope.level, "name": scope.name, "forces": list(scope.forces),
                  "districts": scope.districts["district"].tolist(), "population": scope.population,
                  "lsoas": len(scope.lsoas),
                  "population_source": "ONS Census 2021 usual residents (2024 districts, 2021 LSOAs)"},
        "period": {"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}", "label": period_label(first, last),
                   "months_requested": len(wanted), "months_held": len(period),
                   "months_missing": [f"{m:%Y-%m}" for m in wanted if m not in set(period)],
                   "years": len(period) / 12},
        "store": {"first_month": f"{store_first:%Y-%m}" if store_first else None,
                  "last_month": f"{store_last:%Y-%m}" if store_last else None},
        "config": {
            "harm_schemes": [p.name for p in config.harm_schemes],
            "priorities_file": str(config.priorities_file.name), "priorities_matrix": f"{matrix.name} (version {matrix.version})",
            "h3_resolution": config.h3_resolution, "fdr_alpha": config.fdr_alpha, "confidence": config.confidence,
            "recent_months": config.recent_months, "signal_months": config.signal_months,
            "hot_share": config.hot_share, "persistent_share": config.persistent_share,
            "min_rise_pct": config.min_rise_pct, "harm_share_min_points": config.harm_share_min_points,
            "sensitivity": config.sensitivity, "top_fractions": list(config.top_fractions),
        },
        "sources": "data.police.uk street-level crime (Open Government Licence v3.0); ONS lookups and Census 2021 "
                   "populations; harm weights as listed",
    }


__all__ = ["build_assessment"]
