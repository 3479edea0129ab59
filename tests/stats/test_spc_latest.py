"""The vectorised latest-point XmR verdict equals xmr_chart, series by series,
on generated series (property tests) and on every real series of the sample pack."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.indicators.pack import build_pack
from thrv.stats.spc import xmr_chart, xmr_latest_many
from thrv.store.database import Store

DIRECTIONS = ["lower_is_better", "higher_is_better", "none"]


def _compare(series: list[list[float]], directions: list[str], shift: int = 7, trend: int = 7,
             screen: bool = True, gaps: list[list[int]] | None = None) -> None:
    """``gaps[i]``: positions at which NaN (a missing month) is put into series i."""
    padded = []
    for i, s in enumerate(series):
        row = list(s)
        for g in sorted(gaps[i] if gaps else [], reverse=True):
            row.insert(min(g, max(len(row) - 1, 0)), np.nan)  # never after the last point
        padded.append(row)
    width = max(len(s) for s in padded)
    matrix = np.full((len(series), width), np.nan)
    for i, s in enumerate(padded):
        if s:
            matrix[i, width - len(s):] = s
    got = xmr_latest_many(matrix, directions, shift_length=shift, trend_length=trend, screen_outliers=screen)
    for i, (s, d) in enumerate(zip(series, directions, strict=True)):
        if len(s) < 2:
            assert got.variation[i] == ""
            continue
        chart = xmr_chart(s, improvement=d, shift_length=shift, trend_length=trend,  # type: ignore[arg-type]
                          screen_outliers=screen)
        assert got.points[i] == len(s)
        assert got.variation[i] == chart.variation, (s, d)
        assert got.rule[i] == chart.rule[-1]
        assert got.beyond_limits[i] == chart.beyond_limits[-1]
        assert got.shift[i] == chart.shift[-1]
        assert got.trend[i] == chart.trend[-1]
        assert got.two_of_three[i] == chart.two_of_three[-1]
        assert got.cause_direction[i] == chart.cause_direction[-1]
        assert np.isclose(got.mean[i], chart.mean[-1]) and np.isclose(got.ucl[i], chart.ucl[-1])


def test_known_signals() -> None:
    flat = [10.0, 12, 9, 11, 10, 12, 9, 11, 10, 12, 9, 11]
    _compare(
        [
            [*flat, 30.0],  # beyond the upper limit
            [*flat, 12, 12, 12, 12, 12, 12, 12],  # a shift above the mean
            [1.0, 2, 3, 4, 5, 6, 7, 8],  # a trend
            [5.0],  # too short
            [3.0, 3.0, 3.0],  # no variation
        ],
        ["lower_is_better", "higher_is_better", "none", "none", "none"],
    )


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.lists(st.integers(0, 40).map(float), min_size=0, max_size=30),
            st.sampled_from(DIRECTIONS),
        ),
        min_size=1,
        max_size=8,
    ),
    shift=st.integers(2, 9),
    trend=st.integers(3, 9),
    screen=st.booleans(),
    gaps=st.lists(st.lists(st.integers(0, 30), max_size=3), min_size=8, max_size=8),
)
def test_property_equals_xmr_chart(data: list[tuple[list[float], str]], shift: int, trend: int,
                                   screen: bool, gaps: list[list[int]]) -> None:
    """Missing months (NaN) are skipped: the verdict is that of the chart of the rest."""
    _compare([d[0] for d in data], [d[1] for d in data], shift, trend, screen, gaps[: len(data)])


def test_pack_spc_equals_the_full_chart_on_every_real_series(sample_store: Path) -> None:
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, dt.date(2025, 12, 1), levels=["force", "area", "district"])
    hist = pack.history
    table = pack.table
    checked = special = 0
    for key, g in hist.groupby(["indicator", "level", "force", "area"], sort=False):
        row = table[(table["indicator"] == key[0]) & (table["level"] == key[1])
                    & (table["force"] == key[2]) & (table["area"] == key[3])]
        if row.empty or pack.indicators[key[0]].measure == "p90":
            continue
        r = row.iloc[0]
        y = g.sort_values("month")["value"].to_numpy(float)
        if not np.isfinite(y[-1]):
            assert r["spc_variation"] in ("", None) or pd.isna(r["spc_variation"])
            continue
        if r.get("maturity") == "immature":  # outcome rates still moving are not charted
            assert r["spc_variation"] == "" and r["spc_points"] == 0, key
            continue
        y = y[np.isfinite(y)]
        if y.size < 2:
            continue
        chart = xmr_chart(y, pack.indicators[key[0]].direction)  # type: ignore[arg-type]
        assert r["spc_variation"] == chart.variation, key
        assert r["spc_points"] == y.size
        assert r["spc_mean"] == pytest.approx(chart.mean[-1])
        assert r["spc_ucl"] == pytest.approx(chart.ucl[-1])
        assert str(r["spc_rules"]).split(", ")[0] == chart.rule[-1]
        checked += 1
        special += chart.variation != "common cause"
    assert checked > 100 and special > 0


def test_one_missing_month_does_not_cut_the_history(tmp_path: Path, shared_data: Path) -> None:
    """Northumbria has no 2022-01 file (a real gap): the SPC history skips it."""
    from thrv.ingest import ingest

    src = shared_data / "police_uk/northumbria/street"
    files = tmp_path / "street"
    files.mkdir()
    for month in pd.period_range("2021-11", "2022-03", freq="M"):
        f = src / f"{month}-northumbria-street.csv.gz"
        if f.exists():
            shutil.copy(f, files / f.name)
    assert not (files / "2022-01-northumbria-street.csv.gz").exists()
    with Store(tmp_path / "n.duckdb") as store:
        ingest(store, [files])
        pack = build_pack(store, dt.date(2022, 3, 1), levels=["force"])
    row = pack.table[pack.table["indicator"] == "all_crime"].iloc[0]
    assert row["spc_points"] == 4  # 5 months, one missing; the gap used to cut it to 2
    hist = pack.history[pack.history["indicator"] == "all_crime"].sort_values("month")
    y = hist["value"].to_numpy(float)
    chart = xmr_chart(y[np.isfinite(y)], "lower_is_better")
    assert row["spc_variation"] == chart.variation
    assert row["spc_ucl"] == pytest.approx(chart.ucl[-1])
