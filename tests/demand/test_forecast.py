"""Forecasts: backtest plan, accuracy metrics by hand, interval calibration on real crime series."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thrv.demand import build_forecast, write_forecast
from thrv.demand.forecast import (
    backtest,
    backtest_plan,
    calibration_summary,
    monthly_history,
    score_backtest,
    selection_out_of_sample,
)
from thrv.demand.streams import STREAMS
from thrv.demand.workforce import officer_hours
from thrv.stats.forecast_metrics import interval_coverage, mase, relative_mae, seasonal_scale
from thrv.store.database import Store

# -- metrics by hand ---------------------------------------------------------------------


def test_mase_relative_mae_and_coverage_by_hand() -> None:
    history = np.arange(1, 25, dtype=float)  # y_t = t: every 12-month difference is 12
    assert seasonal_scale(history) == 12.0
    assert seasonal_scale([5.0, 7.0, 4.0]) == 2.5  # under a year: lag 1, |2| and |3|
    assert math.isnan(seasonal_scale([3.0] * 30))  # constant: no scale
    assert mase([10, 20], [13, 14], 12.0) == pytest.approx((3 + 6) / 2 / 12)
    assert relative_mae([10, 20], [13, 14], [10, 30]) == pytest.approx(4.5 / 5.0)
    cov = interval_coverage([1, 2, 3, 10], [0, 0, 3.5, 9], [2, 2, 4, 11], nominal=0.8)
    assert (cov.covered, cov.n, cov.share) == (3, 4, 0.75)
    assert cov.ci_low < 0.75 < cov.ci_high
    assert cov.consistent


@pytest.mark.parametrize(
    ("n", "horizon", "expected"),
    [
        (24, 12, (6, 6, 1, 13)),  # the bundled data: 6 months ahead from 6 origins (months 13-18)
        (36, 12, (12, 6, 2, 14)),
        (36, 3, (3, 6, 3, 18)),
        (16, 12, (2, 2, 1, 13)),
        (48, 24, (12, 6, 4, 16)),
    ],
)
def test_backtest_plan(n: int, horizon: int, expected: tuple[int, int, int, int]) -> None:
    plan = backtest_plan(n, horizon)
    assert plan is not None
    assert (plan.horizon, plan.windows, plan.step, plan.first_origin) == expected
    assert plan.first_origin >= 13  # a year of training (+1) before the first origin
    assert plan.first_origin + (plan.windows - 1) * plan.step + plan.horizon == n


def test_too_short_for_a_backtest() -> None:
    assert backtest_plan(14, 12) is None


# -- on the real crime series ------------------------------------------------------------


@pytest.fixture(scope="module")
def force_crime_backtest(sample_store: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling-origin backtest of every force-level crime series of the bundled real data."""
    with Store(sample_store, read_only=True) as store:
        history, keys, _notes = monthly_history(store.ibis(), [STREAMS["crimes"]], "Cambridgeshire Constabulary", None)
    keys = keys[keys["level"] == "force"].reset_index(drop=True)
    history = history[history["unique_id"].isin(keys["unique_id"])]
    long, plans = backtest(history, keys, horizon=12, with_arima=False)
    return score_backtest(long, history, plans), history


def test_monthly_history_is_the_real_counts(force_crime_backtest: tuple[pd.DataFrame, pd.DataFrame], sample_store: Path) -> None:
    _table, history = force_crime_backtest
    with Store(sample_store, read_only=True) as store:
        expected = store.df(
            "SELECT month, count(*) AS n FROM crimes WHERE crime_type = 'Burglary' GROUP BY 1 ORDER BY 1"
        )["n"].to_numpy(float)
    got = history[history["unique_id"] == "crimes|force|Cambridgeshire Constabulary|Burglary"]["y"].to_numpy()
    assert len(got) == 24
    np.testing.assert_array_equal(got, expected)
    everything = history[history["unique_id"].str.endswith("All crime (excluding ASB)")]["y"].sum()
    assert everything == 167_962 - history[history["unique_id"].str.endswith("Anti-social behaviour")]["y"].sum()


def test_backtest_table_and_interval_calibration_on_real_crime(force_crime_backtest: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """The chosen models' intervals cover roughly their nominal share of held-out real months."""
    table, _history = force_crime_backtest
    assert table["unique_id"].nunique() == 15  # 14 police.uk types + all crime
    assert set(table["model"]) == {"SeasonalNaive", "AutoETS", "AutoTheta"}
    assert (table.groupby("unique_id")["chosen"].sum() == 1).all()
    assert (table[["backtest_horizon", "origins"]].drop_duplicates().to_numpy() == [[6, 6]]).all()
    assert (table["points"] == 36).all()
    bench = table[table["model"] == "SeasonalNaive"]
    np.testing.assert_allclose(bench["rel_mae_vs_snaive"], 1.0)
    chosen = table[table["chosen"]]
    # the benchmark is a candidate, so the chosen model is never worse than it in the backtest
    assert (chosen["mase"] <= chosen["snaive_mase"] + 1e-12).all()
    # fallback: a model only where choosing by backtest beat seasonal naive out of sample
    oos = selection_out_of_sample_of(table)
    assert ((chosen["model"] != "SeasonalNaive") == chosen["unique_id"].map(oos)).all()
    assert ((chosen["model"] == "SeasonalNaive") | chosen["best_in_backtest"]).all()
    assert 0 < (chosen["model"] == "SeasonalNaive").sum() < len(chosen)
    points = chosen["points_published"].sum()
    cov80 = chosen["covered80"].sum() / points
    cov95 = chosen["covered95"].sum() / points
    # 540 overlapping held-out months, out of sample: the intervals run narrow (about 75% and 88%)
    assert 0.68 <= cov80 <= 0.85
    assert 0.82 <= cov95 <= 0.93
    assert cov95 > cov80
    rows = calibration_summary(table.assign(stream="crimes", level="force", generated=False))
    pooled = [r for r in rows if r["stream"] == "all streams"]
    assert len(pooled) == 1 and pooled[0]["points"] == points
    assert pooled[0]["coverage95"] == pytest.approx(cov95)
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(int(chosen["covered95"].sum()), int(points), alpha=0.05, method="wilson")
    assert pooled[0]["coverage95_ci"] == pytest.approx([lo, hi])
    assert pooled[0]["verdict95"] == ("too narrow" if hi < 0.95 else "about right" if lo <= 0.95 else "too wide")


def selection_out_of_sample_of(table: pd.DataFrame) -> pd.Series:
    """Per series: did selection beat seasonal naive out of sample (from the table's columns)."""
    one = table.drop_duplicates("unique_id").set_index("unique_id")
    return one["selection_mae"] < one["snaive_mae_oos"]


def test_selection_out_of_sample_by_hand() -> None:
    """Two models, three origins of one point each: the pick at each origin uses the other two."""
    y = [10.0, 10.0, 10.0]
    errors = {"SeasonalNaive": [1.0, 1.0, 4.0], "AutoETS": [0.0, 3.0, 0.0]}
    rows = []
    for model, errs in errors.items():
        for k, (actual, e) in enumerate(zip(y, errs, strict=True)):
            rows.append({"unique_id": "s", "ds": pd.Timestamp(2025, k + 1, 1), "cutoff": pd.Timestamp(2025, k, 1) if k else pd.Timestamp(2024, 12, 1),
                         "y": actual, "model": model, "forecast": actual + e,
                         "lo80": actual + e - 0.5, "hi80": actual + e + 0.5, "lo95": actual + e - 2, "hi95": actual + e + 2})
    long = pd.DataFrame(rows)
    # origin 1: others' MAE SN (1+4)/2=2.5, ETS 1.5 -> ETS, error 0
    # origin 2: SN (1+4)/2=2.5, ETS 0 -> ETS, error 3
    # origin 3: SN 1, ETS 1.5 -> SN, error 4
    res = selection_out_of_sample(long).set_index("unique_id").loc["s"]
    assert res["selection_points"] == 3
    assert res["selection_mae"] == pytest.approx((0 + 3 + 4) / 3)
    assert res["snaive_mae_oos"] == pytest.approx((1 + 1 + 4) / 3)
    assert not res["selection_beats_snaive"]  # 7/3 vs 6/3: picking by backtest did not pay here
    # 95% hits: ETS at origin 1 (0 <= 2), ETS at origin 2 (3 > 2: miss), SN at origin 3 (4 > 2: miss)
    assert res["selection_covered95"] == 1
    plans = pd.DataFrame({"unique_id": ["s"], "backtest_horizon": [1], "origins": [3], "step": [1]})
    history = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2023-01-01", periods=24, freq="MS"), "y": np.arange(24.0)})
    table = score_backtest(long, history, plans).set_index("model")
    assert table.loc["AutoETS", "best_in_backtest"]  # lowest MAE in the backtest (1.0 against 2.0)
    assert table.loc["SeasonalNaive", "chosen"] and not table.loc["AutoETS", "chosen"]  # but it falls back
    assert not table["beats_snaive"].any()


# -- end to end ---------------------------------------------------------------------------


def test_forecast_on_real_crime_alone_skips_what_is_missing_and_says_so(sample_store: Path, tmp_path: Path) -> None:
    with Store(sample_store, read_only=True) as store:
        model = build_forecast(store, horizon=48, area="Fenland", with_arima=False)
    notes = " ".join(model["meta"]["notes"])
    assert "Incidents (command and control): skipped" in notes
    assert "Calls (999, 101, online): skipped" in notes
    assert "24 months of history" in notes
    assert "months 7 to 48 have not been tested" in notes
    assert "District level, out of sample over" in notes and "95% intervals covered" in notes
    pooled = [c for c in model["calibration"] if c["stream"] == "all streams"]
    assert {c["level"] for c in pooled} == {"district"}
    assert pooled[0]["verdict95"] in {"too narrow", "about right", "too wide"}
    f = pd.DataFrame(model["forecasts"])
    assert set(f["area"]) == {"Fenland"}
    assert f["month"].min() == "2026-01"
    assert f["month"].max() == "2029-12"
    assert (f["lo95"] <= f["lo80"] + 1e-9).all()
    assert (f["lo80"] <= f["forecast"] + 1e-9).all()
    assert (f["forecast"] <= f["hi80"] + 1e-9).all()
    assert (f["hi80"] <= f["hi95"] + 1e-9).all()
    assert (f["lo95"] >= 0).all()
    written = write_forecast(model, tmp_path, ["html"])
    names = {p.name for p in written}
    assert {"forecast.json", "forecast.csv", "forecast_backtest.csv", "forecast.html"} <= names
    backtest_csv = pd.read_csv(tmp_path / "forecast_backtest.csv")
    assert {"model", "chosen", "mase", "snaive_mase", "coverage80", "coverage95"} <= set(backtest_csv.columns)
    json.loads((tmp_path / "forecast.json").read_text())  # strict JSON (no NaN)


def test_forecast_of_generated_demand_is_labelled_and_scenarios_apply(generated_store: Path, tmp_path: Path) -> None:
    scenarios = tmp_path / "scenario.toml"
    scenarios.write_text(
        '[population_growth]\ndefault = 0.0\nFenland = 10.0\n\n'
        '[[trend]]\nstream = "incidents"\ncategory = "mental_health"\nannual_change = 20.0\nfrom = "2026-07"\n'
    )
    with Store(generated_store, read_only=True) as store:
        model = build_forecast(
            store, horizon=12, series=("incidents",), scenarios=scenarios, with_arima=False
        )
    assert model["meta"]["generated_data"] == ["Incidents (command and control)"]
    f = pd.DataFrame(model["forecasts"]).set_index(["unique_id", "month"])
    fen = f.loc[("incidents|district|Fenland|All incidents", "2026-12")]
    assert fen["scenario_factor"] == pytest.approx(1.10)  # 10% a year, 12 months on
    force = "incidents|force|Cambridgeshire Constabulary|"
    mh, crime = f.loc[(force + "mental_health", "2026-12")], f.loc[(force + "crime", "2026-12")]
    # the trend change runs from July: six months of 20% a year on top of population growth
    assert mh["scenario_factor"] / crime["scenario_factor"] == pytest.approx(1.2 ** (6 / 12))
    assert f.loc[(force + "mental_health", "2026-06")]["scenario_factor"] == pytest.approx(
        f.loc[(force + "crime", "2026-06")]["scenario_factor"]
    )
    # the force grows at its districts' rates weighted by residents: Fenland's 10% on ~11% of them
    assert 1.005 < crime["scenario_factor"] < 1.02
    assert mh["scenario_forecast"] == pytest.approx(mh["forecast"] * mh["scenario_factor"])
    workforce = pd.DataFrame(model["workforce"]["monthly"])
    assert set(workforce["stream"]) == {"incidents"}
    assert model["workforce"]["scenario"] is True
    write_forecast(model, tmp_path / "out", ["html"])
    html = (tmp_path / "out" / "forecast.html").read_text()
    assert "Generated data:" in html
    assert "Scenario:" in html


def test_officer_hours_by_hand() -> None:
    rows = pd.DataFrame({
        "unique_id": ["a", "b"], "stream": "incidents", "level": "force", "force": "F", "month": "2026-01",
        "category": ["mental_health", "crime"], "forecast": [100.0, 200.0],
        "lo95": [80.4, 200.0], "hi95": [119.6, 200.0],
    })
    table = {"settings": {"productive_hours_per_year": 1200, "source": "test"}, "incidents": {"mental_health": 5.0, "crime": 3.0}}
    out = officer_hours(rows, table=table)
    [month] = out["monthly"]
    assert month["hours"] == pytest.approx(100 * 5 + 200 * 3)
    assert month["fte"] == pytest.approx(1100 / 100)  # 1,200 hours a year = 100 a month
    half = (119.6 - 80.4) / 2 * 5  # only mental health is uncertain here
    assert month["hours_hi95"] - month["hours"] == pytest.approx(half)


def test_bad_horizons_and_series_are_refused(sample_store: Path) -> None:
    with Store(sample_store, read_only=True) as store:
        with pytest.raises(ValueError, match="between 1 and 48"):
            build_forecast(store, horizon=49)
        with pytest.raises(ValueError, match="unknown series"):
            build_forecast(store, series=("weather",))
