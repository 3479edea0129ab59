"""Fewer round trips and rows, the same figures.

The pack asks the engine a fixed number of questions, whatever the number of indicators;
the monthly medians/P90s are computed in the engine; the row values behind them come once
per distinct row (not once per indicator), and only for the months the tests compare.
Each is checked against the plain way (one query per indicator, every month's values, the
medians in pandas, as the pack did before) on the engine fixture (the real sample plus
generated force extracts, which hold the response times and call answers the medians
read): the values, the monthly series and the whole pack.csv must be identical.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from thrv.cli import app
from thrv.indicators import aggregate
from thrv.indicators import pack as pack_module
from thrv.indicators.aggregate import _predicate, distinct_values, monthly_figures
from thrv.indicators.compare import CompareOptions
from thrv.indicators.definitions import Indicator, expand, load_indicators
from thrv.indicators.medians import assign_levels, monthly_series
from thrv.indicators.pack import build_pack, compared_months, load_inputs, parse_month
from thrv.store.engines import connect
from thrv.web.builds import LEVELS

MONTH = "2025-12"


@contextmanager
def counting() -> Iterator[dict[str, int]]:
    """Count the queries a DuckDB-backed Ibis connection runs and the rows they return."""
    import ibis.backends.duckdb as duck

    seen = {"queries": 0, "rows": 0}
    originals = {name: getattr(duck.Backend, name) for name in ("execute", "to_pyarrow")}

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, expr: Any, *args: Any, **kwargs: Any) -> Any:
            seen["queries"] += 1
            out = method(self, expr, *args, **kwargs)
            seen["rows"] += len(out) if hasattr(out, "__len__") else 1
            return out

        return run

    with pytest.MonkeyPatch.context() as patch:
        for name, method in originals.items():
            patch.setattr(duck.Backend, name, wrap(method))
        yield seen


def per_indicator_values(t: Any, indicators: Sequence[Indicator], has_lsoa: bool) -> pd.DataFrame | None:
    """The plain way: each median/P90 indicator's rows pulled by a query of its own."""
    parts = []
    for ind in indicators:
        v = t.filter(_predicate(t, ind.where) & t[ind.value].notnull())
        df = v.select(
            indicator=ibis.literal(ind.id), force=v.force,
            lsoa_code=v.lsoa_code if has_lsoa else ibis.null().cast("string"),
            month=v.month, value=v[ind.value].cast("float64"),
        ).to_pandas()
        df["month"] = pd.to_datetime(df["month"]).dt.date
        parts.append(df)
    if not parts:
        return None
    df = pd.concat(parts, ignore_index=True)
    return df.sort_values(["indicator", "force", "lsoa_code", "month", "value"], kind="stable", na_position="last").reset_index(drop=True)


def _indicators(con: Any) -> list[Indicator]:
    templates = load_indicators(None)
    values_of = {(t.table, t.for_each): distinct_values(con, t.table, t.for_each) for t in templates if t.for_each}
    return expand(templates, values_of)


def test_median_values_come_once_per_row_and_equal_the_per_indicator_pull(engine_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, last = dt.date(2022, 1, 1), dt.date(2025, 12, 1)
    with connect(engine_db) as store:
        con = store.ibis()
        indicators = _indicators(con)
        medians = [i for i in indicators if i.measure in {"median", "p90"}]
        assert len(medians) > len({(i.table, i.where) for i in medians}) > 3  # filters shared, or the check is empty
        with counting() as batched:
            new = monthly_figures(con, medians, first, last).values
        with monkeypatch.context() as patch:
            patch.setattr(aggregate, "_row_values", per_indicator_values)
            with counting() as plain:
                old = monthly_figures(con, medians, first, last).values
    assert len(new) > 10_000
    pd.testing.assert_frame_equal(new, old)  # the same values, in the same order (the bootstrap resamples them)
    # each row at most once: fewer rows than some median/P90 indicator reads, counted by plain SQL
    db = duckdb.connect(str(engine_db), read_only=True)
    in_window = f"month BETWEEN DATE '{first}' AND DATE '{last}'"
    wanted = db.sql(
        "SELECT (SELECT count(*) FROM incidents WHERE attended AND grade IN ('immediate', 'prompt', 'scheduled') "
        f"AND response_minutes IS NOT NULL AND {in_window}) "
        f"+ (SELECT count(*) FROM calls WHERE line = '101' AND answer_seconds IS NOT NULL AND {in_window})"
    ).fetchone()
    db.close()
    assert wanted is not None
    aggregates = plain["rows"] - len(old)  # the grouped counts, the same both ways
    assert 0 < batched["rows"] - aggregates < int(wanted[0]) < len(old)
    assert batched["queries"] < plain["queries"]


def test_monthly_medians_in_the_engine_equal_pandas_quantiles(engine_db: Path) -> None:
    """The engine's series (order statistics, interpolated here) against pandas' grouped quantile."""
    levels = ["force", "area", "district"]
    with connect(engine_db) as store:
        inputs = load_inputs(store, dt.date(2022, 1, 1), dt.date(2025, 12, 1), levels)
    series = inputs.figures.value_series
    assert series is not None
    plain = monthly_series(assign_levels(inputs.figures.values, inputs.hierarchy, levels), inputs.indicators)
    assert len(series) > 500 and set(series["level"]) == set(levels)
    pd.testing.assert_frame_equal(series, plain.reset_index(drop=True), check_exact=True)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.sampled_from([0.0, 1.5, 2.0, 7.25, 30.0, 99.9])
                          | st.floats(0, 1e4, allow_nan=False)), min_size=1, max_size=60))
def test_engine_quantiles_match_numpy_on_any_sample(rows: list[tuple[int, int, float]]) -> None:
    """Generated samples (ties, single values, two values): each series-month's median and
    P90 from the engine equal pandas' grouped quantile to the last bit (the pack's figures
    before), and numpy's linear-interpolation percentile (which rounds its interpolation
    differently) to 1e-12."""
    frame = pd.DataFrame(rows, columns=["f", "m", "v"])
    table = pd.DataFrame({
        "force": "F" + frame["f"].astype(str), "lsoa_code": None, "month": [dt.date(2025, 1 + m, 1) for m in frame["m"]],
        "v": frame["v"], "kind": "x",
    })
    con = ibis.duckdb.connect()
    t = con.create_table("x", ibis.memtable(table, schema={"force": "string", "lsoa_code": "string", "month": "date",
                                                           "v": "float64", "kind": "string"}))
    base = Indicator(id="m", title="m", measure="median", table="x", where=(), value="v")
    p90 = Indicator(id="p", title="p", measure="p90", table="x", where=(), value="v")
    out = aggregate._value_series(t, [base, p90], False, pd.DataFrame(columns=["force", "lsoa_code", "district_code", "district", "area"]), ["force"])
    for (ind, force, month), got in out.set_index(["indicator", "force", "month"])["num"].items():
        values = table.loc[(table["force"] == force) & (table["month"] == month), "v"]
        q = 0.9 if ind == "p" else 0.5
        assert got == values.groupby(np.zeros(len(values))).quantile(q).iloc[0]
        assert got == pytest.approx(np.percentile(values.to_numpy(), 100 * q), rel=1e-12, abs=1e-12)
    assert len(out) == 2 * len(table.groupby(["force", "month"]))


def test_values_are_pulled_only_for_the_months_compared(engine_db: Path) -> None:
    month = parse_month(MONTH)
    months = compared_months(month, CompareOptions())
    assert months[0] == dt.date(2022, 12, 1) and months[-1] == month and len(months) == 37  # the baseline lies within
    with connect(engine_db) as store:
        inputs = load_inputs(store, dt.date(2022, 1, 1), month, LEVELS, value_months=months)
    held = set(inputs.figures.values["month"])
    assert held and held <= set(months)


def test_the_pack_asks_a_fixed_number_of_questions(engine_db: Path) -> None:
    """Two tables of median indicators or twenty, one query per table and question."""
    with connect(engine_db) as store, counting() as seen:
        build_pack(store, parse_month(MONTH), levels=LEVELS)
    with connect(engine_db) as store:
        tables = {i.table for i in _indicators(store.ibis())} & set(store.tables())
        n_indicators = len(_indicators(store.ibis()))
    # facts and the for_each expansions, then per table one aggregate and (if it has medians) one values query
    assert seen["queries"] <= 2 * len(tables) + 8 < n_indicators


def test_pack_csv_is_the_same_as_with_a_query_per_indicator(
    engine_runs: Callable[[str], dict[str, Any]], engine_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole pack.csv, before (a values query per indicator) and after (one per table)."""
    after = engine_runs("duckdb")["pack_csv"]
    monkeypatch.setattr(aggregate, "_row_values", per_indicator_values)
    monkeypatch.setattr(pack_module, "compared_months", lambda *a: None)  # every month's values
    monkeypatch.setattr(pack_module, "places_of", lambda *a: None)  # and the medians in pandas
    result = CliRunner().invoke(app, ["pack", "--db", str(engine_db), "--month", MONTH, "--out", str(tmp_path),
                                      "--format", "xlsx", "--levels", ",".join(LEVELS)])
    assert result.exit_code == 0, result.output
    before = (tmp_path / "pack.csv").read_bytes()
    assert b"\n\"response_immediate_p90\",\"Cambridgeshire Constabulary\",\"force\",\"2025-12\",3" in before
    assert before == after


def test_numbered_columns_and_two_step_counts_give_the_plain_counts(engine_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts with text conditions looked up by a join and summed per crime type first, against
    the plain one-step aggregate comparing the text (with a negated long list and a negated
    single value, which a missing value passes)."""
    from thrv.indicators.definitions import Condition

    first, last = dt.date(2022, 1, 1), dt.date(2025, 12, 1)
    with connect(engine_db) as store:
        con = store.ibis()
        indicators = [i for i in _indicators(con) if i.measure in {"count", "proportion"}]
        possible = next(i for i in indicators if i.id == "prosecution_possible_rate")
        extra = Indicator(id="not_possible_nor_drugs", title="x", measure="count", table="crimes",
                          where=(Condition("crime_type", ("Drugs",), True), *(
                              Condition(c.column, c.values, True) for c in possible.numerator)))
        indicators.append(extra)
        new = monthly_figures(con, indicators, first, last)
        with monkeypatch.context() as patch:
            patch.setattr(aggregate, "CODE_COLUMNS_OVER", 10**9)  # nothing numbered: one step, text compared
            one_step = monthly_figures(con, indicators, first, last)
            by_district = monthly_figures(con, indicators, first, last, by_district_grain=True)
        new_district = monthly_figures(con, indicators, first, last, by_district_grain=True)
    assert new.wide.keys() == one_step.wide.keys() and "crimes" in new.wide
    def ordered(frame: pd.DataFrame) -> pd.DataFrame:  # an engine returns groups in any order
        keys = [c for c in ("force", "lsoa_code", "district_code", "month") if c in frame]
        return frame.sort_values(keys, na_position="last").reset_index(drop=True)

    for table in new.wide:
        pd.testing.assert_frame_equal(ordered(new.wide[table]), ordered(one_step.wide[table]), check_exact=True)
        pd.testing.assert_frame_equal(ordered(new_district.wide[table]), ordered(by_district.wide[table]), check_exact=True)
    crimes = new.wide["crimes"]
    assert crimes["n|not_possible_nor_drugs"].sum() > 0 and crimes["n|prosecution_possible_rate"].sum() > 0
