"""Long-term direction of a monthly series: is it going up or down, and how fast?

Two tests answer it from different angles:

* :func:`poisson_trend_test` — a quasi-Poisson regression of monthly counts
  on time (in years) with month-of-year effects, reporting the annual %
  change.  It uses every month, allows for seasonality and for counts being
  more variable than Poisson, and gives an effect size people understand.
* :func:`mann_kendall_test` — the rank-based Mann–Kendall test with Sen's
  slope.  It assumes no distribution and shrugs off outliers; use it for
  values that are not counts (rates, durations, proportions).

Both need at least :data:`MIN_POINTS` points and report ``None`` with a note
for shorter series.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt
from scipy import stats

from thrv.stats.results import FloatArray, TestResult, check_confidence, unavailable

MIN_POINTS = 6
"""Fewest points either trend test will look at."""
MIN_EVENTS = 10
"""Fewest events :func:`poisson_trend_test` will fit: with fewer, a single busy
month can push the slope towards infinity with an absurdly small p-value."""
SEASONAL_MIN_MONTHS = 24
"""Month-of-year effects are fitted only with two full years or more."""


def _month_numbers(months: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Months since 1970-01 for anything numpy reads as a date (str, date, datetime64)."""
    as_months = np.asarray(months, dtype="datetime64[M]")
    return as_months.astype(np.int64).ravel()


def _method(seasonal: bool, dispersion_used: float, exposure: bool) -> str:
    parts = ["Quasi-Poisson regression: log E[count] = a + b·years"]
    if seasonal:
        parts[0] += " + month of year"
    if exposure:
        parts[0] += " + log(exposure)"
    parts.append(f"dispersion max(1, Pearson χ²/df) = {dispersion_used:.3g}")
    return "; ".join(parts) + "; annual % change = 100(e^b − 1)"


def poisson_trend_test(
    counts: npt.ArrayLike,
    months: npt.ArrayLike,
    seasonal: bool = True,
    confidence: float = 0.95,
    exposure: npt.ArrayLike | None = None,
) -> TestResult:
    """Annual % change in monthly counts from a quasi-Poisson GLM, with its p-value.

    Model (McCullagh & Nelder 1989, §4.5 and §6.2): log E[count_t] = a +
    b·years_t [+ month-of-year effects] [+ log exposure_t], fitted by
    :class:`statsmodels.genmod.generalized_linear_model.GLM` with the Poisson
    family.  ``years`` is months since the first month divided by 12, so gaps
    in the series are fine.  Month-of-year effects enter when ``seasonal`` is
    true and the series spans at least 24 months.

    Overdispersion: crime counts vary more than Poisson (repeat victims,
    linked offences), which makes plain Poisson p-values far too small.  The
    quasi-Poisson fix scales the covariance by φ = Pearson χ²/df, floored at
    1 so that a series that happens to look under-dispersed is not given
    false precision; inference then uses the t distribution on the residual
    degrees of freedom (as R's ``quasipoisson``).  Quasi-Poisson is preferred
    to the negative binomial here because it needs no extra parameter to
    estimate from a few dozen points and leaves the estimate of b unchanged.

    Estimate: 100·(e^b − 1), the annual % change, with the interval from
    b's t interval transformed the same way (``null_value = 0``).  Statistic:
    b's t value.

    ``exposure`` (optional, same length) puts log(exposure) in as an offset,
    for example days in the month or population, so the change is in the
    rate.  A month of the year with no events at all would make its effect
    −∞; seasonality is then left out and the note says so.  Series with fewer
    than 10 events, or events in fewer than three months, are not fitted.
    """
    confidence = check_confidence(confidence)
    y = np.asarray(counts, dtype=np.float64).ravel()
    month = _month_numbers(months)
    method = _method(seasonal, 1.0, exposure is not None)
    if y.size != month.size:
        raise ValueError(f"counts ({y.size}) and months ({month.size}) differ in length")
    if not (np.isfinite(y).all() and (y >= 0).all()):
        raise ValueError("counts must be finite and non-negative")
    if np.unique(month).size != month.size:
        raise ValueError("months must not repeat")
    if y.size < MIN_POINTS:
        return unavailable(
            method,
            confidence,
            f"Too short for a trend: {y.size} months, at least {MIN_POINTS} needed.",
        )
    if y.sum() == 0:
        return unavailable(
            method, confidence, "No events in any month: there is no trend to estimate."
        )
    if y.sum() < MIN_EVENTS or np.count_nonzero(y) < 3:
        return unavailable(
            method,
            confidence,
            f"Too few events for a trend: {int(y.sum())} in {np.count_nonzero(y)} month(s); "
            f"at least {MIN_EVENTS} events in three or more months are needed.",
        )
    offset = None
    if exposure is not None:
        e = np.asarray(exposure, dtype=np.float64).ravel()
        if e.size != y.size or not (np.isfinite(e).all() and (e > 0).all()):
            raise ValueError("exposure must be positive and as long as counts")
        offset = np.log(e)

    notes: list[str] = []
    order = np.argsort(month)
    y, month = y[order], month[order]
    if offset is not None:
        offset = offset[order]
    years = (month - month[0]) / 12.0
    columns = [np.ones_like(years), years]
    span = int(month[-1] - month[0]) + 1
    use_seasonal = seasonal and span >= SEASONAL_MIN_MONTHS
    if use_seasonal:
        month_of_year = month % 12
        totals = np.bincount(month_of_year, weights=y, minlength=12)
        present = np.unique(month_of_year)
        if (totals[present] == 0).any():
            use_seasonal = False
            notes.append(
                "A month of the year has no events in any year, so month-of-year effects "
                "were left out."
            )
        else:
            columns.extend((month_of_year == m).astype(float) for m in present[1:])
    elif seasonal:
        notes.append(
            f"Fewer than {SEASONAL_MIN_MONTHS} months: month-of-year effects were left out."
        )
    design = np.column_stack(columns)
    if design.shape[0] <= design.shape[1]:
        return unavailable(method, confidence, "Too few months for the number of model terms.")

    import statsmodels.api as sm  # imported here: it costs most of a second to load

    model = sm.GLM(y, design, family=sm.families.Poisson(), offset=offset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = model.fit()
        dispersion = float(first.pearson_chi2 / first.df_resid)
        scale = max(1.0, dispersion)
        fitted = model.fit(scale=scale, use_t=True)
    relevant = [
        w
        for w in caught
        if not issubclass(
            w.category, DeprecationWarning | PendingDeprecationWarning | FutureWarning
        )
    ]
    if relevant:
        notes.append(
            "The model fit raised a warning (" + str(relevant[0].message).strip() + "); "
            "treat the result with caution."
        )
    b = float(fitted.params[1])
    low, high = (float(v) for v in np.asarray(fitted.conf_int(alpha=1 - confidence))[1])
    p_value = float(fitted.pvalues[1])
    statistic = float(fitted.tvalues[1])
    if not all(math.isfinite(v) for v in (b, low, high, p_value)):
        return unavailable(
            _method(use_seasonal, scale, offset is not None),
            confidence,
            "The model could not be fitted to these counts. " + " ".join(notes),
        )
    return TestResult(
        method=_method(use_seasonal, scale, offset is not None),
        p_value=p_value,
        statistic=statistic,
        estimate=100.0 * math.expm1(b),
        ci_low=100.0 * math.expm1(low),
        ci_high=100.0 * math.expm1(high),
        confidence=confidence,
        note=" ".join(notes),
        null_value=0.0,
    )


def _deseasonalise(values: FloatArray, seasons: npt.ArrayLike) -> FloatArray:
    labels = np.asarray(seasons).ravel()
    if labels.size != values.size:
        raise ValueError("seasons must be as long as values")
    _, index = np.unique(labels, return_inverse=True)
    index = index.reshape(-1)
    means = np.bincount(index, weights=values) / np.bincount(index)
    return values - means[index]


def _tie_term(values: FloatArray) -> float:
    _, counts = np.unique(values, return_counts=True)
    counts = counts[counts > 1].astype(np.float64)
    return float(np.sum(counts * (counts - 1) * (2 * counts + 5)))


def mann_kendall_test(
    values: npt.ArrayLike,
    confidence: float = 0.95,
    times: npt.ArrayLike | None = None,
    seasons: npt.ArrayLike | None = None,
    continuity: bool = True,
) -> TestResult:
    """Mann–Kendall test for a monotonic trend, with Sen's slope as the estimate.

    S = Σ_{i<j} sign((x_j − x_i)·(t_j − t_i)) over pairs of points in time
    order; Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)]/18 with t_g the
    sizes of groups of tied values; z = (S − sign S)/√Var(S) with the
    continuity correction (``continuity=False`` drops it, and then the
    p-value equals :func:`scipy.stats.kendalltau`'s asymptotic p-value for
    (time, value) when nothing is tied).  Two-sided normal p-value.  Mann
    (1945); Kendall (1975); Gilbert (1987, ch. 16).

    Estimate: Sen's (1968) slope, the median of pairwise slopes, per unit of
    ``times`` (default 0, 1, 2, … so per step), with Sen's interval — both
    from :func:`scipy.stats.theilslopes`.  ``statistic`` is S.

    ``seasons`` (labels such as month of year) removes each season's mean
    first, a simple deseasonalisation; Hirsch's seasonal Kendall test is the
    stricter alternative and is not implemented.  Non-finite values are
    dropped with their times.
    """
    confidence = check_confidence(confidence)
    method = "Mann–Kendall trend test; Sen's slope"
    x = np.asarray(values, dtype=np.float64).ravel()
    t = (
        np.arange(x.size, dtype=np.float64)
        if times is None
        else np.asarray(times, dtype=np.float64).ravel()
    )
    if t.size != x.size:
        raise ValueError("times must be as long as values")
    if seasons is not None:
        method = "Mann–Kendall trend test on deseasonalised values; Sen's slope"
    keep = np.isfinite(x) & np.isfinite(t)
    note = f"{int((~keep).sum())} missing value(s) left out." if not keep.all() else ""
    if seasons is not None:
        labels = np.asarray(seasons).ravel()
        if labels.size != x.size:
            raise ValueError("seasons must be as long as values")
        x = _deseasonalise(x[keep], labels[keep])
    else:
        x = x[keep]
    t = t[keep]
    n = x.size
    if n < MIN_POINTS:
        return unavailable(
            method,
            confidence,
            f"Too short for a trend: {n} points, at least {MIN_POINTS} needed. {note}".strip(),
        )
    if np.unique(t).size != n:
        raise ValueError("times must not repeat")
    order = np.argsort(t)
    x, t = x[order], t[order]
    upper = np.triu_indices(n, k=1)
    s = float(np.sign(x[upper[1]] - x[upper[0]]).sum())
    variance = (n * (n - 1) * (2 * n + 5) - _tie_term(x)) / 18.0
    slope = stats.theilslopes(x, t, alpha=confidence)
    if variance <= 0:
        return TestResult(
            method=method,
            p_value=1.0,
            statistic=0.0,
            estimate=0.0,
            ci_low=0.0,
            ci_high=0.0,
            confidence=confidence,
            note=f"All values are equal: no trend. {note}".strip(),
        )
    numerator = s - math.copysign(1.0, s) if continuity and s != 0 else s
    z = numerator / math.sqrt(variance)
    return TestResult(
        method=method,
        p_value=float(2 * stats.norm.sf(abs(z))),
        statistic=s,
        estimate=float(slope.slope),
        ci_low=float(slope.low_slope),
        ci_high=float(slope.high_slope),
        confidence=confidence,
        note=note,
        null_value=0.0,
    )
