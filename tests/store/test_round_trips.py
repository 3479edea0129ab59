"""Fewer round trips, the same figures.

The pack asks the engine a fixed number of questions, whatever the number of indicators,
and the row values behind the median/P90 indicators come once per row, not once per
indicator. Both are checked against the plain way (one query per indicator, as the pack
did before) on the engine fixture (the real sample plus generated force extracts, which
hold the response times and call answers the medians read): the values and the whole
pack.csv must be identical.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from thrv.cli import app
from thrv.indicators import aggregate
from thrv.indicators.aggregate import _predicate, distinct_values, monthly_figures
from thrv.indicators.definitions import Indicator, expand, load_indicators
from thrv.indicators.pack import build_pack, parse_month
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
    # each row once: exactly the rows some median/P90 indicator reads, counted by plain SQL
    db = duckdb.connect(str(engine_db), read_only=True)
    in_window = f"month BETWEEN DATE '{first}' AND DATE '{last}'"
    wanted = db.sql(
        "SELECT (SELECT count(*) FROM incidents WHERE attended AND grade IN ('immediate', 'prompt', 'scheduled') "
        f"AND response_minutes IS NOT NULL AND {in_window}) "
        f"+ (SELECT count(*) FROM calls WHERE line = '101' AND answer_seconds IS NOT NULL AND {in_window})"
    ).fetchone()
    db.close()
    assert wanted is not None
    aggregates = batched["rows"] - int(wanted[0])  # the rest: the grouped counts, the same both ways
    assert aggregates == plain["rows"] - len(old)
    assert batched["rows"] < plain["rows"]
    assert batched["queries"] < plain["queries"]


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
    result = CliRunner().invoke(app, ["pack", "--db", str(engine_db), "--month", MONTH, "--out", str(tmp_path),
                                      "--format", "xlsx", "--levels", ",".join(LEVELS)])
    assert result.exit_code == 0, result.output
    before = (tmp_path / "pack.csv").read_bytes()
    assert b"\n\"response_immediate_p90\",\"Cambridgeshire Constabulary\",\"force\",\"2025-12\",3" in before
    assert before == after
