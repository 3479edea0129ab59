"""Trend and change tests of the assessment, recomputed with statsmodels and scipy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests


def _series(model: dict[str, Any], level: str, area: str, theme: str) -> pd.DataFrame:
    monthly = model["trends"]["monthly"]
    s = next(x for x in monthly["series"] if (x["level"], x["area"], x["theme"]) == (level, area, theme))
    return pd.DataFrame({"month": monthly["months"], "n": s["values"], "in_period": monthly["in_period"]})


def _row(model: dict[str, Any], level: str, area: str, theme: str) -> dict[str, Any]:
    return next(r for r in model["trends"]["series"] if (r["level"], r["area"], r["theme"]) == (level, area, theme))


@pytest.mark.parametrize(
    ("level", "area", "theme"),
    [
        ("scope", "Cambridgeshire Constabulary", "Violence and sexual offences"),
        ("scope", "Cambridgeshire Constabulary", "Possession of weapons"),
        ("district", "Fenland", "Burglary"),
    ],
)
def test_trend_equals_statsmodels_quasi_poisson_glm(model: dict[str, Any], level: str, area: str, theme: str) -> None:
    """log E[count] = a + b·years + month of year, scale = max(1, Pearson χ²/df), t inference."""
    s = _series(model, level, area, theme)
    s = s[s["in_period"]].reset_index(drop=True)
    months = pd.PeriodIndex(s["month"], freq="M")
    years = (months - months[0]).map(lambda d: d.n) / 12.0
    dummies = pd.get_dummies(months.month, prefix="m", drop_first=True, dtype=float)
    design = pd.concat([pd.Series(1.0, index=s.index, name="const"), pd.Series(years, name="years"), dummies], axis=1)
    glm = sm.GLM(s["n"].to_numpy(float), design.to_numpy(float), family=sm.families.Poisson())
    first = glm.fit()
    scale = max(1.0, first.pearson_chi2 / first.df_resid)
    fit = glm.fit(scale=scale, use_t=True)
    row = _row(model, level, area, theme)
    assert row["trend_pct_per_year"] == pytest.approx(100 * np.expm1(fit.params[1]), rel=1e-6)
    assert row["trend_p"] == pytest.approx(fit.pvalues[1], rel=1e-6)
    low, high = fit.conf_int(alpha=0.05)[1]
    assert row["trend_ci_low"] == pytest.approx(100 * np.expm1(low), rel=1e-6)
    assert row["trend_ci_high"] == pytest.approx(100 * np.expm1(high), rel=1e-6)


def test_recent_change_is_the_exact_conditional_poisson_test(model: dict[str, Any]) -> None:
    row = _row(model, "scope", "Cambridgeshire Constabulary", "Drugs")
    s = _series(model, "scope", "Cambridgeshire Constabulary", "Drugs")
    recent = s[(s["month"] >= row["recent_from"]) & (s["month"] <= row["recent_to"])]["n"].sum()
    prior = s[(s["month"] >= "2024-01") & (s["month"] <= "2024-12")]["n"].sum()
    assert (row["recent"], row["prior_year"]) == (recent, prior)
    p = stats.binomtest(int(recent), int(recent + prior), 0.5).pvalue
    assert row["recent_p"] == pytest.approx(p, rel=1e-9)
    assert row["recent_change_pct"] == pytest.approx((recent / prior - 1) * 100)


def test_q_values_are_benjamini_hochberg_over_every_series(model: dict[str, Any]) -> None:
    table = pd.DataFrame(model["trends"]["series"])
    for test in ("trend", "recent"):
        p = table[f"{test}_p"].to_numpy(float)
        ok = ~np.isnan(p)
        expected = multipletests(p[ok], method="fdr_bh")[1]
        assert table.loc[ok, f"{test}_q"].to_numpy(float) == pytest.approx(expected)


def test_every_emerging_flag_has_its_evidence(model: dict[str, Any]) -> None:
    emerging = model["trends"]["emerging"]
    assert emerging, "the sample has known rises (e.g. drugs, weapons)"
    alpha = model["meta"]["config"]["fdr_alpha"]
    minimum = model["meta"]["config"]["min_rise_pct"]
    for e in emerging:
        for ev in e["evidence"]:
            if ev["flag"].startswith("new special-cause"):
                assert _row(model, e["level"], e["area"], e["theme"])["spc_signal"]
            else:
                assert ev["q"] < alpha
                assert ev["method"]
            if ev["flag"] in {"rising long-term trend", "rise on the same period last year"}:
                assert ev["estimate"] >= minimum
    drugs = next(e for e in emerging if e["level"] == "scope" and e["theme"] == "Drugs")
    assert drugs["proactive"]
    assert "police activity" in drugs["summary"]


def test_spc_signal_matches_xmr_chart(model: dict[str, Any]) -> None:
    from thrv.stats import xmr_chart

    s = _series(model, "scope", "Cambridgeshire Constabulary", "Drugs")
    chart = xmr_chart(s[s["in_period"]]["n"].to_numpy(float), improvement="none")
    last3 = chart.special_cause[-3:] & (chart.cause_direction[-3:] == "high")
    row = _row(model, "scope", "Cambridgeshire Constabulary", "Drugs")
    assert row["spc_signal"] == bool(last3.any())
    assert row["spc_ucl"] == pytest.approx(chart.ucl[-1])
