"""thrv.stats.dispersion: the batched quasi-Poisson fit against statsmodels, on real series.

The real series are monthly counts read straight from the published data.police.uk files
(pandas, not the store): Cambridgeshire 2024-01..2025-12 (the bundled sample, 24 months) and
Northumbria 2020-05..2023-02 (33 months, 2022-01 missing in the source).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.stats.dispersion import design, fit_seasonal_poisson, seasonal_reference

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "cambridgeshire"
NORTHUMBRIA = ROOT.parent / "shared" / "data" / "police_uk" / "northumbria" / "street"


def _monthly(files: list[Path], by: str = "Crime type") -> pd.DataFrame:
    """(series × month) counts of crimes by ``by``; months as index numbers; NaN = no file."""
    frames = [pd.read_csv(f, usecols=["Month", "Crime type", "LSOA name"], engine="pyarrow") for f in files]
    df = pd.concat(frames, ignore_index=True)
    df["district"] = df["LSOA name"].str.rsplit(" ", n=1).str[0].fillna("(none)")
    stamp = pd.to_datetime(df["Month"])
    df["m"] = stamp.dt.year * 12 + stamp.dt.month - 1
    table = df.groupby([by, "m"]).size().unstack(fill_value=0).astype(float)
    cols = np.arange(table.columns.min(), table.columns.max() + 1)
    table = table.reindex(columns=cols)
    return table  # months with no file are all-NaN columns


@pytest.fixture(scope="module")
def cambridgeshire() -> pd.DataFrame:
    files = sorted(SAMPLE.glob("*/*-street.csv.gz"))
    assert len(files) == 24
    by_type = _monthly(files)
    crimes = by_type.drop(index="Anti-social behaviour").sum(axis=0).rename("All crime")
    return pd.concat([by_type, crimes.to_frame().T])


@pytest.fixture(scope="module")
def by_district() -> pd.DataFrame:
    files = sorted(SAMPLE.glob("*/*-street.csv.gz"))
    return _monthly(files, by="district")


@pytest.fixture(scope="module")
def northumbria() -> pd.DataFrame:
    if not NORTHUMBRIA.exists():
        pytest.skip("the wider real data set is not beside the repository")
    files = sorted(NORTHUMBRIA.glob("*.csv.gz"))
    assert len(files) == 33
    return _monthly(files)


def _statsmodels(y: np.ndarray, months: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """statsmodels GLM(Poisson).fit(scale="X2") on the months with data, same design."""
    ok = np.isfinite(y)
    x = design(months % 12, (months - months[0]) / 12.0)[ok]
    keep = x.any(axis=0)
    fit = sm.GLM(y[ok], x[:, keep], family=sm.families.Poisson()).fit(scale="X2")
    return float(fit.scale), keep, np.asarray(fit.params), np.asarray(fit.normalized_cov_params)


def _fit(table: pd.DataFrame) -> object:
    months = np.asarray(table.columns)
    return fit_seasonal_poisson(table.to_numpy(), months % 12, (months - months[0]) / 12.0)


def test_reproduces_the_dispersion_of_real_series(cambridgeshire: pd.DataFrame, northumbria: pd.DataFrame) -> None:
    """φ of the real monthly series: all crime 4.2, burglary 5.3, shoplifting 4.5, drugs 21
    (Cambridgeshire, 24 months); violence and sexual offences 23 (Northumbria, 33 months)."""
    c = _fit(cambridgeshire)
    phi = dict(zip(cambridgeshire.index, c.dispersion, strict=True))  # type: ignore[attr-defined]
    assert phi["All crime"] == pytest.approx(4.1875, abs=5e-4)
    assert phi["Burglary"] == pytest.approx(5.3208, abs=5e-4)
    assert phi["Shoplifting"] == pytest.approx(4.4517, abs=5e-4)
    assert phi["Drugs"] == pytest.approx(20.9875, abs=5e-4)
    n = _fit(northumbria)
    phi_n = dict(zip(northumbria.index, n.dispersion, strict=True))  # type: ignore[attr-defined]
    assert phi_n["Violence and sexual offences"] == pytest.approx(22.7901, abs=5e-4)
    assert n.months[list(northumbria.index).index("Violence and sexual offences")] == 33  # type: ignore[attr-defined]


@pytest.mark.parametrize(("which", "at_least"), [("cambridgeshire", 14), ("northumbria", 14), ("by_district", 6)])
def test_batched_fit_equals_statsmodels_on_every_real_series(which: str, at_least: int, request: pytest.FixtureRequest) -> None:
    table: pd.DataFrame = request.getfixturevalue(which)
    months = np.asarray(table.columns)
    fit = _fit(table)
    compared = 0
    covariance = fit.covariance()  # type: ignore[attr-defined]
    for i, y in enumerate(table.to_numpy()):
        ok = np.isfinite(y)
        if y[ok].sum() < 30 or (y[ok] == 0).any():
            continue  # sparse series: a month-of-year effect can run off to -inf (no finite MLE)
        scale, keep, params, cov = _statsmodels(y, months)
        assert fit.dispersion[i] == pytest.approx(max(1.0, scale), rel=1e-7)  # type: ignore[attr-defined]
        assert fit.pearson_chi2[i] / fit.df_resid[i] == pytest.approx(scale, rel=1e-7)  # type: ignore[attr-defined]
        np.testing.assert_allclose(fit.coef[i][keep], params, rtol=1e-6, atol=1e-8)  # type: ignore[attr-defined]
        np.testing.assert_allclose(covariance[i][np.ix_(keep, keep)], cov, rtol=1e-5, atol=1e-10)
        compared += 1
    assert compared >= at_least


def test_short_and_empty_series() -> None:
    months = np.arange(30)
    y = np.full((3, 30), 5.0)
    y[0, :10] = np.nan  # 20 months: too few for a dispersion
    y[1] = 0.0  # no events: nothing is dispersed
    fit = fit_seasonal_poisson(y, months % 12)
    assert np.isnan(fit.dispersion[0]) and fit.months[0] == 20
    assert fit.dispersion[1] == 1.0
    assert fit.dispersion[2] == 1.0  # constant counts: χ² = 0, floored at 1
    one_year = fit_seasonal_poisson(np.full((1, 12), 4.0), np.arange(12), min_months=0)
    assert np.isnan(one_year.dispersion[0])  # trend and season cannot be told apart


def test_seasonal_reference_against_statsmodels_delta_method(cambridgeshire: pd.DataFrame) -> None:
    """Reference weight Σ s_c(t)/s_c(M) and the variance of its log, recomputed from statsmodels'
    parameters and covariance for December 2025 against the 12 months before it."""
    table = cambridgeshire.iloc[:, :-1]  # the 23 months before December 2025
    months = np.asarray(table.columns)
    fit = _fit(table)
    ref_mask = np.zeros(table.shape, dtype=bool)
    ref_mask[:, -12:] = True
    ref = seasonal_reference(fit, 11, ref_mask, months % 12)  # type: ignore[arg-type]
    for i, name in enumerate(table.index):
        y = table.to_numpy()[i]
        if name not in ("All crime", "Burglary", "Shoplifting", "Drugs"):
            continue
        _, _, params, cov = _statsmodels(y, months)
        gamma = params[1:]  # the design has no intercept: trend, then the 12 months
        rel = np.exp(gamma - gamma[11])
        weight = rel.sum()  # the 12 reference months are one of each calendar month
        grad = -rel / weight
        grad[11] += 1
        var = grad @ cov[1:, 1:] @ grad
        assert ref.ref_weight[i] == pytest.approx(weight, rel=1e-7)
        assert ref.log_var[i] == pytest.approx(var, rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    scale=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(24, 48),
)
def test_property_scaling_counts_scales_pearson_chi2(scale: int, seed: int, n: int) -> None:
    """Multiplying every count by c multiplies Pearson χ² by c and leaves the season alone."""
    rng = np.random.default_rng(seed)
    months = np.arange(n)
    mu = 50 * np.exp(0.3 * np.sin(2 * np.pi * months / 12))
    y = rng.poisson(mu).astype(float)[None, :]
    a = fit_seasonal_poisson(y, months % 12)
    b = fit_seasonal_poisson(scale * y, months % 12)
    assert b.pearson_chi2[0] == pytest.approx(scale * a.pearson_chi2[0], rel=1e-6)
    np.testing.assert_allclose(b.coef[0, 0], a.coef[0, 0], atol=1e-7)  # the same trend
    assert a.dispersion[0] >= 1.0 and b.dispersion[0] >= 1.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), gaps=st.sets(st.integers(0, 35), max_size=8))
def test_property_masked_months_are_months_left_out(seed: int, gaps: set[int]) -> None:
    """A NaN month is the same as fitting statsmodels without that month."""
    rng = np.random.default_rng(seed)
    months = np.arange(36)
    y = rng.negative_binomial(20, 20 / (20 + 80 * (1 + 0.2 * np.cos(2 * np.pi * months / 12)))).astype(float)
    y[list(gaps)] = np.nan
    fit = fit_seasonal_poisson(y[None, :], months % 12, months / 12.0)
    scale, keep, params, _ = _statsmodels(y, months)
    assert fit.dispersion[0] == pytest.approx(max(1.0, scale), rel=1e-7)
    np.testing.assert_allclose(fit.coef[0][keep], params, rtol=1e-6, atol=1e-8)
