"""The comparison engine: for each indicator and area, the board-pack columns and their tests.

Given monthly figures per series (indicator × area) and which months each force has data
for, it computes, for the chosen month M:

- ``current`` (M), ``prev_1y``/``prev_2y``/``prev_3y`` (M-12, M-24, M-36);
- ``avg_1y`` and ``avg_3y``: the monthly average over the 12 and 36 months before M;
- ``rolling_12m``: the 12 months ending at M; ``baseline``: the 12 months ending at the
  baseline month (by default the last March before M: the last financial year end);
- three labels, each from a stated test at the configured confidence level:
  ``label`` (rolling 12 months vs baseline, judged on the months the two do not share),
  ``label_1y`` (M vs the 1-year average) and ``label_3y`` (M vs the 3-year average), both
  against the expected value for M's calendar month where the series supports seasonal
  factors (see :mod:`thrv.indicators.expectation`).

Count tests are dispersion-adjusted by default (quasi-Poisson, φ from the series' own
history); outcome rates leave immature months out of their tests; the words follow board
practice (Higher/Lower for volumes, Improved/Deteriorated for rates). docs/methods.md
gives every rule and why.

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
from thrv.indicators.expectation import expectations, seasonal_dispersion
from thrv.stats import (
    TestResultArray,
    classify_many,
    poisson_e_test,
    poisson_exact_test_many,
    two_proportion_test_many,
    wheeler_z_test,
)
from thrv.stats.counts import quasi_poisson_test_many
from thrv.stats.fdr import bh_qvalues

#: label words a test can give, beyond classify's: an outcome month too recent to judge
IMMATURE = "Immature"
SIGNIFICANT = ("Improved", "Deteriorated", "Higher", "Lower")


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
    #: SPC limits from moving ranges screened for outliers (those above 3.267 x the mean
    #: moving range are left out, as NHSRplotthedots does by default)
    spc_screen_outliers: bool = True
    #: count tests allow for over-dispersion (quasi-Poisson, φ from each series' history);
    #: False gives the plain Poisson tests everywhere
    dispersion: bool = True
    #: months with data a dispersion needs within the 36 months ending at the pack month
    dispersion_min_months: int = 24
    #: month-vs-average tests use the seasonal expectation for the month (counts)
    seasonal: bool = True
    #: events every calendar month needs (over the 36 months before M) for seasonal factors
    seasonal_min_events: int = 10
    #: labels decided by the Benjamini–Hochberg q-value over the whole pack, not the p-value
    fdr: bool = False

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
    #: True where a month is immature for the series (outcome rates; see immature_mask)
    immature: np.ndarray | None = None

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
        # the months each (table, force) holds, one row per pair, given to every series of the pair
        of_row = pd.MultiIndex.from_arrays([cov["table"], cov["force"]])
        pairs = of_row.drop_duplicates()
        held = np.zeros((len(pairs), n_months), dtype=bool)
        held[pairs.get_indexer(of_row), cov["col"].to_numpy(dtype=int)] = True
        pair = pairs.get_indexer(pd.MultiIndex.from_arrays([keys["table"], keys["force"]])) if len(pairs) else np.full(len(keys), -1)
        covered[pair >= 0] = held[pair[pair >= 0]]
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


def baseline_months(month: dt.date, options: CompareOptions) -> tuple[list[dt.date], list[dt.date]]:
    """The months the rolling 12 months and the baseline do NOT share, paired in order.

    Rolling = the 12 months to M, baseline = the 12 months to B.  Their difference is
    exactly (rolling-only months) − (baseline-only months), so the test is made on those:
    treating two overlapping windows as independent would understate significance (in June
    they share 9 months).  With the default financial-year baseline the two sets are the
    same calendar months a year apart, so seasonality cancels.  Windows that do not
    overlap are compared whole.
    """
    b_end = baseline_end_for(month, options)
    rolling = [add_months(month, -k) for k in range(11, -1, -1)]
    baseline = [add_months(b_end, -k) for k in range(11, -1, -1)]
    shared = set(rolling) & set(baseline)
    return [m for m in rolling if m not in shared], [m for m in baseline if m not in shared]


def immature_mask(
    matrix: SeriesMatrix, indicators: Mapping[str, Indicator], latest: Mapping[tuple[str, str], dt.date]
) -> np.ndarray:
    """True where a month is immature: within an indicator's ``immature_months`` of the
    latest month the store holds for its table and force (outcomes still being recorded)."""
    n, t = matrix.num.shape
    out = np.zeros((n, t), dtype=bool)
    cols = np.array([month_index(m) for m in matrix.months])
    for i, (ind_id, table, force) in enumerate(zip(matrix.keys["indicator"], matrix.keys["table"], matrix.keys["force"], strict=True)):
        k = indicators[ind_id].immature_months
        last = latest.get((table, force))
        if k > 0 and last is not None:
            out[i] = cols > month_index(last) - k
    return out


def _plain_count_test(
    test: str,
    count: np.ndarray,
    exposure: np.ndarray,
    ref: np.ndarray,
    ref_exposure: np.ndarray,
    confidence: float,
    intervals: bool = True,
) -> TestResultArray:
    """The plain (not dispersion-adjusted) Poisson tests, by name."""
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


NOT_ADJUSTED = "not adjusted for over-dispersion"


def _count_tests(
    ind: Indicator,
    a: np.ndarray,
    a_exp: np.ndarray,
    b: np.ndarray,
    b_exp: np.ndarray,
    phi: np.ndarray,
    options: CompareOptions,
    intervals: bool,
) -> tuple[TestResultArray, np.ndarray]:
    """The count test of ``ind`` for each row, and each row's test name.

    The default (``quasi_poisson``) uses φ where the series has the history for it and
    falls back to the plain exact test, saying so in the name, where it has not.
    """
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(b_exp) & (b_exp > 0) & np.isfinite(a_exp) & (a_exp > 0)
    a_, b_ = np.where(ok, a, np.nan), np.where(ok, b, np.nan)
    a_e, b_e = np.where(ok, a_exp, 1.0), np.where(ok, b_exp, 1.0)
    test = ind.test
    if test == "quasi_poisson" and not options.dispersion:
        test = "poisson_exact"
    if test != "quasi_poisson":
        res = _plain_count_test(test, a_, a_e, b_, b_e, options.confidence, intervals)
        return res, np.full(len(a), f"{res.method}; {NOT_ADJUSTED}", dtype=object)
    adjusted = np.isfinite(phi)
    quasi = quasi_poisson_test_many(a_, a_e, b_, b_e, np.where(adjusted, phi, 1.0), options.confidence, intervals)
    if adjusted.all():
        return quasi, np.full(len(a), quasi.method, dtype=object)
    plain = poisson_exact_test_many(a_, a_e, b_, b_e, options.confidence, intervals=intervals)
    fields = {k: np.where(adjusted, getattr(quasi, k), getattr(plain, k)) for k in ("p_value", "statistic", "estimate", "ci_low", "ci_high")}
    res = TestResultArray(method=quasi.method, confidence=options.confidence, null_value=1.0, **fields)
    short = f"{plain.method}; {NOT_ADJUSTED} (fewer than {options.dispersion_min_months} months of history)"
    return res, np.where(adjusted, quasi.method, short).astype(object)


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


def _masked_sum(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, np.nan_to_num(values), 0.0).sum(axis=1)


def compare(
    matrix: SeriesMatrix,
    indicators: Mapping[str, Indicator],
    month: dt.date,
    options: CompareOptions,
) -> pd.DataFrame:
    """The comparison table for ``month``: one row per series, every figure and test."""
    keys = matrix.keys
    n = len(keys)
    is_prop = (keys["measure"] == "proportion").to_numpy()
    is_count = (keys["measure"] == "count").to_numpy()
    out = keys.drop(columns=["table"]).copy()
    out["month"] = month.strftime("%Y-%m")
    immature = matrix.immature if matrix.immature is not None else np.zeros(matrix.num.shape, dtype=bool)

    cur_n, cur_d = _point(matrix, month)
    out["current"] = _value(cur_n, cur_d, is_prop)
    out["current_num"] = cur_n
    out["current_den"] = np.where(is_prop, cur_d, np.nan)
    for k in (1, 2, 3):
        nn, d = _point(matrix, add_months(month, -12 * k))
        out[f"prev_{k}y"] = _value(nn, d, is_prop)

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
        avg[label] = (np.where(enough, s_n, np.nan), np.where(enough, s_d, np.nan), have.astype(float))

    r_n, r_d, r_have = _window(matrix, month, 12)
    full = r_have == 12
    out["rolling_12m"] = np.where(full, _value(r_n, r_d, is_prop), np.nan)
    b_end = baseline_end_for(month, options)
    b_n, b_d, b_have = _window(matrix, b_end, 12)
    b_full = b_have == 12
    out["baseline"] = np.where(b_full, _value(b_n, b_d, is_prop), np.nan)
    out["baseline_period"] = f"{add_months(b_end, -11):%Y-%m} to {b_end:%Y-%m}"

    add_changes(out)

    # --- dispersion and seasonal expectation (count series) ---
    exp = expectations(matrix, month, options, np.flatnonzero(is_count))
    out["dispersion"] = exp.dispersion
    out["expectation"] = np.where(is_count, np.where(exp.seasonal("1y"), "seasonal", "average"), "average")
    for key in ("1y", "3y"):
        with np.errstate(divide="ignore", invalid="ignore"):
            seasonal_expected = avg[key][0] / exp.ref_weight[key]
        out[f"expected_{key}"] = np.where(
            is_count, np.where(exp.seasonal(key), seasonal_expected, out[f"avg_{key}"].to_numpy(dtype=float)), np.nan
        )

    # --- maturity (outcome rates): the pack month, and months left out of the tests ---
    end = matrix.col(month)
    m_immature = immature[:, end] if end is not None else np.zeros(n, dtype=bool)
    has_rule = keys["indicator"].map(lambda i: indicators[i].immature_months > 0).to_numpy()
    out["maturity"] = np.where(has_rule, np.where(m_immature, "immature", "mature"), "")

    # --- the rolling 12 months vs the baseline, on the months they do not share ---
    r_only, b_only = baseline_months(month, options)
    col_of = {m: i for i, m in enumerate(matrix.months)}
    moy = np.array([m.month for m in matrix.months])
    r_mask = np.zeros(len(matrix.months), dtype=bool)
    b_mask = np.zeros(len(matrix.months), dtype=bool)
    r_mask[[col_of[m] for m in r_only if m in col_of]] = True
    b_mask[[col_of[m] for m in b_only if m in col_of]] = True
    # an immature month, on either side, leaves out its calendar month on both sides
    dropped_cal = np.zeros((n, 13), dtype=bool)
    for mask in (r_mask, b_mask):
        hit = immature & mask[None, :]
        for c in range(1, 13):
            dropped_cal[:, c] |= hit[:, moy == c].any(axis=1)
    keep_cal = ~dropped_cal[:, moy]  # (n, months)
    rm = r_mask[None, :] & keep_cal
    bm = b_mask[None, :] & keep_cal
    rb_a_n = np.where(full & b_full, _masked_sum(matrix.num, rm), np.nan)
    rb_a_d = np.where(full & b_full, _masked_sum(matrix.den, rm), np.nan)
    rb_b_n = np.where(full & b_full, _masked_sum(matrix.num, bm), np.nan)
    rb_b_d = np.where(full & b_full, _masked_sum(matrix.den, bm), np.nan)
    rb_a_e = rm.sum(axis=1).astype(float)
    rb_b_e = bm.sum(axis=1).astype(float)
    nothing_mature = (rb_a_e == 0) & (r_mask.sum() > 0) & has_rule
    r_text = _span(r_only)
    b_text = _span(b_only)

    phi = exp.dispersion
    ones = np.ones(n)
    # per comparison: a (num, den, exposure), b (num, den, exposure), φ for the test, label
    # of the reference it is tested against
    comparisons: dict[str, tuple[np.ndarray, ...]] = {
        "": (rb_a_n, rb_a_d, rb_a_e, rb_b_n, rb_b_d, rb_b_e, phi),
        "_prev_1y": (cur_n, cur_d, ones, *_point(matrix, add_months(month, -12)), ones, phi),
    }
    for key in ("1y", "3y"):
        s_n, s_d, have = avg[key]
        seasonal = exp.seasonal(key) & is_count
        ref_exposure = np.where(seasonal, exp.ref_weight[key], have)
        phi_k = np.where(
            seasonal, seasonal_dispersion(phi, np.nan_to_num(cur_n) + np.nan_to_num(s_n), exp.ref_weight[key], exp.log_var[key]), phi
        )
        comparisons[f"_{key}"] = (cur_n, cur_d, ones, s_n, s_d, ref_exposure, phi_k)

    for suffix, (a_n, a_d, a_e, b_n_, b_d_, b_e, phi_c) in comparisons.items():
        labels = np.full(n, "Insufficient data", dtype=object)
        tests = np.full(n, "", dtype=object)
        cols = {k: np.full(n, np.nan) for k in ("p_value", "estimate", "ci_low", "ci_high")}
        for ind_id, idx in out.groupby("indicator").indices.items():
            ind = indicators[str(ind_id)]
            if ind.measure == "proportion":
                res = two_proportion_test_many(a_n[idx], a_d[idx], b_n_[idx], b_d_[idx], options.confidence)
                names = np.full(len(idx), res.method, dtype=object)
            elif ind.measure == "count":
                res, names = _count_tests(
                    ind, a_n[idx], a_e[idx], b_n_[idx], b_e[idx], phi_c[idx], options,
                    intervals=suffix != "_prev_1y",  # that comparison only feeds the sentence
                )
            else:
                continue  # medians are compared from row values elsewhere
            labels[idx] = classify_many(res, ind.label_direction, options.alpha)  # type: ignore[arg-type]
            if suffix in ("_1y", "_3y") and ind.measure == "count":
                seasonal = exp.seasonal(suffix[1:])[idx]
                names = names + np.where(seasonal, ", against the seasonal expectation for the month", ", against the plain average")
            elif suffix == "":
                names = names + f", on the months not shared: {r_text} vs {b_text}"
            tests[idx] = np.where(np.isfinite(res.p_value), names, "")
            for name, column in cols.items():
                column[idx] = getattr(res, name)
        blocked = nothing_mature if suffix == "" else m_immature & has_rule
        labels[blocked] = IMMATURE
        tests[blocked] = ""
        for column in cols.values():
            column[blocked] = np.nan
        out[f"label{suffix}"] = labels
        out[f"test{suffix}"] = tests
        out[f"p_value{suffix}"] = cols["p_value"]
        out[f"estimate{suffix}"] = cols["estimate"]
        out[f"ci_low{suffix}"] = cols["ci_low"]
        out[f"ci_high{suffix}"] = cols["ci_high"]
    return out


def _span(months: list[dt.date]) -> str:
    if not months:
        return "none"
    if len(months) == 1:
        return f"{months[0]:%Y-%m}"
    return f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"


#: the comparisons whose labels make up a pack's family of tests
LABEL_SUFFIXES = ("", "_1y", "_3y")


def add_q_values(table: pd.DataFrame, options: CompareOptions) -> pd.DataFrame:
    """Benjamini–Hochberg q-values over every label of the table (``q_value*`` columns).

    The family is every p-value behind ``label``, ``label_1y`` and ``label_3y`` of the rows
    given (the pack as published).  With ``options.fdr`` a label is significant only when
    its q-value is below α: the others become "Comparable".
    """
    table = table.copy()
    present = [s for s in LABEL_SUFFIXES if f"p_value{s}" in table.columns]
    if not present:
        return table
    p = np.concatenate([table[f"p_value{s}"].to_numpy(dtype=float) for s in present])
    q = bh_qvalues(p)
    n = len(table)
    for k, suffix in enumerate(present):
        qs = q[k * n : (k + 1) * n]
        table[f"q_value{suffix}"] = qs
        if options.fdr:
            labels = table[f"label{suffix}"].to_numpy(dtype=object)
            with np.errstate(invalid="ignore"):
                demote = np.isin(labels, SIGNIFICANT) & ~(qs < options.alpha)
            table[f"label{suffix}"] = np.where(demote, "Comparable", labels)
    return table
