"""Likely future demand: monthly forecasts with prediction intervals, models chosen by backtest.

Series (monthly counts): recorded crime by type and in total, for the force and each district;
incidents by category (force) and in total (force and districts); calls by line. Each series
is forecast by the candidate model that did best in a rolling-origin backtest on its own
history — seasonal naive ("same month last year", the benchmark), AutoETS, AutoTheta and,
for force-level series, AutoARIMA (statsforecast) — and the backtest table is part of the
output, so a reader can see whether the chosen model beat the benchmark, by how much, and
whether its 80% and 95% intervals covered what they claimed.

Honesty about short histories: with 24 months (the bundled real data) a seasonal model has
only two seasons to learn from, the backtest can hold out at most a few months from a few
origins, and nothing beyond the backtest horizon has been checked. The model says so in
``meta.notes`` rather than letting a 48-month fan chart speak for itself.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thrv import __version__
from thrv.demand.streams import STREAMS, Stream, add_months, available, resolve_area, stream_table
from thrv.demand.workforce import load_hours, officer_hours
from thrv.stats.forecast_metrics import seasonal_scale

SEASON = 12
LEVELS = (80, 95)
BENCHMARK = "SeasonalNaive"
#: training months before the first backtest origin: a seasonal-naive forecast needs one
#: full year, and one more month gives it something to be tested on
MIN_TRAIN = SEASON + 1
MAX_ORIGINS = 6
MIN_HORIZON, MAX_HORIZON = 1, 48
#: AutoARIMA takes ~0.4 s a fit here (AutoETS ~0.05 s), so it is a candidate for the few
#: force-level series only
ARIMA_LEVELS = ("force",)
N_JOBS = 1
SIMPLER_FIRST = ("SeasonalNaive", "AutoETS", "AutoTheta", "AutoARIMA")


@dataclass(frozen=True)
class Plan:
    """How a series of ``n`` months is backtested: ``windows`` origins, ``horizon`` ahead each."""

    n: int
    horizon: int
    windows: int
    step: int

    @property
    def first_origin(self) -> int:
        return self.n - self.horizon - (self.windows - 1) * self.step


def backtest_plan(n: int, horizon: int, min_train: int = MIN_TRAIN, max_origins: int = MAX_ORIGINS) -> Plan | None:
    """The rolling-origin backtest a history of ``n`` months can support, or None.

    The test horizon is the forecast horizon capped at 12 months and at half the months
    available after the minimum training window, so that several origins remain; the origins
    are spread evenly over what is left.
    """
    spare = n - min_train
    if spare < 2:
        return None
    h = max(1, min(horizon, SEASON, (spare + 1) // 2))
    room = spare - h + 1  # origins possible with step 1
    windows = max(1, min(max_origins, room))
    step = max(1, room // windows)
    return Plan(n, h, windows, step)


# -- history -----------------------------------------------------------------------------


def _covered_months(con: Any, stream: Stream, force: str) -> list[dt.date]:
    t = con.table(stream.table)
    t = t.filter(t.force == force)
    months = t.select("month").distinct().to_pandas()["month"]
    return sorted(pd.to_datetime(months).dt.date)


def _last_run(months: list[dt.date]) -> list[dt.date]:
    """The last run of consecutive months (a gap means the months before it are not comparable)."""
    if not months:
        return []
    run = [months[-1]]
    for m in reversed(months[:-1]):
        if add_months(m, 1) != run[0]:
            break
        run.insert(0, m)
    return run


def monthly_history(
    con: Any, streams: Sequence[Stream], force: str | None, district: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Long monthly counts (unique_id, ds, y) and one row per series describing it."""
    frames, keys, notes = [], [], []
    for stream in streams:
        base = stream_table(con, stream, force, district)
        generated = bool(base.generated.any().to_pyarrow().as_py())
        counted = base.group_by(["force", "district", "category", "month"]).aggregate(y=base.count()).to_pandas()
        if counted.empty:
            notes.append(f"{stream.title}: no records for this area")
            continue
        counted["month"] = pd.to_datetime(counted["month"]).dt.date
        for force_key, force_rows in counted.groupby("force"):
            force_name = str(force_key)
            covered = _covered_months(con, stream, force_name)
            run = _last_run(covered)
            if len(run) < len(covered):
                notes.append(
                    f"{stream.title}, {force_name}: months before {run[0]:%Y-%m} are left out (a gap in the data)"
                )
            in_run = force_rows[force_rows["month"].isin(run)]
            for level, area, category, sub in _series_of(stream, force_name, in_run, district):
                y = sub.groupby("month")["y"].sum().reindex(run, fill_value=0)
                uid = f"{stream.name}|{level}|{area}|{category}"
                frames.append(pd.DataFrame({"unique_id": uid, "ds": pd.to_datetime(run), "y": y.to_numpy(float)}))
                keys.append({
                    "unique_id": uid, "stream": stream.name, "stream_title": stream.title, "noun": stream.noun,
                    "level": level, "force": str(force_name), "area": area, "category": category,
                    "months": len(run), "first": f"{run[0]:%Y-%m}", "last": f"{run[-1]:%Y-%m}", "generated": generated,
                })
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["unique_id", "ds", "y"])
    return history, pd.DataFrame(keys), notes


def _all_label(stream: Stream) -> str:
    return "All crime (excluding ASB)" if stream.not_in_total else f"All {stream.noun}"


def _series_of(
    stream: Stream, force: str, rows: pd.DataFrame, district: str | None
) -> list[tuple[str, str, str, pd.DataFrame]]:
    """(level, area, category, rows) for every series the stream gives."""
    in_total = rows[~rows["category"].isin(stream.not_in_total)]
    out: list[tuple[str, str, str, pd.DataFrame]] = []
    if district is None:
        out.append(("force", force, _all_label(stream), in_total))
        out.extend(("force", force, str(c), g) for c, g in rows.groupby("category"))
    if stream.located:
        for d, g in in_total.dropna(subset=["district"]).groupby("district"):
            out.append(("district", str(d), _all_label(stream), g))
        if stream.name in {"crimes", "force_crimes"} or district is not None:
            for (d_key, c_key), g in rows.dropna(subset=["district"]).groupby(["district", "category"]):
                out.append(("district", str(d_key), str(c_key), g))
    return out


# -- models ------------------------------------------------------------------------------


def candidate_models(level: str, with_arima: bool = True, months: int = 3 * SEASON) -> list[Any]:
    """The candidates for a series of ``months`` months at ``level`` (force or district).

    With fewer than three years of history (two seasons at most, fewer at the backtest
    origins) AutoETS is limited to non-seasonal forms: a seasonal ETS model cannot be
    estimated from so little, and trying each one costs time for nothing; seasonal naive and
    AutoTheta (which tests for seasonality and deseasonalises) still carry the yearly pattern.
    """
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    ets = AutoETS(season_length=SEASON) if months >= 3 * SEASON else AutoETS(season_length=SEASON, model="ZZN")
    models: list[Any] = [SeasonalNaive(season_length=SEASON), ets, AutoTheta(season_length=SEASON)]
    if with_arima and level in ARIMA_LEVELS:
        models.append(AutoARIMA(season_length=SEASON, max_p=2, max_q=2, max_P=1, max_Q=1, max_order=4))
    return models


def _sf(models: list[Any]) -> Any:
    from statsforecast import StatsForecast

    return StatsForecast(models=models, freq="MS", n_jobs=N_JOBS)


def backtest(history: pd.DataFrame, keys: pd.DataFrame, horizon: int, with_arima: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling-origin forecasts of every candidate for every series (long), and the plan per series."""
    parts: list[pd.DataFrame] = []
    plans: list[dict[str, Any]] = []
    for (_n, level), group in keys.groupby(["months", "level"]):
        n = int(group["months"].iloc[0])
        plan = backtest_plan(n, horizon)
        ids = group["unique_id"].tolist()
        if plan is None:
            plans.extend({"unique_id": u, "backtest_horizon": 0, "origins": 0, "step": 0} for u in ids)
            continue
        plans.extend({"unique_id": u, "backtest_horizon": plan.horizon, "origins": plan.windows, "step": plan.step} for u in ids)
        df = history[history["unique_id"].isin(ids)]
        # statsforecast warns on tiny samples (e.g. a zero ETS variance); the backtest judges the result
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            cv = _sf(candidate_models(str(level), with_arima, n)).cross_validation(
                df=df, h=plan.horizon, n_windows=plan.windows, step_size=plan.step, level=list(LEVELS)
            )
        cv = cv.reset_index() if "unique_id" not in cv.columns else cv
        parts.append(_long(cv))
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return long, pd.DataFrame(plans)


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    """statsforecast's wide output (one column per model and bound) as one row per model."""
    id_cols = [c for c in ("unique_id", "ds", "cutoff", "y") if c in wide.columns]
    models = [c for c in wide.columns if c not in id_cols and "-lo-" not in c and "-hi-" not in c]
    out = []
    for m in models:
        part = wide[id_cols].copy()
        part["model"] = m
        part["forecast"] = wide[m].to_numpy(float)
        for lv in LEVELS:
            part[f"lo{lv}"] = wide[f"{m}-lo-{lv}"].to_numpy(float)
            part[f"hi{lv}"] = wide[f"{m}-hi-{lv}"].to_numpy(float)
        out.append(part)
    return pd.concat(out, ignore_index=True)


def _backtest_points(long: pd.DataFrame) -> pd.DataFrame:
    """The backtest rows with forecasts and lower bounds clipped at zero, errors and hits."""
    df = long.copy()
    df["forecast"] = df["forecast"].clip(lower=0)
    df["_err"] = (df["y"] - df["forecast"]).abs()
    for lv in LEVELS:
        df[f"_in{lv}"] = (df["y"] >= df[f"lo{lv}"].clip(lower=0)) & (df["y"] <= df[f"hi{lv}"])
    return df


def selection_out_of_sample(long: pd.DataFrame) -> pd.DataFrame:
    """How choosing "the model with the lowest backtest MAE" does on origins it did not see.

    Leave one origin out: for each series and backtest origin, the model is picked on the
    other origins alone (lowest MAE; ties to the simpler model) and scored on the left-out
    origin. Pooled over origins this is an honest, out-of-sample measure of the selection
    procedure itself, free of the optimism of scoring a model on the data that chose it.
    One row per series: ``selection_points``, ``selection_mae``, ``selection_covered80/95``,
    the same for seasonal naive on the same points (``snaive_points``, ``snaive_mae_oos``,
    ``snaive_covered80/95``), and ``selection_beats_snaive``. A series with one origin has no
    out-of-sample check (NaN, not beating).
    """
    df = _backtest_points(long)
    df = df[np.isfinite(df["_err"])]
    per = df.groupby(["unique_id", "cutoff", "model"], as_index=False).agg(
        err=("_err", "sum"), n=("_err", "count"), c80=("_in80", "sum"), c95=("_in95", "sum"))
    tot = per.groupby(["unique_id", "model"], as_index=False).agg(err_all=("err", "sum"), n_all=("n", "sum"))
    per = per.merge(tot, on=["unique_id", "model"])
    with np.errstate(divide="ignore", invalid="ignore"):
        per["other_mae"] = np.where(per["n_all"] > per["n"], (per["err_all"] - per["err"]) / (per["n_all"] - per["n"]), np.nan)
    order = {m: i for i, m in enumerate(SIMPLER_FIRST)}
    per["_simple"] = per["model"].map(order).fillna(len(order))
    picked = (per.dropna(subset=["other_mae"]).sort_values(["unique_id", "cutoff", "other_mae", "_simple"], kind="mergesort")
              .groupby(["unique_id", "cutoff"]).head(1))
    sel = picked.groupby("unique_id").agg(selection_points=("n", "sum"), _err=("err", "sum"),
                                          selection_covered80=("c80", "sum"), selection_covered95=("c95", "sum"))
    sel["selection_mae"] = sel["_err"] / sel["selection_points"]
    bench = per[(per["model"] == BENCHMARK)].merge(picked[["unique_id", "cutoff"]], on=["unique_id", "cutoff"])
    sn = bench.groupby("unique_id").agg(snaive_points=("n", "sum"), _snerr=("err", "sum"),
                                        snaive_covered80=("c80", "sum"), snaive_covered95=("c95", "sum"))
    sn["snaive_mae_oos"] = sn["_snerr"] / sn["snaive_points"]
    out = sel.drop(columns="_err").join(sn.drop(columns="_snerr"), how="outer")
    out["selection_beats_snaive"] = (out["selection_mae"] < out["snaive_mae_oos"]).fillna(False).astype(bool)
    ids = pd.Index(sorted(df["unique_id"].unique()), name="unique_id")
    out = out.reindex(ids)
    out["selection_beats_snaive"] = out["selection_beats_snaive"].fillna(False).astype(bool)
    return out.reset_index()


def score_backtest(long: pd.DataFrame, history: pd.DataFrame, plans: pd.DataFrame) -> pd.DataFrame:
    """One row per series and model: MAE, MASE, MAE relative to seasonal naive, coverage, chosen.

    Forecasts and interval bounds are clipped at zero first (a count cannot be negative), as
    they are in the published forecast. ``best_in_backtest`` marks the model with the lowest
    backtest MAE (ties to the simpler model, seasonal naive first). ``chosen`` falls back to
    seasonal naive unless choosing by backtest beats it out of sample
    (:func:`selection_out_of_sample`): a model is used only where picking one has been shown
    to pay. ``beats_snaive`` is that out-of-sample verdict; ``coverage80``/``coverage95`` of
    the chosen row are the out-of-sample coverage of what is published (the selection's
    where a model is chosen, seasonal naive's where it is the fallback), and
    ``coverage80_in_sample``/``coverage95_in_sample`` each model's own backtest coverage.
    """
    if long.empty:
        return pd.DataFrame()
    scales = history.groupby("unique_id")["y"].apply(lambda y: seasonal_scale(y.to_numpy(), SEASON))
    df = _backtest_points(long)
    bench = df[df["model"] == BENCHMARK][["unique_id", "ds", "cutoff", "forecast"]].rename(columns={"forecast": "_bench"})
    df = df.merge(bench, on=["unique_id", "ds", "cutoff"], how="left")
    df["_bench_err"] = (df["y"] - df["_bench"]).abs()
    table = df.groupby(["unique_id", "model"], as_index=False).agg(
        points=("y", "count"), mae=("_err", "mean"), _bench_mae=("_bench_err", "mean"),
        covered80=("_in80", "sum"), covered95=("_in95", "sum"),
    )
    table["mase"] = table["mae"] / table["unique_id"].map(scales)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rel_mae_vs_snaive"] = np.where(table["_bench_mae"] > 0, table["mae"] / table["_bench_mae"], np.nan)
    table["coverage80_in_sample"] = table["covered80"] / table["points"]
    table["coverage95_in_sample"] = table["covered95"] / table["points"]
    # MASE is NaN for a constant series; rank by MAE then (same scale within a series)
    order = {m: i for i, m in enumerate(SIMPLER_FIRST)}
    table["_simple"] = table["model"].map(order).fillna(len(order))
    table = table.sort_values(["unique_id", "mae", "_simple"], kind="mergesort")
    best = table.groupby("unique_id").head(1).set_index("unique_id")["model"]
    table["best_in_backtest"] = table["model"] == table["unique_id"].map(best)
    oos = selection_out_of_sample(long).set_index("unique_id")
    pays = table["unique_id"].map(oos["selection_beats_snaive"]).fillna(False).astype(bool)
    final = np.where(pays, table["unique_id"].map(best), BENCHMARK)
    table["chosen"] = table["model"].to_numpy() == final
    snaive = table[table["model"] == BENCHMARK].set_index("unique_id")
    table["snaive_mase"] = table["unique_id"].map(snaive["mase"])
    table["beats_snaive"] = table["chosen"] & pays & (table["model"] != BENCHMARK)
    for col in ("selection_mae", "snaive_mae_oos", "selection_points"):
        table[col] = table["unique_id"].map(oos[col])
    # what is published, scored out of sample
    sel_pts = table["unique_id"].map(oos["selection_points"])
    for lv in LEVELS:
        sel_cov = table["unique_id"].map(oos[f"selection_covered{lv}"]) / sel_pts
        own = table[f"coverage{lv}_in_sample"]
        table[f"coverage{lv}"] = np.where(table["model"] == BENCHMARK, own, np.where(table["chosen"], sel_cov, own))
        table[f"covered{lv}"] = np.where(table["chosen"] & (table["model"] != BENCHMARK),
                                         table["unique_id"].map(oos[f"selection_covered{lv}"]), table[f"covered{lv}"])
    table["points_published"] = np.where(table["chosen"] & (table["model"] != BENCHMARK), sel_pts, table["points"])
    table = table.merge(plans, on="unique_id", how="left").drop(columns=["_simple", "_bench_mae"])
    return table


def _describe(fitted: Any) -> str:
    """'ETS(A,N,N)' or 'ARIMA(1,0,0)(0,1,0)[12]' for a fitted statsforecast model, if it says."""
    model = getattr(fitted, "model_", None)
    if isinstance(model, dict) and "method" in model:
        return str(model["method"])
    if isinstance(model, dict) and "arma" in model:
        from statsforecast.arima import arima_string

        return str(arima_string(model))
    return ""


def final_forecasts(
    history: pd.DataFrame, keys: pd.DataFrame, chosen: dict[str, str], horizon: int, with_arima: bool = True
) -> pd.DataFrame:
    """Fit every candidate on the whole history and keep each series' chosen model's forecast."""
    parts = []
    for (level, _n), group in keys.groupby(["level", "months"]):
        ids = group["unique_id"].tolist()
        df = history[history["unique_id"].isin(ids)]
        models = candidate_models(str(level), with_arima, int(group["months"].iloc[0]))
        sf = _sf(models)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            sf.fit(df=df)
            wide = sf.predict(h=horizon, level=list(LEVELS))
        wide = wide.reset_index() if "unique_id" not in wide.columns else wide
        long = _long(wide)
        names = [repr(m) for m in sf.models]
        specs = {
            (uid, names[j]): _describe(sf.fitted_[i, j]) for i, uid in enumerate(sf.uids) for j in range(len(names))
        }
        long["model_spec"] = [specs.get((u, m), "") for u, m in zip(long["unique_id"], long["model"], strict=True)]
        parts.append(long)
    long = pd.concat(parts, ignore_index=True)
    pick = long["model"] == long["unique_id"].map(chosen).fillna("AutoETS")
    out = long[pick].copy()
    for col in ("forecast", *(f"{b}{lv}" for lv in LEVELS for b in ("lo", "hi"))):
        out[col] = out[col].clip(lower=0)
    return out.drop(columns=[c for c in ("y", "cutoff") if c in out.columns])


# -- scenarios ---------------------------------------------------------------------------


def load_scenarios(path: Path) -> dict[str, Any]:
    """Scenario inputs (TOML): population growth by district, changes to a category's trend."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read scenarios ({exc})") from exc
    unknown = set(doc) - {"population_growth", "trend"}
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {sorted(unknown)}; use [population_growth] and [[trend]]")
    for i, t in enumerate(doc.get("trend", [])):
        if "annual_change" not in t:
            raise ValueError(f"{path}: [[trend]] {i + 1} needs annual_change (percent a year)")
    return doc


def scenario_factors(forecasts: pd.DataFrame, keys: pd.DataFrame, doc: dict[str, Any], start: dt.date) -> np.ndarray:
    """Multiplier per forecast row: population growth compounded monthly, times trend changes.

    Population growth is per district (percent a year; ``default`` for the rest); a force
    series grows at its districts' growth weighted by residents. Demand per resident is held
    constant: the simplest defensible reading of "more people".
    """
    from thrv.demand.profile import _district_populations

    meta = keys.set_index("unique_id")
    ahead = np.array(
        [(d.year - start.year) * 12 + d.month - start.month + 1 for d in pd.to_datetime(forecasts["ds"]).dt.date]
    )
    growth = doc.get("population_growth", {})
    default = float(growth.get("default", 0.0))
    factor = np.ones(len(forecasts))
    if growth:
        force_rate = {}
        for f in sorted(set(meta["force"])):
            districts = _district_populations([f])
            total = sum(districts.values()) or 1.0
            force_rate[f] = sum(float(growth.get(d, default)) * p for d, p in districts.items()) / total if districts else default
        rate = []
        for uid in forecasts["unique_id"]:
            row = meta.loc[uid]
            rate.append(force_rate.get(row["force"], default) if row["level"] == "force" else float(growth.get(row["area"], default)))
        factor *= (1 + np.array(rate) / 100.0) ** (ahead / 12.0)
    for change in doc.get("trend", []):
        wanted = forecasts["unique_id"].map(meta["stream"]).eq(change.get("stream", "crimes"))
        if "category" in change:
            wanted &= forecasts["unique_id"].map(meta["category"]).eq(change["category"])
        if "area" in change:
            wanted &= forecasts["unique_id"].map(meta["area"]).eq(change["area"])
        begin = dt.date.fromisoformat(change["from"] + "-01") if "from" in change else start
        months_on = np.array(
            [max(0, (d.year - begin.year) * 12 + d.month - begin.month + 1) for d in pd.to_datetime(forecasts["ds"]).dt.date]
        )
        trend = (1 + float(change["annual_change"]) / 100.0) ** (months_on / 12.0)
        factor = np.where(wanted.to_numpy(), factor * trend, factor)
    return factor


# -- the model ---------------------------------------------------------------------------


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.astype(object).where(pd.notna(df), None)
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in out.to_dict("records")]


def _verdict(covered: int, n: int, nominal: float) -> dict[str, Any]:
    from thrv.stats.proportions import wilson_interval

    if n == 0:
        return {"share": None, "ci_low": None, "ci_high": None, "verdict": "not tested"}
    low, high = wilson_interval(covered, n, 0.95)
    verdict = "too narrow" if high < nominal else "too wide" if low > nominal else "about right"
    return {"share": covered / n, "ci_low": low, "ci_high": high, "verdict": verdict}


def calibration_summary(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Out-of-sample interval coverage of what is published, by stream and level, then by level.

    ``table``: the scored backtest with the series' stream, level and generated flag. Each
    share has a 95% Wilson interval and a verdict against the nominal level ("too narrow"
    where the whole interval lies below it); backtest points overlap, so the intervals are
    narrower than they should be and the verdicts lean to the side of saying so.
    """
    chosen = table[table["chosen"]]
    rows = []
    groups = [((stream, level), g) for (stream, level), g in chosen.groupby(["stream", "level"])]
    groups += [(("all streams", level), g) for level, g in chosen.groupby("level")]
    for (stream, level), g in groups:
        n = int(g["points_published"].sum())
        c80, c95 = int(g["covered80"].sum()), int(g["covered95"].sum())
        v80, v95 = _verdict(c80, n, 0.80), _verdict(c95, n, 0.95)
        rows.append({
            "stream": stream, "level": level, "series": len(g), "points": n,
            "coverage80": v80["share"], "coverage80_ci": [v80["ci_low"], v80["ci_high"]], "verdict80": v80["verdict"],
            "coverage95": v95["share"], "coverage95_ci": [v95["ci_low"], v95["ci_high"]], "verdict95": v95["verdict"],
            "beats_snaive": int(g["beats_snaive"].sum()),
            "seasonal_naive_fallback": int((g["model"] == BENCHMARK).sum()),
            "generated": bool(g["generated"].any()),
        })
    return rows


def calibration_notes(rows: list[dict[str, Any]]) -> list[str]:
    """One sentence per level (all streams pooled) on how the published intervals did."""
    out = []
    for r in rows:
        if r["stream"] != "all streams" or not r["points"]:
            continue
        parts = []
        for lv in LEVELS:
            share, (lo, hi), verdict = r[f"coverage{lv}"], r[f"coverage{lv}_ci"], r[f"verdict{lv}"]
            parts.append(f"{lv}% intervals covered {share:.0%} (95% CI {lo:.0%} to {hi:.0%}): {verdict}")
        out.append(
            f"{str(r['level']).capitalize()} level, out of sample over {r['points']:,} held-out months of {r['series']} series: "
            + "; ".join(parts) + f". A model beat seasonal naive out of sample for {r['beats_snaive']} of {r['series']} series; "
            f"the other {r['seasonal_naive_fallback']} use seasonal naive."
        )
    return out


def build_forecast(
    store: Any,
    horizon: int = 12,
    area: str | None = None,
    series: Sequence[str] = ("crimes", "incidents", "calls"),
    scenarios: Path | None = None,
    seed: int = 0,
    with_arima: bool = True,
    hours_table: Path | None = None,
) -> dict[str, Any]:
    """Forecasts with 80% and 95% intervals, the backtest table and officer hours (JSON-able).

    ``series`` names the streams (crimes, incidents, calls, force_crimes); streams the store
    does not hold are skipped and said so. ``scenarios`` is a TOML file of population growth
    and trend changes (docs/demand.md). ``seed`` is recorded: the models are deterministic,
    so it changes nothing today but is kept for interval methods that resample.
    ``with_arima=False`` leaves AutoARIMA out (it is most of the run time); ``hours_table``
    replaces the shipped officer-hours table.
    """
    if not MIN_HORIZON <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be between {MIN_HORIZON} and {MAX_HORIZON} months, got {horizon}")
    unknown = [s for s in series if s not in STREAMS]
    if unknown:
        raise ValueError(f"unknown series {unknown}; choose from {', '.join(STREAMS)}")
    con = store.ibis()
    force, district = resolve_area(con, area)
    notes: list[str] = []
    streams = []
    for name in series:
        stream = STREAMS[name]
        if available(con, stream):
            streams.append(stream)
        else:
            notes.append(f"{stream.title}: skipped, the store holds no {stream.table} records (load an extract or run thrv simulate)")
    history, keys, more = monthly_history(con, streams, force, district)
    notes.extend(more)
    if keys.empty:
        raise ValueError("nothing to forecast: the store holds none of the requested series for this area")
    short = keys[keys["months"] < MIN_TRAIN]
    for r in short.itertuples(index=False):
        notes.append(f"{r.unique_id}: only {r.months} months, too few to forecast (needs {MIN_TRAIN})")
    keys = keys[keys["months"] >= MIN_TRAIN].reset_index(drop=True)
    history = history[history["unique_id"].isin(keys["unique_id"])]

    long, plans = backtest(history, keys, horizon, with_arima)
    table = score_backtest(long, history, plans) if not long.empty else pd.DataFrame()
    chosen = (
        {str(k): str(v) for k, v in table[table["chosen"]].set_index("unique_id")["model"].items()} if not table.empty else {}
    )
    untested = sorted(set(keys["unique_id"]) - set(chosen))
    for uid in untested:
        notes.append(f"{uid}: history too short for a backtest; AutoETS used untested")
    forecasts = final_forecasts(history, keys, chosen, horizon, with_arima)
    specs = forecasts.groupby("unique_id")["model_spec"].first().to_dict()
    last = max(pd.to_datetime(history["ds"])).date()
    start = add_months(last, 1)
    if scenarios is not None:
        doc = load_scenarios(scenarios)
        factor = scenario_factors(forecasts, keys, doc, start)
        forecasts["scenario_factor"] = factor
        for col in ("forecast", "lo80", "hi80", "lo95", "hi95"):
            forecasts[f"scenario_{col}"] = forecasts[col] * factor
    forecasts = forecasts.merge(keys, on="unique_id", how="left")
    forecasts["month"] = pd.to_datetime(forecasts["ds"]).dt.strftime("%Y-%m")
    forecasts["months_ahead"] = [
        (d.year - start.year) * 12 + d.month - start.month + 1 for d in pd.to_datetime(forecasts["ds"]).dt.date
    ]
    hist = history.merge(keys[["unique_id", "stream", "level", "area", "category"]], on="unique_id")
    hist["month"] = pd.to_datetime(hist["ds"]).dt.strftime("%Y-%m")

    if not table.empty:
        table = table.merge(keys[["unique_id", "stream", "level", "force", "area", "category", "months", "generated"]], on="unique_id")
        table["model_spec"] = np.where(table["chosen"], table["unique_id"].map(specs), "")
    notes.extend(_honesty(keys, plans, horizon, table))
    calibration = calibration_summary(table) if not table.empty else []
    notes.extend(calibration_notes(calibration))
    workforce = officer_hours(forecasts, scenario=scenarios is not None, table=load_hours(hours_table) if hours_table else None)
    model: dict[str, Any] = {
        "meta": {
            "thrv_version": __version__,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "area": area, "force": force, "district": district, "horizon": horizon, "seed": seed,
            "history_from": f"{min(pd.to_datetime(history['ds'])):%Y-%m}", "history_to": f"{last:%Y-%m}",
            "forecast_from": f"{start:%Y-%m}", "forecast_to": f"{add_months(start, horizon - 1):%Y-%m}",
            "series": len(keys), "streams": [s.name for s in streams],
            "levels": list(LEVELS), "benchmark": BENCHMARK,
            "candidates": ["SeasonalNaive", "AutoETS", "AutoTheta"] + (["AutoARIMA (force level)"] if with_arima else []),
            "scenarios": str(scenarios) if scenarios else None,
            "generated_data": sorted({r.stream_title for r in keys.itertuples() if r.generated}),
            "notes": notes,
        },
        "series": _records(keys),
        "summary": _summary(table),
        "calibration": calibration,
        "backtest": _records(table.drop(columns=["covered80", "covered95"], errors="ignore")) if not table.empty else [],
        "forecasts": _records(forecasts.drop(columns=["ds"]).sort_values(["unique_id", "month"])),
        "history": _records(hist.drop(columns=["ds"])),
        "workforce": workforce,
    }
    return model


def _summary(table: pd.DataFrame) -> dict[str, Any]:
    if table.empty:
        return {}
    chosen = table[table["chosen"]]
    return {
        "series_backtested": int(chosen["unique_id"].nunique()),
        "chosen_models": {str(k): int(v) for k, v in chosen["model"].value_counts().items()},
        "beats_snaive": int(chosen["beats_snaive"].sum()),
        "median_mase_chosen": float(np.nanmedian(chosen["mase"])) if chosen["mase"].notna().any() else None,
        "median_mase_snaive": float(np.nanmedian(chosen["snaive_mase"])) if chosen["snaive_mase"].notna().any() else None,
        "median_rel_mae_vs_snaive": float(np.nanmedian(chosen["rel_mae_vs_snaive"])) if chosen["rel_mae_vs_snaive"].notna().any() else None,
    }


def _honesty(keys: pd.DataFrame, plans: pd.DataFrame, horizon: int, table: pd.DataFrame) -> list[str]:
    """Plain statements, stream by stream, of what the history and the backtest can support."""
    notes = []
    plan_of = plans.set_index("unique_id") if not plans.empty else pd.DataFrame()
    for _stream, group in keys.groupby("stream", sort=False):
        title = str(group["stream_title"].iloc[0])
        months = int(group["months"].min())
        if months < 3 * SEASON:
            notes.append(
                f"{title}: {months} months of history. Seasonal ETS needs three years here, and models fitted at "
                "the backtest origins had a year or so, so the candidates mostly fit level (non-seasonal) models "
                "while seasonal naive carries last year's pattern: read the seasonal shape of the forecasts with caution."
            )
        if not plan_of.empty:
            tested = plan_of.reindex(group["unique_id"])["backtest_horizon"].dropna()
            hb = int(tested.max()) if len(tested) else 0
            origins = plan_of.reindex(group["unique_id"])["origins"].dropna()
            if hb and hb < horizon:
                notes.append(
                    f"{title}: the backtest tested forecasts up to {hb} months ahead from {int(origins.max())} origins; "
                    f"months {hb + 1} to {horizon} have not been tested and their intervals rest on the models' assumptions."
                )
        if horizon > 2 * months:
            notes.append(f"{title}: the horizon ({horizon} months) is more than twice the history held ({months} months).")
        if not table.empty:
            chosen = table[table["chosen"] & table["unique_id"].isin(group["unique_id"])]
            kept = int((chosen["model"] == BENCHMARK).sum())
            if len(chosen):
                notes.append(
                    f"{title}: choosing a model by backtest beat seasonal naive out of sample (each origin judged by a "
                    f"model picked on the others) for {int(chosen['beats_snaive'].sum())} of {len(chosen)} series; "
                    f"the other {kept} use seasonal naive."
                )
    notes.append(
        "Intervals assume the future behaves like the past (no change in recording practice, policy or boundaries); "
        "they do not include uncertainty about which model is right."
    )
    return notes
