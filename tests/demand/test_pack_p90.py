"""P90 rows get their own test: a seeded bootstrap of the 90th-percentile difference.

The extracts are generated (no force publishes incident records; see conftest.py); the check
recomputes the test from the stored rows with thrv.stats.quantiles directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from thrv.indicators.pack import build_pack
from thrv.stats.quantiles import bootstrap_quantile_test
from thrv.store.database import Store

from .conftest import GENERATED_END


def test_p90_rows_have_their_own_test(generated_store: Path) -> None:
    with Store(generated_store, read_only=True) as store:
        table = build_pack(store, GENERATED_END, levels=["force"]).table
    con = duckdb.connect(str(generated_store), read_only=True)
    raw = con.sql(
        "SELECT month, response_minutes FROM incidents WHERE grade = 'immediate' AND attended AND response_minutes IS NOT NULL"
    ).df()
    con.close()
    month = raw["month"].map(lambda d: dt.date(d.year, d.month, 1) if hasattr(d, "year") else d)
    cur = raw.loc[month == GENERATED_END, "response_minutes"].to_numpy(dtype=float)
    end = pd.Period(GENERATED_END, "M")
    prior_months = {(end - k).to_timestamp().date() for k in range(1, 13)}
    prior = raw.loc[month.isin(prior_months), "response_minutes"].to_numpy(dtype=float)
    p90 = table[table["indicator"] == "response_immediate_p90"].iloc[0]
    median = table[table["indicator"] == "response_immediate_median"].iloc[0]
    assert p90["current"] == pytest.approx(np.quantile(cur, 0.9))
    expected = bootstrap_quantile_test(cur, prior, 0.9, 0.95, seed=0)
    assert p90["test_1y"] == expected.method and "90th percentiles" in p90["test_1y"]
    assert p90["p_value_1y"] == pytest.approx(expected.p_value)
    assert p90["estimate_1y"] == pytest.approx(np.quantile(cur, 0.9) - np.quantile(prior, 0.9))
    assert "Mann" in median["test_1y"] and "Mann" not in p90["test_1y"]
    assert p90["p_value_1y"] != median["p_value_1y"]
