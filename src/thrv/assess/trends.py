"""Trends and emerging issues: direction, recent change, SPC signals, growing share of harm.

For every crime type (and all crime excluding anti-social behaviour) in the scope and each
of its districts:

* long-term direction — quasi-Poisson regression with month-of-year effects
  (:func:`thrv.stats.poisson_trend_test`, annual % change) and, as a distribution-free
  check, Mann–Kendall on deseasonalised counts with Sen's slope;
* recent change — the last ``recent_months`` months against the same months a year earlier
  (exact conditional Poisson test, rate ratio);
* SPC — an XmR chart of the monthly counts; a special cause on the high side in the last
  ``signal_months`` months is a new signal;
* growing share of harm — each type's share of harm in the recent window against the year
  before (delta-method z-test, :mod:`thrv.stats.shares`).

Each family of tests (all trend tests, all recent-change tests, all harm-share tests per
scheme) is corrected for multiple testing with Benjamini–Hochberg; an issue is emerging when
a test passes at the configured false discovery rate or an SPC rule fires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from thrv.assess.config import AssessConfig
from thrv.assess.harm import ASB, HarmScheme
from thrv.assess.query import add_months, month_range
from thrv.assess.scope import Scope
from thrv.assess.text import month_label, num, pct, period_label, q_text, spc_rules_text
from thrv.reference import crime_type_slugs
from thrv.stats import (
    benjamini_hochberg,
    mann_kendall_test,
    poisson_exact_test_many,
    poisson_trend_test,
    xmr_chart,
)
from thrv.stats.shares import weighted_share_change_many

METHOD = (
    "Long-term direction: quasi-Poisson regression of monthly counts with month-of-year effects (from 24 "
    "months), annual % change with its interval; Mann–Kendall on deseasonalised counts with Sen's slope as a "
    "check. Recent change: the last months against the same months a year earlier, paired month by month, by "
    "the exact conditional Poisson test (rate ratio). SPC: XmR chart, Making Data Count rules; a high special "
    "cause in the latest months is a new signal. Share of harm: delta-method z-test. Benjamini–Hochberg q-values "
    "within each family of tests."
)
ALL_CRIME = "All crime (excluding ASB)"
#: a rise in these mostly reflects proactive policing, so SPC calls it neither good nor bad
PROACTIVE = frozenset({"Drugs", "Possession of weapons"})
SEASONAL_MIN = 24


@dataclass(frozen=True, eq=False)
class SeriesSet:
    """Monthly counts: one row per (level, area, theme), one column per month."""

    keys: pd.DataFrame
    months: list[dt.date]
    counts: np.ndarray
    held: np.ndarray
    in_period: np.ndarray

    def period_months(self) -> list[dt.date]:
        return [m for m, ok in zip(self.months, self.in_period & self.held, strict=True) if ok]


def themes() -> list[str]:
    return [ALL_CRIME, *sorted(crime_type_slugs())]


def held_months(coverage: pd.DataFrame, forces: Sequence[str]) -> set[dt.date]:
    """Months for which every force in the scope published records."""
    if coverage.empty:
        return set()
    per = coverage.groupby("month")["force"].nunique()
    return {m for m, k in zip(per.index, per.to_numpy(), strict=True) if k >= len(forces)}


def build_series(cube: pd.DataFrame, scope: Scope, coverage: pd.DataFrame, first: dt.date, last: dt.date,
                 history: int = 12) -> SeriesSet:
    months = month_range(add_months(first, -history), last)
    parts = [cube.groupby(["crime_type", "month"], as_index=False).agg(n=("n", "sum")).assign(level="scope", area=scope.name)]
    if scope.level != "district" and len(scope.districts) and scope.level != "all":
        named = cube.merge(scope.districts[["district_code", "district"]], on="district_code")
        parts.append(named.groupby(["district", "crime_type", "month"], as_index=False).agg(n=("n", "sum"))
                     .rename(columns={"district": "area"}).assign(level="district"))
    if scope.level == "all" and len(scope.forces) > 1:
        parts.append(cube.groupby(["force", "crime_type", "month"], as_index=False).agg(n=("n", "sum"))
                     .rename(columns={"force": "area"}).assign(level="force"))
    long = pd.concat(parts, ignore_index=True)
    crimes = long[long["crime_type"] != ASB].groupby(["level", "area", "month"], as_index=False).agg(n=("n", "sum"))
    long = pd.concat([long, crimes.assign(crime_type=ALL_CRIME)], ignore_index=True).rename(columns={"crime_type": "theme"})
    areas = long[["level", "area"]].drop_duplicates()
    order = {"scope": 0, "force": 1, "district": 2}
    areas = areas.assign(_o=areas["level"].map(order)).sort_values(["_o", "area"]).drop(columns="_o")
    keys = areas.merge(pd.DataFrame({"theme": themes()}), how="cross").reset_index(drop=True)
    wide = long.pivot_table(index=["level", "area", "theme"], columns="month", values="n", aggfunc="sum", fill_value=0)
    wide = wide.reindex(pd.MultiIndex.from_frame(keys), fill_value=0).reindex(columns=months, fill_value=0)
    held_set = held_months(coverage, scope.forces)
    held = np.array([m in held_set for m in months])
    in_period = np.array([first <= m <= last for m in months])
    counts = wide.to_numpy(dtype=float)
    counts[:, ~held] = np.nan
    return SeriesSet(keys, months, counts, held, in_period)


def _trend_row(y: np.ndarray, months: list[dt.date], confidence: float) -> dict[str, object]:
    res = poisson_trend_test(y, np.array(months, dtype="datetime64[M]"), seasonal=True, confidence=confidence)
    idx = np.array([m.year * 12 + m.month for m in months], dtype=float)
    span = idx[-1] - idx[0] + 1 if len(idx) else 0
    seasons = [m.month for m in months] if span >= SEASONAL_MIN else None
    mk = mann_kendall_test(y, confidence, times=idx, seasons=seasons)
    return {
        "trend_pct_per_year": res.estimate, "trend_ci_low": res.ci_low, "trend_ci_high": res.ci_high,
        "trend_p": res.p_value, "trend_method": res.method, "trend_note": res.note,
        "mk_sen_slope_per_year": None if mk.estimate is None else mk.estimate * 12,
        "mk_p": mk.p_value, "mk_method": mk.method, "mk_note": mk.note,
    }


def _spc_row(y: np.ndarray, months: list[dt.date], theme: str, signal_months: int) -> dict[str, object]:
    if len(y) < 2:
        return {"spc_signal": False, "spc_rules": "", "spc_signal_months": "", "spc_variation": None,
                "spc_mean": None, "spc_lcl": None, "spc_ucl": None,
                "spc_note": f"An XmR chart needs at least two months; {len(y)} held."}
    direction = "none" if theme in PROACTIVE else "lower_is_better"
    chart = xmr_chart(y, improvement=direction)  # type: ignore[arg-type]
    recent = slice(max(0, len(y) - signal_months), len(y))
    high = chart.special_cause[recent] & (chart.cause_direction[recent] == "high")
    rules = [name for name in ("beyond_limits", "shift", "trend", "two_of_three")
             if bool((getattr(chart, name)[recent] & high).any())]
    flagged = [month_label(m) for m, h in zip(months[recent], high, strict=True) if h]
    return {
        "spc_signal": bool(high.any()), "spc_rules": ", ".join(rules), "spc_signal_months": ", ".join(flagged),
        "spc_variation": chart.variation, "spc_mean": float(chart.mean[-1]), "spc_lcl": float(chart.lcl[-1]),
        "spc_ucl": float(chart.ucl[-1]), "spc_note": chart.note,
    }


@dataclass(frozen=True, eq=False)
class Windows:
    """The recent window and the same months a year earlier, paired month by month.

    A month missing from either year is dropped from both, so the comparison is always
    like for like; ``note`` says which months were dropped or why there is no comparison.
    """

    recent: np.ndarray
    prior: np.ndarray
    wanted: int
    note: str

    @property
    def months(self) -> int:
        return len(self.recent)


def windows(series: SeriesSet, config: AssessConfig) -> Windows:
    n_period = int(series.in_period.sum())
    wanted = min(config.recent_months, n_period)
    last_idx = int(np.flatnonzero(series.in_period)[-1])
    recent = np.arange(last_idx - wanted + 1, last_idx + 1)
    prior = recent - 12
    ok = (prior >= 0) & series.held[recent] & series.held[np.maximum(prior, 0)]
    dropped = [series.months[i].strftime("%Y-%m") for i in recent[~ok]]
    if not ok.any():
        note = f"The same {wanted} month(s) a year earlier are not held in the store: no comparison."
    elif dropped:
        note = (f"Months compared in pairs; {', '.join(dropped)} left out because it or the same month a "
                "year earlier is not held.")
    else:
        note = ""
    return Windows(recent[ok], prior[ok], wanted, note)


def analyse(series: SeriesSet, config: AssessConfig) -> pd.DataFrame:
    """One row per series: totals, trend tests, recent change and SPC, with BH q-values."""
    pm = series.in_period & series.held
    period_months = [m for m, ok in zip(series.months, pm, strict=True) if ok]
    win = windows(series, config)
    counts = series.counts
    rows = []
    for i, key in enumerate(series.keys.itertuples(index=False)):
        y = counts[i, pm]
        row: dict[str, object] = {"level": key.level, "area": key.area, "theme": key.theme,
                                  "months_held": int(pm.sum()), "total": float(np.nansum(y)),
                                  "mean_per_month": float(y.mean()) if len(y) else None}
        row.update(_trend_row(y, period_months, config.confidence))
        row.update(_spc_row(y, period_months, str(key.theme), config.signal_months))
        rows.append(row)
    table = pd.DataFrame(rows)
    comparable = win.months > 0
    recent = np.nansum(counts[:, win.recent], axis=1) if comparable else np.full(len(counts), np.nan)
    prior = np.nansum(counts[:, win.prior], axis=1) if comparable else np.full(len(counts), np.nan)
    n = max(win.months, 1)
    res = poisson_exact_test_many(recent, n, prior, n, config.confidence)
    table["recent_from"] = series.months[win.recent[0]].strftime("%Y-%m") if comparable else None
    table["recent_to"] = series.months[win.recent[-1]].strftime("%Y-%m") if comparable else None
    table["recent_months"] = win.months
    table["recent"] = recent
    table["prior_year"] = prior
    with np.errstate(divide="ignore", invalid="ignore"):
        table["recent_change_pct"] = np.where(prior > 0, (recent / prior - 1) * 100, np.nan)
    table["recent_ratio_ci_low"] = res.ci_low
    table["recent_ratio_ci_high"] = res.ci_high
    table["recent_p"] = res.p_value
    table["recent_method"] = res.method
    table["recent_note"] = win.note
    table["trend_q"] = benjamini_hochberg(table["trend_p"].to_numpy(dtype=float))
    table["recent_q"] = benjamini_hochberg(table["recent_p"].to_numpy(dtype=float))
    return table


def harm_share_changes(series: SeriesSet, schemes: Sequence[HarmScheme], config: AssessConfig) -> pd.DataFrame:
    """Each type's share of harm in the recent window vs the same months a year earlier."""
    cols = ["level", "area", "theme", "scheme", "share_recent_pct", "share_prior_pct", "change_points",
            "ci_low_points", "ci_high_points", "p", "q", "method"]
    win = windows(series, config)
    if win.months == 0:
        return pd.DataFrame(columns=cols)
    recent_idx, prior_idx = win.recent, win.prior
    keys = series.keys
    rows = []
    for (level, area), g in keys[keys["theme"] != ALL_CRIME].groupby(["level", "area"], sort=False):
        idx = g.index.to_numpy()
        a = series.counts[np.ix_(idx, recent_idx)].sum(axis=1)
        b = series.counts[np.ix_(idx, prior_idx)].sum(axis=1)
        for s in schemes:
            w = g["theme"].map(s.weights).fillna(0.0).to_numpy(float)
            if (w * a).sum() <= 0 or (w * b).sum() <= 0:
                continue
            res = weighted_share_change_many(a, b, w, config.confidence)
            share_a = w * a / (w * a).sum() * 100
            share_b = w * b / (w * b).sum() * 100
            for j, theme in enumerate(g["theme"]):
                if w[j] == 0:
                    continue
                rows.append([level, area, theme, s.key, share_a[j], share_b[j], res.estimate[j] * 100,
                             res.ci_low[j] * 100, res.ci_high[j] * 100, res.p_value[j], np.nan, res.method])
    out = pd.DataFrame(rows, columns=cols)
    for key in out["scheme"].unique():
        mask = out["scheme"] == key
        out.loc[mask, "q"] = benjamini_hochberg(out.loc[mask, "p"].to_numpy(dtype=float))
    return out


def _flag(r: dict[str, Any], test: str, alpha: float, minimum: float) -> bool:
    q, effect = r[f"{test}_q"], r["trend_pct_per_year" if test == "trend" else "recent_change_pct"]
    return q is not None and q == q and q < alpha and effect is not None and effect >= minimum


def _evidence(r: dict[str, Any], share_hits: pd.DataFrame, config: AssessConfig) -> list[dict[str, Any]]:
    ci = f"{config.confidence:.0%} CI"
    evidence: list[dict[str, Any]] = []
    if _flag(r, "trend", config.fdr_alpha, config.min_rise_pct):
        evidence.append({
            "flag": "rising long-term trend", "test": "quasi-Poisson trend", "method": r["trend_method"],
            "effect": f"{pct(r['trend_pct_per_year'], 1, True)} a year ({ci} "
                      f"{pct(r['trend_ci_low'], 1, True)} to {pct(r['trend_ci_high'], 1, True)})",
            "estimate": r["trend_pct_per_year"], "p": r["trend_p"], "q": r["trend_q"],
        })
    if _flag(r, "recent", config.fdr_alpha, config.min_rise_pct):
        evidence.append({
            "flag": "rise on the same period last year", "test": "exact Poisson", "method": r["recent_method"],
            "effect": f"{num(r['recent'])} vs {num(r['prior_year'])} in {period_label(r['recent_from'], r['recent_to'])} "
                      f"({r['recent_months']} months) and a year earlier ({pct(r['recent_change_pct'], 0, True)}; rate ratio "
                      f"{1 + r['recent_change_pct'] / 100:.2f}, {ci} {r['recent_ratio_ci_low']:.2f}–{r['recent_ratio_ci_high']:.2f})",
            "estimate": r["recent_change_pct"], "p": r["recent_p"], "q": r["recent_q"],
        })
    if r["spc_signal"]:
        evidence.append({
            "flag": "new special-cause signal (high)", "test": "XmR chart", "method": "XmR chart (Making Data Count rules)",
            "effect": f"{spc_rules_text(r['spc_rules'])} in {r['spc_signal_months']} (mean {num(r['spc_mean'], 1)} a month, "
                      f"upper limit {num(r['spc_ucl'], 1)})",
            "estimate": None, "p": None, "q": None,
        })
    if len(share_hits):
        hits = share_hits[(share_hits["level"] == r["level"]) & (share_hits["area"] == r["area"]) & (share_hits["theme"] == r["theme"])]
        for h in hits.to_dict("records"):
            evidence.append({
                "flag": f"growing share of harm ({str(h['scheme']).upper()})", "test": "harm-share z-test", "method": h["method"],
                "effect": f"{pct(h['share_prior_pct'], 1)} → {pct(h['share_recent_pct'], 1)} of harm ({h['change_points']:+.1f} points)",
                "estimate": h["change_points"], "p": h["p"], "q": h["q"],
            })
    return evidence


def emerging_issues(table: pd.DataFrame, shares: pd.DataFrame, config: AssessConfig) -> list[dict[str, Any]]:
    """Series with a significant rise, a new high special cause, or a growing share of harm."""
    share_hits = (shares[(shares["q"] < config.fdr_alpha) & (shares["change_points"] >= config.harm_share_min_points)]
                  if len(shares) else shares)
    out: list[dict[str, Any]] = []
    for r in table.to_dict("records"):
        row = {str(k): v for k, v in r.items()}
        evidence = _evidence(row, share_hits, config)
        if evidence:
            theme = str(row["theme"])
            out.append({"level": row["level"], "area": row["area"], "theme": theme, "flags": [e["flag"] for e in evidence],
                        "evidence": evidence, "proactive": theme in PROACTIVE,
                        "summary": _sentence(str(row["area"]), theme, evidence)})
    order = {"scope": 0, "force": 1, "district": 2}
    out.sort(key=lambda e: (order.get(str(e["level"]), 3), -len(e["flags"]), str(e["theme"])))
    return out


def _sentence(area: str, theme: str, evidence: list[dict[str, Any]]) -> str:
    parts = []
    for e in evidence:
        q = f" ({q_text(e['q'])})" if e.get("q") is not None else ""
        parts.append(f"{e['flag']}: {e['effect']}{q}")
    note = " A rise in proactively found offences may reflect police activity." if theme in PROACTIVE else ""
    return f"{theme} in {area} — " + "; ".join(parts) + "." + note
