"""The generated measures file reproduces the published figures it is calibrated to, and says it is generated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from thrv.plan.generate import CALIBRATION, simulate_measures

from .conftest import MONTH, SEED


@pytest.fixture(scope="module")
def frame(measures_dir: Path) -> pd.DataFrame:
    return pd.read_csv(measures_dir / "measures.csv", dtype={"period": str})


def _last12(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    rows = df[df["measure"] == measure]
    months = [f"{(MONTH.year * 12 + MONTH.month - 1 - k) // 12}-{(MONTH.year * 12 + MONTH.month - 1 - k) % 12 + 1:02d}" for k in range(12)]
    mine = rows[rows["period"].isin(months)]
    assert len(mine) == 12
    return mine


def test_every_row_is_labelled_generated(frame: pd.DataFrame, measures_dir: Path) -> None:
    assert (frame["generated"] == True).all()  # noqa: E712
    assert frame["note"].str.startswith("GENERATED: ").all()
    readme = (measures_dir / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# GENERATED DATA — NOT REAL POLICE RECORDS")
    assert {c.measure for c in CALIBRATION} == set(frame["measure"])
    assert all(f"`{c.measure}`" in readme for c in CALIBRATION)


def test_calibrated_figures_are_exact(frame: pd.DataFrame) -> None:
    calls = _last12(frame, "calls_999_answered_10s")
    assert calls["denominator"].sum() == 123_498
    assert round(100 * calls["numerator"].sum() / calls["denominator"].sum(), 1) == 92.1
    safe = _last12(frame, "feel_safe")
    assert round(100 * safe["numerator"].sum() / safe["denominator"].sum(), 1) == 95.8
    concerns = _last12(frame, "police_deal_with_concerns")  # a contractor's % and n
    positive = (concerns["value"] * concerns["n"] / 100).round()
    assert round(100 * positive.sum() / concerns["n"].sum(), 1) == 71.2
    assert _last12(frame, "special_constables_hours")["value"].sum() == 52_000
    head = frame[frame["measure"] == "special_constables"]
    assert head.loc[head["period"] == f"{MONTH:%Y-%m}", "value"].item() == 242
    turnover = frame[(frame["measure"] == "special_constables_turnover") & (frame["period"] == "2024/25")].iloc[0]
    assert round(100 * turnover["numerator"] / turnover["denominator"], 1) == 20.9 and turnover["comparator_value"] == 25.9
    bme = frame[(frame["measure"] == "bme_officers") & (frame["period"] == "2025-03-31")].iloc[0]
    assert round(100 * bme["numerator"] / bme["denominator"], 1) == 2.6 and bme["comparator_value"] == 9.7
    overdue = frame[frame["measure"] == "victim_care_contracts_overdue"]
    last_two = overdue.tail(2)
    assert list(last_two["period"]) == ["2025-Q3", "2025-Q4"]
    assert [round(100 * n / d, 1) for n, d in zip(last_two["numerator"], last_two["denominator"], strict=True)] == [16.5, 13.9]
    hate = frame[frame["measure"] == "hate_crimes"]
    assert hate["period"].iloc[0] == "2015-04" and hate["period"].iloc[-1] == f"{MONTH:%Y-%m}"
    top = hate[hate["value"] == hate["value"].max()]
    assert list(top["period"]) == ["2017-06"] and top["value"].item() == 131


def test_same_seed_same_file(tmp_path: Path, measures_dir: Path) -> None:
    simulate_measures(tmp_path, seed=SEED, months=36, end=MONTH)
    assert (tmp_path / "measures.csv").read_bytes() == (measures_dir / "measures.csv").read_bytes()
    simulate_measures(tmp_path / "other", seed=SEED + 1, months=36, end=MONTH)
    assert (tmp_path / "other" / "measures.csv").read_bytes() != (measures_dir / "measures.csv").read_bytes()


def test_other_end_months(tmp_path: Path) -> None:
    simulate_measures(tmp_path, seed=1, months=12, end=dt.date(2024, 2, 1))
    df = pd.read_csv(tmp_path / "measures.csv", dtype={"period": str})
    overdue = df[df["measure"] == "victim_care_contracts_overdue"]
    assert overdue["period"].iloc[-1] == "2023-Q4"  # the last complete quarter by February 2024
    assert set(df.loc[df["measure"] == "special_constables_turnover", "period"]) == {"2022/23", "2021/22", "2020/21"}
    with pytest.raises(ValueError, match="at least 12"):
        simulate_measures(tmp_path, months=6)
    with pytest.raises(ValueError, match="not a force"):
        simulate_measures(tmp_path, force="Atlantis Police")
