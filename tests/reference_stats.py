"""Reference computations of the pack's count tests, written apart from the engine.

statsmodels fits the Poisson GLM (trend and month of year) for the dispersion and the
seasonal factors; scipy's beta distribution gives the tails of the dispersion-adjusted
exact test; scipy's binomtest the plain one. Series are pandas Series of counts by month
(datetime.date); ``held`` is the set of months the source holds (others are "no data").
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy.stats import beta, binomtest


def shift(m: dt.date, n: int) -> dt.date:
    i = m.year * 12 + m.month - 1 + n
    return dt.date(i // 12, i % 12 + 1, 1)


def window(end: dt.date, n: int) -> list[dt.date]:
    """The n months ending at ``end``, latest first."""
    return [shift(end, -k) for k in range(n)]


def not_shared(m: dt.date, baseline_end: dt.date) -> tuple[list[dt.date], list[dt.date]]:
    """The months of the rolling 12 to m and of the baseline 12 to baseline_end not in both."""
    roll, base = window(m, 12), window(baseline_end, 12)
    return [x for x in roll if x not in base], [x for x in base if x not in roll]


def glm(monthly: pd.Series, months: list[dt.date]) -> tuple[object, np.ndarray]:
    """statsmodels Poisson GLM with intercept, trend and month-of-year dummies (first dropped)."""
    import statsmodels.api as sm

    idx = np.array([x.year * 12 + x.month - 1 for x in months])
    moy = idx % 12
    present = np.unique(moy)
    x = np.column_stack([np.ones(len(idx)), idx / 12.0] + [(moy == c).astype(float) for c in present[1:]])
    y = np.array([float(monthly.get(m, 0)) for m in months])
    return sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2"), present


def dispersion(monthly: pd.Series, held: set[dt.date], m: dt.date) -> float:
    """max(1, Pearson χ²/df) over the up to 36 months ending at m (at least 24), via statsmodels."""
    months = sorted(x for x in window(m, 36) if x in held)
    if len(months) < 24:
        return math.nan
    if sum(float(monthly.get(x, 0)) for x in months) == 0:
        return 1.0
    fit, _ = glm(monthly, months)
    return max(1.0, float(fit.scale))  # type: ignore[attr-defined]


def seasonal(monthly: pd.Series, held: set[dt.date], m: dt.date, ref: list[dt.date]) -> tuple[float, float]:
    """(reference weight Σ s_c(t)/s_c(m), unscaled variance of its log) from a statsmodels fit of
    the 36 months before m, or NaNs where a calendar month has fewer than 10 events."""
    months = sorted(x for x in window(shift(m, -1), 36) if x in held)
    per_month = {c: sum(float(monthly.get(x, 0)) for x in months if x.month - 1 == c) for c in range(12)}
    if min(per_month.values()) < 10:
        return math.nan, math.nan
    fit, present = glm(monthly, months)
    params = np.asarray(fit.params)  # type: ignore[attr-defined]
    gamma = {c: (0.0 if k == 0 else params[1 + k]) for k, c in enumerate(present)}
    target = m.month - 1
    rel = {c: math.exp(gamma[c] - gamma[target]) for c in present}
    weight = sum(rel[x.month - 1] for x in ref)
    grad = np.zeros(len(params))
    for k, c in enumerate(present):
        share = sum(rel[c] for x in ref if x.month - 1 == c) / weight
        if k:  # the first calendar month is the intercept's: its gradient cancels with the others'
            grad[1 + k] = (1.0 if c == target else 0.0) - share
    cov = np.asarray(fit.normalized_cov_params)  # type: ignore[attr-defined]
    return weight, float(grad @ cov @ grad)


def central(a: float, ea: float, b: float, eb: float, phi: float) -> float:
    """Twice the smaller binomial tail of a/φ given (a+b)/φ (beta form, any real counts)."""
    k, n, pi0 = a / phi, (a + b) / phi, ea / (ea + eb)
    lower = 1.0 if k >= n else float(beta.sf(pi0, k + 1, n - k))  # P(X <= k)
    upper = 1.0 if k <= 0 else float(beta.cdf(pi0, k, n - k + 1))  # P(X >= k)
    return min(1.0, 2 * min(lower, upper))


def count_p(a: float, ea: float, b: float, eb: float, phi: float) -> float:
    """The pack's count test: dispersion-adjusted where φ is known, else the plain exact test."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a + b == 0:
        return 1.0
    if math.isnan(phi):  # under 24 months of history: the plain exact test
        return float(binomtest(int(a), int(a + b), ea / (ea + eb)).pvalue)
    return central(a, ea, b, eb, phi)


def month_vs_average(monthly: pd.Series, held: set[dt.date], m: dt.date, ref: list[dt.date]) -> tuple[float, float]:
    """(p-value, expected count) of month m against the reference months, as the pack tests it:
    against the seasonal expectation where the series supports one, widened for its error."""
    phi = dispersion(monthly, held, m)
    cur = float(monthly.get(m, 0))
    total = sum(float(monthly.get(x, 0)) for x in ref)
    weight, log_var = seasonal(monthly, held, m, ref) if not math.isnan(phi) else (math.nan, math.nan)
    if math.isnan(weight):
        return count_p(cur, 1, total, len(ref), phi), total / len(ref)
    pi0 = 1 / (1 + weight)
    phi_eff = phi * (1 + (cur + total) * pi0 * (1 - pi0) * log_var)
    return count_p(cur, 1, total, weight, phi_eff), total / weight
