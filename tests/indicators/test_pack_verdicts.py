"""The pack's verdict columns on the real sample: dispersion, unlocated rows, charges counted
as crimes, q-values, the legend, and the national comparison allowing for dispersion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from thrv.indicators.compare import CompareOptions
from thrv.indicators.pack import build_pack
from thrv.reference import REFERENCE
from thrv.stats.fdr import bh_qvalues
from thrv.store.database import Store

FORCE = "Cambridgeshire Constabulary"


@pytest.fixture(scope="module")
def december(sample_store: Path) -> pd.DataFrame:
    with Store(sample_store, read_only=True) as store:
        return build_pack(store, dt.date(2025, 12, 1), levels=["force", "area", "district"]).table


def test_districts_add_up_to_the_force_with_an_unlocated_row(sample_store: Path, december: pd.DataFrame) -> None:
    """Crimes without an LSOA, or with one outside the force area, are the "Unlocated" row."""
    con = duckdb.connect(str(sample_store), read_only=True)
    raw = con.sql("SELECT lsoa_code, crime_type FROM crimes WHERE month = DATE '2025-12-01'").df()
    con.close()
    lsoa = pd.read_csv(REFERENCE / "lsoa.csv.gz", dtype=str)
    inside = set(lsoa.loc[lsoa["pfa_code"] == "E23000023", "lsoa_code"])
    crimes = raw[raw["crime_type"] != "Anti-social behaviour"]
    unlocated = int((~crimes["lsoa_code"].isin(inside)).sum())
    t = december
    for ind in t.loc[(t["level"] == "district"), "indicator"].unique():
        force = t[(t["indicator"] == ind) & (t["level"] == "force")].iloc[0]
        districts = t[(t["indicator"] == ind) & (t["level"] == "district")]
        if pd.isna(force["current_num"]):  # no data that month (outcomes end in 2024)
            assert districts["current_num"].isna().all(), ind
        else:
            assert districts["current_num"].sum() == force["current_num"], ind
        assert "Unlocated" in set(districts["area"])
    row = t[(t["indicator"] == "all_crime") & (t["area"] == "Unlocated")].iloc[0]
    assert row["current"] == unlocated == 232  # 4.3% of December's 5,394 crimes
    assert pd.isna(row["population"]) and pd.isna(row["rate_per_1000"])
    areas = t[(t["indicator"] == "all_crime") & (t["level"] == "area")]
    assert "Unlocated" not in set(areas["area"])


def test_dispersion_column_and_test_names(december: pd.DataFrame, sample_store: Path) -> None:
    t = december
    counts = t[t["indicator"].isin(["all_crime", "burglary", "drugs", "asb"])]
    assert (counts["dispersion"] >= 1).all()  # 24 months of history ending at December 2025
    force = t[t["level"] == "force"].set_index("indicator")
    assert force.loc["all_crime", "dispersion"] == pytest.approx(4.1875, abs=5e-4)
    assert force.loc["drugs", "dispersion"] == pytest.approx(20.9875, abs=5e-4)
    assert t.loc[t["indicator"] == "prosecution_possible_rate", "dispersion"].isna().all()  # not a count
    for col in ("test", "test_1y"):
        names = counts[col][counts[col] != ""]
        assert names.str.startswith("Dispersion-adjusted").all()
    with Store(sample_store, read_only=True) as store:
        june = build_pack(store, dt.date(2025, 6, 1), levels=["force"]).table
    row = june[june["indicator"] == "all_crime"].iloc[0]
    assert pd.isna(row["dispersion"])  # 18 months of history
    assert "not adjusted for over-dispersion (fewer than 24 months of history)" in row["test_1y"]


def test_dispersion_makes_fewer_labels_significant(sample_store: Path, december: pd.DataFrame) -> None:
    with Store(sample_store, read_only=True) as store:
        plain = build_pack(store, dt.date(2025, 12, 1), levels=["force", "area", "district"], options=CompareOptions(dispersion=False)).table
    counts = december["indicator"].isin(["all_crime", "burglary", "shoplifting", "drugs", "asb", "violence_and_sexual_offences"])
    sig = ["Higher", "Lower", "Improved", "Deteriorated"]
    adjusted_share = december.loc[counts, ["label", "label_1y"]].isin(sig).to_numpy().mean()
    plain_share = plain.loc[counts, ["label", "label_1y"]].isin(sig).to_numpy().mean()
    assert adjusted_share < plain_share
    # φ scales the evidence, it does not move the estimate
    np.testing.assert_allclose(december.loc[counts, "estimate"], plain.loc[counts, "estimate"], rtol=1e-9)
    assert plain.loc[counts, "test_1y"].str.contains("not adjusted for over-dispersion").all()


def test_q_values_are_benjamini_hochberg_over_every_label_of_the_pack(december: pd.DataFrame, sample_store: Path) -> None:
    p = np.concatenate([december[c].to_numpy(dtype=float) for c in ("p_value", "p_value_1y", "p_value_3y")])
    q = bh_qvalues(p)
    n = len(december)
    np.testing.assert_allclose(december["q_value_1y"].to_numpy(dtype=float), q[n : 2 * n], equal_nan=True)
    with Store(sample_store, read_only=True) as store:
        fdr = build_pack(store, dt.date(2025, 12, 1), levels=["force", "area", "district"], options=CompareOptions(fdr=True)).table
    sig = ["Higher", "Lower", "Improved", "Deteriorated"]
    assert fdr["label"].isin(sig).sum() <= december["label"].isin(sig).sum()
    kept = fdr[fdr["label"].isin(sig)]
    assert (kept["q_value"] < 0.05).all()


def test_charges_count_crimes_not_outcome_rows(sample_store: Path) -> None:
    """December 2024 outcomes file: 530 "Suspect charged" rows for 466 crimes; court results
    and offences taken into consideration are not charges."""
    con = duckdb.connect(str(sample_store), read_only=True)
    rows, crimes = con.sql(
        "SELECT count(*), count(DISTINCT crime_id) FROM outcomes "
        "WHERE month = DATE '2024-12-01' AND outcome_type = 'Suspect charged'"
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert (rows, crimes) == (530, 466)
    with Store(sample_store, read_only=True) as store:
        t = build_pack(store, dt.date(2024, 12, 1), levels=["force"]).table
    row = t[t["indicator"] == "outcomes_charged"].iloc[0]
    assert row["current"] == crimes


def test_the_pack_carries_its_legend(sample_store: Path) -> None:
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, dt.date(2025, 6, 1), levels=["force"])
    legend = pack.meta["legend"]
    assert {"label", "label_1y", "label_3y", "dispersion", "maturity", "q_value", "unlocated", "labels", "test"} <= set(legend)
    assert "April 2025 to June 2025 against April 2024 to June 2024" in legend["label"]
    assert "seasonal expectation" in legend["label_1y"]
    assert pack.meta["unlocated"]["area"] == "Unlocated"
    assert pack.meta["baseline_test_months"][0] == ["2025-04", "2025-05", "2025-06"]


def test_immature_outcome_months_get_no_spc_verdict(sample_store: Path) -> None:
    """The newest months' outcome rates still move as investigations close: they are labelled
    Immature and not charted, so no special cause is read into them; mature months are."""
    with Store(sample_store, read_only=True) as store:
        dec = build_pack(store, dt.date(2025, 12, 1), levels=["force"]).table.set_index("indicator")
        sep = build_pack(store, dt.date(2025, 9, 1), levels=["force"]).table.set_index("indicator")
    for ind in ("prosecution_possible_rate", "no_suspect_rate"):
        assert dec.loc[ind, "maturity"] == "immature"
        assert dec.loc[ind, "spc_variation"] == "" and dec.loc[ind, "spc_points"] == 0
        assert sep.loc[ind, "maturity"] == "mature"
        assert sep.loc[ind, "spc_variation"] != "" and sep.loc[ind, "spc_points"] == 21  # 2024-01..2025-09
    assert dec.loc["all_crime", "spc_points"] == 24  # counts have no maturity rule


def test_spc_outlier_screening_is_a_pack_option(sample_store: Path) -> None:
    """Limits with and without NHSRplotthedots' moving-range screen, each equal to the single
    chart of the same monthly counts read straight from the store."""
    from thrv.stats.spc import xmr_chart

    con = duckdb.connect(str(sample_store), read_only=True)
    raw = con.sql(
        "SELECT crime_type, month, count(*) AS n FROM crimes WHERE month <= DATE '2025-12-01' "
        "GROUP BY ALL ORDER BY month"
    ).df()
    con.close()
    series = {
        "all_crime": raw[raw["crime_type"] != "Anti-social behaviour"].groupby("month")["n"].sum(),
        "drugs": raw[raw["crime_type"] == "Drugs"].set_index("month")["n"],
        "asb": raw[raw["crime_type"] == "Anti-social behaviour"].set_index("month")["n"],
    }
    differs = False
    for screen in (True, False):
        with Store(sample_store, read_only=True) as store:
            t = build_pack(
                store, dt.date(2025, 12, 1), levels=["force"], options=CompareOptions(spc_screen_outliers=screen)
            ).table.set_index("indicator")
        for ind, values in series.items():
            chart = xmr_chart(values.to_numpy(dtype=float), screen_outliers=screen)
            assert t.loc[ind, "spc_ucl"] == pytest.approx(chart.ucl[-1], rel=1e-12), (ind, screen)
            assert t.loc[ind, "spc_lcl"] == pytest.approx(chart.lcl[-1], rel=1e-12), (ind, screen)
            unscreened = xmr_chart(values.to_numpy(dtype=float), screen_outliers=not screen)
            differs |= bool(unscreened.ucl[-1] != chart.ucl[-1])
    assert differs  # the screen changes at least one of these real series' limits
