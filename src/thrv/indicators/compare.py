"""The comparison engine: for each indicator and area, the board-pack columns and their tests.

Given monthly figures per series (indicator × area) and which months each force has data
for, it computes, for the chosen month M:

- ``current`` (M), ``prev_1y``/``prev_2y``/``prev_3y`` (M-12, M-24, M-36);
- ``avg_1y`` and ``avg_3y``: the monthly average over the 12 and 36 months before M;
- ``rolling_12m``: the 12 months ending at M; ``baseline``: the 12 months ending at the
  baseline month (by default the last March before M: the last financial year end);
- three labels, each from a stated test at the configured confidence level:
  ``label`` (rolling 12 months vs baseline), ``label_1y`` (M vs the 1-year average) and
  ``label_3y`` (M vs the 3-year average).

A period with no data is empty, never zero: a month is "no data" when the force has no rows
at all in that table for it; a month with data but no matching records is a true zero.
Averages need at least ``min_coverage`` of their months; 12-month totals need all 12.
All arithmetic is vectorised over every series at once (numpy), so a national pack of
tens of thousands of series takes seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from thrv.indicators.definitions import Indicator
from thrv.stats import (
    TestResultArray,
    classify_many,
    poisson_e_test,
    poisson_exact_test_many,
    two_proportion_test_many,
    wheeler_z_test,
)


@dataclass(frozen=True)
class CompareOptions:
    """How comparisons are made. Defaults follow common UK police board-pack practice."""

    confidence: float = 0.95
    #: month (1-12) a financial year ends in; the baseline is the 12 months to the last such
    #: month before the pack month
    financial_year_end_month: int = 3
    #: fixed baseline: the 12 months ending at this month (overrides the financial year)
    baseline_end: dt.date | None = None
    #: share of months an average needs (e.g. 0.75 = 9 of 12, 27 of 36)
    min_coverage: float = 0.75
    #: SPC run rules: points on one side of the mean / rising or falling (NHS Making Data
    #: Count uses 7; some tools use 6 or 8)
    spc_shift_length: int = 7
    spc_trend_length: int = 7
    #: SPC rebase: limits are computed from this month on (e.g. after a recording change)
    spc_rebase: dt.date | None = None

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_index(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def baseline_end_for(month: dt.date, options: CompareOptions) -> dt.date:
    """Last month of the baseline: a fixed month, or the last financial-year end before M."""
    if options.baseline_end is not None:
        return options.baseline_end
    fy = options.financial_year_end_month
    year = month.year if month.month > fy else month.year - 1
    return dt.date(year, fy, 1)


@dataclass
class SeriesMatrix:
    """num/den per series (rows) and month (columns), NaN where the force had no data."""

    keys: pd.DataFrame  # indicator, level, force, area, area_code, table, measure
    months: list[dt.date]
    num: np.ndarray
    den: np.ndarray

    def col(self, month: dt.date) -> int | None:
        i = month_index(month) - month_index(self.months[0])
        return i if 0 <= i < len(self.months) else None


def build_matrix(
    series: pd.DataFrame,
    coverage: pd.DataFrame,
    indicators: Mapping[str, Indicator],
    first: dt.date,
    last: dt.date,
    extra_keys: pd.DataFrame | None = None,
) -> SeriesMatrix:
    """Pivot long monthly figures into matrices, zero-filling covered months.

    ``extra_keys`` adds series that must appear even with no records at all (every district
    of a force for every indicator), so a district with no burglaries shows 0, not nothing.
    """
    key_cols = ["indicator", "level", "force", "area", "area_code"]
    keys = series[key_cols].drop_duplicates()
    if extra_keys is not None and not extra_keys.empty:
        keys = pd.concat([keys, extra_keys[key_cols]]).drop_duplicates()
    keys = keys.reset_index(drop=True)
    keys["table"] = keys["indicator"].map(lambda i: indicators[i].table)
    keys["measure"] = keys["indicator"].map(lambda i: indicators[i].measure)
    n_months = month_index(last) - month_index(first) + 1
    months = [add_months(first, k) for k in range(n_months)]
    num = np.zeros((len(keys), n_months))
    den = np.zeros((len(keys), n_months))

    row_of = pd.Series(np.arange(len(keys)), index=pd.MultiIndex.from_frame(keys[key_cols]))
    if not series.empty:
        rows = row_of.reindex(pd.MultiIndex.from_frame(series[key_cols])).to_numpy()
        stamps = pd.to_datetime(series["month"])
        cols = (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy() - month_index(first)
        ok = (cols >= 0) & (cols < n_months) & ~np.isnan(rows.astype(float))
        np.add.at(num, (rows[ok].astype(int), cols[ok]), series["num"].to_numpy()[ok])
        np.add.at(den, (rows[ok].astype(int), cols[ok]), np.nan_to_num(series["den"].to_numpy()[ok]))

    covered = np.zeros((len(keys), n_months), dtype=bool)
    if not coverage.empty:
        cov = coverage.copy()
        cov["col"] = np.array([month_index(m) for m in cov["month"]]) - month_index(first)
        cov = cov[(cov["col"] >= 0) & (cov["col"] < n_months) & (cov["rows"] > 0)]
        held: dict[tuple[str, str], set[int]] = {(t, f): set() for t, f in zip(cov["table"], cov["force"], strict=True)}
        for t, f, c in zip(cov["table"], cov["force"], cov["col"], strict=True):
            held[(t, f)].add(int(c))
        for i, (t, f) in enumerate(zip(keys["table"], keys["force"], strict=True)):
            for c in held.get((t, f), ()):
                covered[i, c] = True
    num[~covered] = np.nan
    den[~covered] = np.nan
    return SeriesMatrix(keys, months, num, den)


def _window(m: SeriesMatrix, end: dt.date, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of num and den over `length` months ending at `end`, and months with data."""
    hi = m.col(end)
    n = len(m.keys)
    if hi is None:
        nan = np.full(n, np.nan)
        return nan, nan, np.zeros(n)
    lo = hi - length + 1
    lo = max(lo, 0)
    num = m.num[:, lo : hi + 1]
    den = m.den[:, lo : hi + 1]
    have = np.isfinite(num).sum(axis=1)
    s_num = np.nansum(num, axis=1)
    s_den = np.nansum(den, axis=1)
    return s_num, s_den, have


def _point(m: SeriesMatrix, month: dt.date) -> tuple[np.ndarray, np.ndarray]:
    c = m.col(month)
    if c is None:
        nan = np.full(len(m.keys), np.nan)
        return nan, nan
    return m.num[:, c], m.den[:, c]


def _value(num: np.ndarray, den: np.ndarray, is_prop: np.ndarray, scale: float = 1.0) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = np.where(den > 0, 100.0 * num / den, np.nan)
    return np.where(is_prop, prop, num / scale)


def _count_test(
    test: str,
    count: np.ndarray,
    exposure: float | np.ndarray,
    ref: np.ndarray,
    ref_exposure: np.ndarray,
    confidence: float,
    intervals: bool = True,
) -> TestResultArray:
    if test == "poisson_exact":
        return poisson_exact_test_many(count, exposure, ref, ref_exposure, confidence, intervals=intervals)
    # the E-test and Wheeler's z have no vectorised form here: loop over the rows
    fields: dict[str, list[float]] = {k: [] for k in ("p_value", "statistic", "estimate", "ci_low", "ci_high")}
    c, e, r, re_ = np.broadcast_arrays(count, exposure, ref, ref_exposure)
    method, null = "", 1.0
    for ci, ei, ri, rei in zip(c, e, r, re_, strict=True):
        ok = np.isfinite(ci) and np.isfinite(ri) and rei > 0
        if test == "poisson_e":
            res = poisson_e_test(int(ci), float(ei), int(ri), float(rei), confidence) if ok else None
        else:
            res = wheeler_z_test(float(ci), float(ri) / float(rei) * float(ei), confidence) if ok else None
        if res is not None:
            method, null = res.method, res.null_value
        for k in fields:
            v = getattr(res, k) if res is not None else None
            fields[k].append(np.nan if v is None else float(v))
    return TestResultArray(method=method or test, confidence=confidence, null_value=null, **{k: np.array(v) for k, v in fields.items()})


def add_changes(out: pd.DataFrame) -> None:
    """Change columns: relative % for counts and medians, percentage points for proportions."""
    is_prop = (out["measure"] == "proportion").to_numpy()

    def change(a: pd.Series, b: pd.Series) -> np.ndarray:
        a_, b_ = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(b_ > 0, 100.0 * (a_ - b_) / b_, np.nan)
        return np.where(is_prop, a_ - b_, rel)

    out["change_unit"] = np.where(is_prop, "pp", "%")
    out["change_prev_1y"] = change(out["current"], out["prev_1y"])
    out["change_avg_1y"] = change(out["current"], out["avg_1y"])
    out["change_avg_3y"] = change(out["current"], out["avg_3y"])
    out["change_baseline"] = change(out["rolling_12m"], out["baseline"])


def compare(
    matrix: SeriesMatrix,
    indicators: Mapping[str, Indicator],
    month: dt.date,
    options: CompareOptions,
) -> pd.DataFrame:
    """The comparison table for ``month``: one row per series, every figure and test."""
    keys = matrix.keys
    is_prop = (keys["measure"] == "proportion").to_numpy()
    out = keys.drop(columns=["table"]).copy()
    out["month"] = month.strftime("%Y-%m")

    cur_n, cur_d = _point(matrix, month)
    out["current"] = _value(cur_n, cur_d, is_prop)
    out["current_num"] = cur_n
    out["current_den"] = np.where(is_prop, cur_d, np.nan)
    for k in (1, 2, 3):
        n, d = _point(matrix, add_months(month, -12 * k))
        out[f"prev_{k}y"] = _value(n, d, is_prop)

    need = options.min_coverage
    prev_month = add_months(month, -1)
    avg = {}
    for label, length in (("1y", 12), ("3y", 36)):
        s_n, s_d, have = _window(matrix, prev_month, length)
        enough = have >= np.ceil(need * length)
        with np.errstate(divide="ignore", invalid="ignore"):
            count_avg = np.where(enough & (have > 0), s_n / np.maximum(have, 1), np.nan)
            prop_avg = np.where(enough & (s_d > 0), 100.0 * s_n / s_d, np.nan)
        out[f"avg_{label}"] = np.where(is_prop, prop_avg, count_avg)
        out[f"avg_{label}_months"] = have
        avg[label] = (np.where(enough, s_n, np.nan), np.where(enough, s_d, np.nan), have)

    r_n, r_d, r_have = _window(matrix, month, 12)
    full = r_have == 12
    out["rolling_12m"] = np.where(full, _value(r_n, r_d, is_prop), np.nan)
    b_end = baseline_end_for(month, options)
    b_n, b_d, b_have = _window(matrix, b_end, 12)
    b_full = b_have == 12
    out["baseline"] = np.where(b_full, _value(b_n, b_d, is_prop), np.nan)
    out["baseline_period"] = f"{add_months(b_end, -11):%Y-%m} to {b_end:%Y-%m}"

    add_changes(out)

    comparisons = {
        "": (np.where(full, r_n, np.nan), np.where(full, r_d, np.nan), 12.0,
             np.where(b_full, b_n, np.nan), np.where(b_full, b_d, np.nan), np.full(len(keys), 12.0)),
        "_1y": (cur_n, cur_d, 1.0, avg["1y"][0], avg["1y"][1], avg["1y"][2].astype(float)),
        "_3y": (cur_n, cur_d, 1.0, avg["3y"][0], avg["3y"][1], avg["3y"][2].astype(float)),
        # the same month a year earlier, for the narrative ("65.8% fewer than January 2020")
        "_prev_1y": (cur_n, cur_d, 1.0, *_point(matrix, add_months(month, -12)), np.ones(len(keys))),
    }
    for suffix, (a_n, a_d, a_exp, b_n_, b_d_, b_exp) in comparisons.items():
        labels = np.full(len(keys), "Insufficient data", dtype=object)
        tests = np.full(len(keys), "", dtype=object)
        cols = {k: np.full(len(keys), np.nan) for k in ("p_value", "estimate", "ci_low", "ci_high")}
        for ind_id, idx in out.groupby("indicator").indices.items():
            ind = indicators[str(ind_id)]
            if ind.measure == "proportion":
                res = two_proportion_test_many(a_n[idx], a_d[idx], b_n_[idx], b_d_[idx], options.confidence)
            elif ind.measure == "count":
                ref_exp = np.where(b_exp[idx] > 0, b_exp[idx], np.nan)
                ok = np.isfinite(a_n[idx]) & np.isfinite(b_n_[idx]) & np.isfinite(ref_exp)
                res = _count_test(
                    ind.test,
                    np.where(ok, a_n[idx], np.nan),
                    a_exp,
                    np.where(ok, b_n_[idx], np.nan),
                    np.where(ok, ref_exp, 1.0),
                    options.confidence,
                    intervals=suffix != "_prev_1y",  # that comparison only feeds the sentence
                )
            else:
                continue  # medians are compared from row values elsewhere
            labels[idx] = classify_many(res, ind.direction, options.alpha)  # type: ignore[arg-type]
            tests[idx] = np.where(np.isfinite(res.p_value), res.method, "")
            for name, column in cols.items():
                column[idx] = getattr(res, name)
        out[f"label{suffix}"] = labels
        out[f"test{suffix}"] = tests
        out[f"p_value{suffix}"] = cols["p_value"]
        out[f"estimate{suffix}"] = cols["estimate"]
        out[f"ci_low{suffix}"] = cols["ci_low"]
        out[f"ci_high{suffix}"] = cols["ci_high"]
    return out
