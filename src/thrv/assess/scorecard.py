"""Scorecard of thrv's own past calls: did the hot spots, emerging issues and priorities hold?

Predictive tools that never report their own hit rate cannot be trusted with deployment.
For each earlier *call* — the assessment thrv would have produced at the end of an earlier
month, with the same method, settings and length of period, on the months the store held
then — the calls are scored against the months that followed:

* **Hot spots** (Gi*, all crime, :mod:`thrv.assess.hotspots`): *hit rate* — the share of the
  next period's crime inside the hexagons called hot; *PAI*, the predictive accuracy index
  (Chainey, Tompson and Uhlig 2008) — hit rate ÷ the share of the area they cover; *PEI*, the
  predictive efficiency index (Hunt 2016's PEI*) — the crimes caught ÷ the most any set of as
  many hexagons could have caught (1 = the best possible). Beside them, the same figures
  for the naive call "the busiest hexagons of the period, as many as Gi* flagged", the
  benchmark a hot-spot method has to beat.
* **Emerging issues** (:mod:`thrv.assess.trends`, force or district level): *persistence* —
  the share still flagged at the next call; *rise held* — the share whose next months
  exceeded the same months a year earlier.
* **Priorities** (:mod:`thrv.assess.priorities`): *rank stability* between one call's ranking
  and the next — Spearman's ρ and Kendall's τ over the themes ranked in both, and how many
  of the top five stayed in the top five.
* **Forecasts** (:mod:`thrv.demand.forecast`): the out-of-sample coverage of the published
  80% and 95% intervals in the rolling-origin backtest of the area's monthly crime series.

Calls are made every ``scorecard_months`` months back from the end of the period, each
scored on the ``scorecard_months`` months after it, while the call would have had at least
``scorecard_min_months`` months of history. A short store gives few calls, and says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import h3
import numpy as np
import pandas as pd
from ibis import _
from scipy import stats

from thrv.assess import hotspots, priorities, query, trends
from thrv.assess.config import AssessConfig
from thrv.assess.harm import ASB, HarmScheme, add_harm, harm_by_type
from thrv.assess.scope import Scope
from thrv.assess.text import month_label, period_label
from thrv.assess.themes import lsoa_type_matrix, theme_measures

METHOD = ("Each earlier call is the assessment thrv would have made at the end of that month (same method, "
          "settings and period length, on the months then held), scored on the months after it. Hot spots: hit "
          "rate (share of the next period's crime in the hexagons called hot), PAI (hit rate ÷ share of area) and "
          "PEI (crimes caught ÷ the most as many hexagons could catch), beside the naive call of the busiest "
          "hexagons. Emerging issues: share still flagged at the next call, and share whose next months exceeded "
          "the same months a year earlier. Priorities: Spearman's ρ and Kendall's τ between consecutive rankings, "
          "and the top five kept. Forecasts: out-of-sample coverage of the 80% and 95% intervals in the "
          "rolling-origin backtest.")
TOP = 5


# -- the measures, as pure functions (tested against hand computations) ------------------


def hotspot_scores(hot: np.ndarray, next_counts: np.ndarray, areas: np.ndarray | None = None) -> dict[str, float | None]:
    """Hit rate (%), PAI and PEI of the hexagons called hot, on the next period's counts.

    PAI = (n / N) / (a / A): n crimes caught of N, in area a of A. PEI = n / n*, n* the most
    crimes as many hexagons as were called could have caught (the next period's busiest).
    """
    hot = np.asarray(hot, dtype=bool)
    y = np.asarray(next_counts, dtype=float)
    a = np.ones(len(y)) if areas is None else np.asarray(areas, dtype=float)
    n_total, k = float(y.sum()), int(hot.sum())
    out: dict[str, float | None] = {"hexagons": float(k), "area_share_pct": float(a[hot].sum() / a.sum() * 100) if a.sum() else None,
                                    "crimes_next": n_total, "caught": float(y[hot].sum())}
    if k == 0 or n_total == 0:
        out.update({"hit_rate_pct": None, "pai": None, "pei": None})
        return out
    hit = float(y[hot].sum()) / n_total
    share = float(a[hot].sum() / a.sum())
    best = float(np.sort(y)[::-1][:k].sum())
    out.update({"hit_rate_pct": hit * 100, "pai": hit / share if share > 0 else None, "pei": float(y[hot].sum()) / best if best > 0 else None})
    return out


def busiest(counts: np.ndarray, k: int) -> np.ndarray:
    """The naive call: the k busiest hexagons of the period (ties to the earlier hexagon)."""
    x = np.asarray(counts, dtype=float)
    out = np.zeros(len(x), dtype=bool)
    if k > 0:
        out[np.lexsort((np.arange(len(x)), -x))[:k]] = True
    return out


def rank_stability(before: dict[str, int], after: dict[str, int], top: int = TOP) -> dict[str, float | int | None]:
    """Spearman's ρ and Kendall's τ (τ-b) between two rankings over the themes in both, and
    how many of the first ranking's top ``top`` are in the second's top ``top``."""
    common = sorted(set(before) & set(after))
    out: dict[str, float | int | None] = {"themes": len(common), "spearman_rho": None, "kendall_tau": None,
                                          "top_kept": None, "top": top}
    if len(common) >= 3:
        a = [before[t] for t in common]
        b = [after[t] for t in common]
        rho = stats.spearmanr(a, b).statistic
        tau = stats.kendalltau(a, b).statistic
        out["spearman_rho"] = None if not np.isfinite(rho) else float(rho)
        out["kendall_tau"] = None if not np.isfinite(tau) else float(tau)
    first = {t for t, r in before.items() if r <= top}
    second = {t for t, r in after.items() if r <= top}
    out["top_kept"] = len(first & second) if first else None
    return out


def call_origins(held: Sequence[dt.date], last: dt.date, step: int, min_months: int) -> list[dt.date]:
    """Origins last − step, last − 2·step, … (earliest first) with at least ``min_months`` held
    months up to the origin and every month of the following ``step`` held."""
    held_set = set(held)
    out = []
    k = 1
    while True:
        origin = query.add_months(last, -step * k)
        if not held or origin < min(held):
            break
        history = [m for m in held if m <= origin]
        after = [query.add_months(origin, i) for i in range(1, step + 1)]
        if len(history) >= min_months and all(m in held_set for m in after):
            out.append(origin)
        k += 1
    return sorted(out)


# -- the calls -----------------------------------------------------------------------------


def _hex_months(con: Any, scope: Scope, first: dt.date, last: dt.date, cells: list[str], resolution: int) -> tuple[np.ndarray, list[dt.date]]:
    """Crimes (excluding ASB) per hexagon of the study region (rows) and month (columns)."""
    t = query.scoped_records(con, scope, first, last)
    t = t.filter(t.latitude.notnull() & t.longitude.notnull() & (t.crime_type != ASB)
                 & t.district_code.isin(scope.district_codes))
    pts = t.group_by(["latitude", "longitude", "month"]).aggregate(n=_.count()).to_pandas()
    months = query.month_range(first, last)
    out = np.zeros((len(cells), len(months)))
    if pts.empty:
        return out, months
    pts["month"] = pd.to_datetime(pts["month"]).dt.date
    pts["cell"] = hotspots.assign_cells(pts, resolution).to_numpy()
    index = {c: i for i, c in enumerate(cells)}
    col = {m: j for j, m in enumerate(months)}
    rows = pts["cell"].map(index)
    ok = rows.notna().to_numpy()
    np.add.at(out, (rows[ok].astype(int).to_numpy(), pts.loc[ok, "month"].map(col).to_numpy(int)), pts.loc[ok, "n"].to_numpy(float))
    return out, months


def _hot(grid_cells: list[str], weights: Any, x: np.ndarray, resolution: int, config: AssessConfig) -> np.ndarray:
    grid = hotspots.Grid(pd.DataFrame({"cell": grid_cells, "crimes": x}), weights, resolution)
    res = hotspots.gi_layer(grid, "crimes", config.fdr_alpha, config.gi_permutations, config.gi_seed)
    return res["class"].astype(str).str.startswith("hot").to_numpy()


def _call(cube: pd.DataFrame, cov: pd.DataFrame, scope: Scope, first: dt.date, origin: dt.date,
          schemes: Sequence[HarmScheme], matrix: priorities.Matrix, config: AssessConfig,
          vuln: dict[str, Any]) -> tuple[list[str], dict[str, int], pd.DataFrame]:
    """The emerging issues (themes, scope level) and the priority ranking thrv would have given."""
    level_scope = replace(scope, districts=scope.districts.iloc[0:0])  # scope-level series only
    series = trends.build_series(cube, level_scope, cov, first, origin)
    table = trends.analyse(series, config)
    shares = trends.harm_share_changes(series, schemes, config)
    emerging = [str(e["theme"]) for e in trends.emerging_issues(table, shares, config) if e["level"] == "scope"]
    period = series.period_months()
    records = cube[cube["month"].isin(period)]
    by_type = harm_by_type(records, schemes, scope.population, len(period) / 12.0)
    by_lsoa_type = lsoa_type_matrix(records, scope.lsoas["lsoa21_code"].tolist())
    measures, _per, _skipped = theme_measures(matrix, by_type, series, by_lsoa_type, schemes, vuln, config)
    ranked = priorities.score_themes(matrix, measures)
    return emerging, {r["theme"]: int(r["rank"]) for r in ranked if r["score"] is not None}, table


def _fmt(v: Any, dp: int = 2, suffix: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v):,.{dp}f}{suffix}"


def build(con: Any, scope: Scope, first: dt.date, last: dt.date, schemes: Sequence[HarmScheme],
          matrix: priorities.Matrix, config: AssessConfig, model: dict[str, Any]) -> dict[str, Any]:
    """The scorecard section of an assessment (``model`` is the assessment built so far)."""
    from thrv.assess.vulnerability import vulnerability

    step, min_months = config.scorecard_months, config.scorecard_min_months
    store_first, _store_last = query.months_held_in_store(con, scope.forces)
    base: dict[str, Any] = {"method": METHOD, "step_months": step, "min_history_months": min_months,
                            "level": "scope", "calls": [], "table": [], "notes": []}
    if store_first is None:
        base["notes"].append("The store holds no months for this area.")
        return base
    cov = query.coverage(con, scope, store_first, last, 0)
    held = sorted(m for m in trends.held_months(cov, scope.forces) if m <= last)
    length = len([m for m in query.month_range(first, last) if m in set(held)])
    origins = call_origins(held, last, step, min_months)
    base["store_months"] = len(held)
    cube = add_harm(query.crime_cube(con, scope, store_first, last, 0), schemes)
    base["forecast"] = _forecast_coverage(cube, held, scope, model, last)
    if not origins:
        base["notes"].append(
            f"The store holds {len(held)} month(s) up to {month_label(last)}; scoring a call needs at least {min_months} "
            f"months to make it and {step} more to score it ({min_months + step} in all), so no earlier call can be scored yet.")
        base["table"] = _table([], base["forecast"])
        base["headline"] = _headline([], base["forecast"], step)
        return base

    region = [str(c["cell"]) for c in model["places"].get("hex_cells", [])]
    weights = hotspots.neighbour_matrix(region)
    counts, months = _hex_months(con, scope, store_first, last, region, config.h3_resolution)
    col = {m: j for j, m in enumerate(months)}
    areas = np.array([h3.cell_area(c, "km^2") for c in region]) if region else np.zeros(0)
    calls: list[dict[str, Any]] = []
    for origin in origins:
        window = [m for m in held if query.add_months(origin, -length + 1) <= m <= origin]
        after = [query.add_months(origin, i) for i in range(1, step + 1)]
        call_first = window[0]
        # without a force extract the answer is the same for every window: not asked again
        vuln = vulnerability(con, scope, window, config, schemes) if model["vulnerability"].get("available") else model["vulnerability"]
        emerging, ranking, table = _call(cube, cov, scope, call_first, origin, schemes, matrix, config, vuln)
        entry: dict[str, Any] = {"origin": f"{origin:%Y-%m}", "label": month_label(origin),
                                 "window": period_label(window[0], window[-1]), "months_held": len(window),
                                 "scored_on": period_label(after[0], after[-1]), "emerging": emerging, "ranking": ranking}
        if len(region) >= 3:
            x = counts[:, [col[m] for m in window]].sum(axis=1)
            y = counts[:, [col[m] for m in after]].sum(axis=1)
            hot = _hot(region, weights, x, config.h3_resolution, config)
            entry["hotspots"] = {**hotspot_scores(hot, y, areas), "hot_cells": [region[i] for i in np.flatnonzero(hot)]}
            entry["naive"] = hotspot_scores(busiest(x, int(hot.sum())), y, areas)
            entry["_hot"] = hot
        entry["rise_held"] = _rise_held(cube, emerging, after, set(held))
        entry["compared_a_year_earlier"] = bool(len(table) and int(table["recent_months"].iloc[0]) > 0)
        calls.append(entry)
    current = _current(model)
    for i, c in enumerate(calls):
        nxt = calls[i + 1] if i + 1 < len(calls) else current
        c["next_call"] = nxt["label"]
        flagged = set(c["emerging"])
        c["persistence"] = {"flagged": len(flagged), "still_flagged": len(flagged & set(nxt["emerging"])),
                            "share_pct": len(flagged & set(nxt["emerging"])) / len(flagged) * 100 if flagged else None}
        c["rank_stability"] = rank_stability(c["ranking"], nxt["ranking"])
        if "_hot" in c:
            hot_next = nxt.get("_hot")
            c["hot_still_hot"] = (int((c["_hot"] & hot_next).sum()) if hot_next is not None and len(hot_next) == len(c["_hot"]) else None)
    for c in calls:
        c.pop("_hot", None)
    base["calls"] = calls
    base["current"] = {k: v for k, v in current.items() if k != "_hot"}
    base["table"] = _table(calls, base["forecast"])
    if len(calls) < 3:
        base["notes"].append(
            f"Only {len(calls)} earlier call(s) could be scored from the {len(held)} months held: read these figures as "
            "an early indication, not an established hit rate.")
    short = [c["label"] for c in calls if c["months_held"] < length]
    if short:
        base["notes"].append(f"The calls of {', '.join(short)} rest on fewer months than this assessment's {length} "
                             "(the store held no more then), so their trend tests had less to go on.")
    no_year = [c["label"] for c in calls if not c["compared_a_year_earlier"]]
    if no_year:
        base["notes"].append(f"At {', '.join(no_year)} the store held no same months a year earlier, so only a long-term "
                             "trend or an SPC signal could flag an emerging issue then.")
    base["headline"] = _headline(calls, base["forecast"], step)
    return base


def _headline(calls: list[dict[str, Any]], forecast: dict[str, Any], step: int) -> list[str]:
    """A sentence per kind of call: what the scores say, plainly."""
    out = []
    scored = [c for c in calls if (c.get("hotspots") or {}).get("pai") is not None]
    if scored:
        hit = [c["hotspots"]["hit_rate_pct"] for c in scored]
        area = [c["hotspots"]["area_share_pct"] for c in scored]
        pai = [c["hotspots"]["pai"] for c in scored]
        naive = [c["naive"]["pai"] for c in scored if (c.get("naive") or {}).get("pai") is not None]
        text = (f"Hot spots called at {len(scored)} earlier point(s) held {min(hit):.0f}–{max(hit):.0f}% of the next {step} "
                f"months' crime in {min(area):.1f}–{max(area):.1f}% of the area (PAI {min(pai):.1f}–{max(pai):.1f}).")
        if naive:
            better = sum(p > q for p, q in zip(pai, naive, strict=False))
            text += (f" Simply taking the busiest hexagons did {'better' if better == 0 else 'worse' if better == len(naive) else 'about as well'}"
                     f" (PAI {min(naive):.1f}–{max(naive):.1f}): Gi* finds clusters, not the single busiest places.")
        out.append(text)
    flagged = [c for c in calls if c.get("persistence", {}).get("flagged")]
    if flagged:
        n = sum(c["persistence"]["flagged"] for c in flagged)
        k = sum(c["persistence"]["still_flagged"] for c in flagged)
        out.append(f"Of {n} emerging issue(s) flagged at earlier calls, {k} were still flagged {step} months later.")
    elif calls:
        out.append("No emerging issue was flagged at the earlier calls, so their persistence cannot be scored.")
    taus = [c["rank_stability"]["kendall_tau"] for c in calls if (c.get("rank_stability") or {}).get("kendall_tau") is not None]
    if taus:
        out.append(f"Priority rankings were {'stable' if min(taus) >= 0.7 else 'fairly stable' if min(taus) >= 0.4 else 'unstable'} "
                   f"from one call to the next (Kendall's τ {min(taus):.2f}–{max(taus):.2f}).")
    cov = forecast.get("coverage") if forecast.get("available") else None
    if cov:
        out.append(f"Forecast intervals, out of sample: the 80% intervals covered {cov['coverage80'] * 100:.0f}% "
                   f"({cov['verdict80']}), the 95% intervals {cov['coverage95'] * 100:.0f}% ({cov['verdict95']}).")
    return out


def _current(model: dict[str, Any]) -> dict[str, Any]:
    """This assessment's own calls, as the last earlier call is scored against them."""
    em = [str(e["theme"]) for e in model["trends"]["emerging"] if e["level"] == "scope"]
    ranking = {str(p["theme"]): int(p["rank"]) for p in model["priorities"] if p.get("score") is not None}
    cells = model["places"].get("hex_cells", [])
    hot = np.array([str(c.get("crimes_class", "")).startswith("hot") for c in cells], dtype=bool) if cells else None
    return {"label": "this assessment", "emerging": em, "ranking": ranking, "_hot": hot}


def _rise_held(cube: pd.DataFrame, themes: Sequence[str], after: Sequence[dt.date], held: set[dt.date]) -> dict[str, Any]:
    """For each flagged theme: the next months' crimes against the same months a year earlier."""
    before = [query.add_months(m, -12) for m in after]
    if not themes or not all(m in held for m in before):
        return {"tested": 0, "held": 0, "share_pct": None, "themes": [],
                "note": "the same months a year earlier are not held" if themes else ""}
    rows = []
    crimes = cube[cube["crime_type"] != ASB]
    for theme in themes:
        sel = crimes if theme == trends.ALL_CRIME else cube[cube["crime_type"] == theme]
        a = float(sel[sel["month"].isin(list(after))]["n"].sum())
        b = float(sel[sel["month"].isin(before)]["n"].sum())
        rows.append({"theme": theme, "next": a, "year_before": b, "ratio": a / b if b else None, "held": a > b})
    n_held = sum(bool(r["held"]) for r in rows)
    return {"tested": len(rows), "held": n_held, "share_pct": n_held / len(rows) * 100, "themes": rows, "note": ""}


def _last_run(months: list[dt.date]) -> list[dt.date]:
    """The last run of consecutive months (as thrv forecast uses: months before a gap are left out)."""
    run = months[-1:]
    for m in reversed(months[:-1]):
        if query.add_months(m, 1) != run[0]:
            break
        run.insert(0, m)
    return run


def _forecast_coverage(cube: pd.DataFrame | None, held: Sequence[dt.date], scope: Scope, model: dict[str, Any],
                       last: dt.date) -> dict[str, Any]:
    """Out-of-sample interval coverage of the area's crime forecasts, by thrv.demand.forecast's
    backtest, on monthly series of all crime and the top three priorities (from ``cube``)."""
    from thrv.demand import forecast as fc

    if scope.level not in {"force", "district"} or cube is None:
        return {"available": False, "note": f"Forecasts are made for a force or a district, not for {scope.name}."}
    run = _last_run(sorted(m for m in held if m <= last))
    if len(run) < fc.MIN_TRAIN:
        return {"available": False, "note": f"{len(run)} consecutive month(s) held up to {month_label(last)}: too short to "
                f"backtest a forecast ({fc.MIN_TRAIN} needed)."}
    top = [str(p["theme"]) for p in model["priorities"][:3] if p["theme"] in set(cube["crime_type"])]
    series = {trends.ALL_CRIME: cube[cube["crime_type"] != ASB], **{t: cube[cube["crime_type"] == t] for t in top}}
    frames, keys = [], []
    for name, rows in series.items():
        y = rows.groupby("month")["n"].sum().reindex(run, fill_value=0)
        uid = f"crimes|{scope.level}|{scope.name}|{name}"
        frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.to_datetime(run), "y": y.to_numpy(float)}))
        keys.append({"unique_id": uid, "stream": "crimes", "level": "force" if scope.level == "force" else "district",
                     "force": scope.forces[0], "area": scope.name, "category": name, "months": len(run), "generated": False})
    history, key_frame = pd.concat(frames, ignore_index=True), pd.DataFrame(keys)
    long, plans = fc.backtest(history, key_frame, 12, with_arima=False)
    table = fc.score_backtest(long, history, plans) if not long.empty else pd.DataFrame()
    if table.empty:
        return {"available": False, "note": "The backtest produced no forecasts."}
    table = table.merge(key_frame.drop(columns=["months"]), on="unique_id")
    summary = [r for r in fc.calibration_summary(table) if r["stream"] == "all streams"]
    chosen = table[table["chosen"]]
    return {
        "available": True, "series": list(series), "points": int(chosen["points_published"].sum()),
        "origins": int(plans["origins"].max()) if len(plans) else 0,
        "horizon": int(plans["backtest_horizon"].max()) if len(plans) else 0,
        "coverage": summary[0] if summary else None,
        "note": ("thrv forecast's rolling-origin backtest (seasonal naive, ETS, Theta; the model published only where "
                 "choosing one beat seasonal naive out of sample) of monthly all crime and the top three priorities' "
                 "types; backtest points overlap, so the intervals on coverage are narrower than they should be."),
    }


def _table(calls: list[dict[str, Any]], forecast: dict[str, Any]) -> list[dict[str, Any]]:
    """The one table of the scorecard: a row per measure, a column per call."""
    def row(measure: str, what: str, values: list[str]) -> dict[str, Any]:
        return {"measure": measure, "what": what, "values": values}

    def hs(c: dict[str, Any], key: str, field: str, dp: int, suffix: str = "") -> str:
        return _fmt((c.get(key) or {}).get(field), dp, suffix)

    rows = [
        row("Hot spots called", "hexagons Gi* called hot (all crime)", [hs(c, "hotspots", "hexagons", 0) for c in calls]),
        row("Hit rate", "share of the next months' crime in them", [hs(c, "hotspots", "hit_rate_pct", 1, "%") for c in calls]),
        row("PAI", "hit rate ÷ share of area (1 = no better than chance)", [hs(c, "hotspots", "pai", 2) for c in calls]),
        row("PEI", "crimes caught ÷ most possible in as many hexagons (1 = best)", [hs(c, "hotspots", "pei", 2) for c in calls]),
        row("PAI of the naive call", "the period's busiest hexagons, as many", [hs(c, "naive", "pai", 2) for c in calls]),
        row("Emerging issues", "flagged at force or district level", [str(len(c["emerging"])) for c in calls]),
        row("Still flagged", "at the next call", [f"{c['persistence']['still_flagged']} of {c['persistence']['flagged']}"
                                                 if c.get("persistence", {}).get("flagged") else "–" for c in calls]),
        row("Rise held", "next months above the same months a year earlier",
            [f"{c['rise_held']['held']} of {c['rise_held']['tested']}" if c["rise_held"]["tested"] else "–" for c in calls]),
        row("Priority ranks: Spearman ρ", "against the next call's ranking", [_fmt((c.get("rank_stability") or {}).get("spearman_rho"), 2) for c in calls]),
        row("Priority ranks: Kendall τ", "against the next call's ranking", [_fmt((c.get("rank_stability") or {}).get("kendall_tau"), 2) for c in calls]),
        row(f"Top {TOP} kept", "in the next call's top five",
            [f"{c['rank_stability']['top_kept']} of {TOP}" if (c.get("rank_stability") or {}).get("top_kept") is not None else "–" for c in calls]),
    ]
    cov = (forecast or {}).get("coverage") if (forecast or {}).get("available") else None
    if cov:
        text = (f"80%: {cov['coverage80'] * 100:.0f}% ({cov['verdict80']}); 95%: {cov['coverage95'] * 100:.0f}% "
                f"({cov['verdict95']}) over {cov['points']:,} held-out months")
    else:
        text = (forecast or {}).get("note", "not available")
    rows.append({"measure": "Forecast interval coverage", "what": "out of sample, rolling-origin backtest", "values": [], "all": text})
    return rows


__all__ = ["METHOD", "build", "busiest", "call_origins", "hotspot_scores", "rank_stability"]
