"""Build the performance pack: indicators × areas for one month, every figure with its test.

This is the library entry point behind ``thrv pack``; the report renderers and the web
API take its :class:`Pack` and never recompute a figure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from thrv import __version__
from thrv.indicators.aggregate import (
    MonthlyFigures,
    distinct_values,
    latest_months,
    monthly_figures,
    summaries_of,
    table_facts,
)
from thrv.indicators.compare import (
    CompareOptions,
    SeriesMatrix,
    add_changes,
    add_months,
    add_q_values,
    baseline_end_for,
    baseline_months,
    build_matrix,
    compare,
    immature_mask,
    month_index,
)
from thrv.indicators.definitions import Indicator, expand, load_indicators
from thrv.indicators.hierarchy import (
    LEVELS,
    AreaError,
    Hierarchy,
    build_hierarchy,
    prefetch_lookups,
)
from thrv.indicators.legend import legend
from thrv.indicators.medians import assign_levels, compare_values, monthly_series
from thrv.indicators.rollup import UNLOCATED, UNLOCATED_NOTE, roll_up
from thrv.stats import classify_many, poisson_exact_test_many, rate_per_1000_many
from thrv.stats.counts import quasi_poisson_test_many
from thrv.stats.spc import xmr_latest_many

#: months of history kept for charts and SPC
HISTORY_MONTHS = 36


@dataclass
class Pack:
    """Everything a renderer needs: the table, the monthly history and the definitions."""

    month: dt.date
    table: pd.DataFrame
    history: pd.DataFrame  # indicator, level, force, area, month, value (force/area/district)
    indicators: dict[str, Indicator]
    options: CompareOptions
    meta: dict[str, Any] = field(default_factory=dict)
    #: every force's rolling 12 months and residents for the per-1,000 indicators (funnel plots)
    peers: pd.DataFrame = field(default_factory=pd.DataFrame)


#: the levels a pack holds unless LSOA rows are asked for (they are ~20x the rest)
DEFAULT_LEVELS = ("force", "area", "district")
#: pack.json bytes per row, measured on the sample pack (for the size a request will reach)
JSON_BYTES_PER_ROW_MONTH = 195  # pack.json per row and month of history (4.5 KB at 24 months, 11.8 KB at 60)


class MonthError(ValueError):
    """A pack month the store does not hold."""


def parse_month(text: str) -> dt.date:
    """YYYY-MM, four digits and two ("2025-1" is refused: it is too easily a typo)."""
    if not re.fullmatch(r"\d{4}-\d{2}", text.strip()):
        raise ValueError(f"month must be YYYY-MM, got {text!r}")
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"month must be YYYY-MM, got {text!r}") from exc


def months_held(con: Any, tables: Sequence[str]) -> dict[str, list[dt.date]]:
    """The months each table holds (only tables present and with rows)."""
    existing = set(con.list_tables())
    parts = []
    for table in tables:
        if table not in existing or "month" not in con.table(table).columns:
            continue
        t = con.table(table)
        parts.append(t.select(table=ibis.literal(table), m=t.month.cast("date")).distinct())
    if not parts:
        return {}
    # one query for every table: on a distributed engine each query is a job of its own
    frame = (ibis.union(*parts) if len(parts) > 1 else parts[0]).to_pandas().dropna(subset=["m"])
    out: dict[str, list[dt.date]] = {}
    for table, group in frame.groupby("table", sort=True):
        out[str(table)] = sorted({pd.Timestamp(m).date().replace(day=1) for m in group["m"]})
    return out


def _span(months: Sequence[dt.date]) -> str:
    text = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}" if len(months) > 1 else f"{months[0]:%Y-%m}"
    gaps = []
    m = months[0]
    held = set(months)
    while m < months[-1]:
        if m not in held:
            gaps.append(f"{m:%Y-%m}")
        m = add_months(m, 1)
    if gaps:
        text += " (missing " + ", ".join(gaps[:6]) + (", ..." if len(gaps) > 6 else "") + ")"
    return text


def check_month(month: dt.date, held: dict[str, list[dt.date]]) -> None:
    """Refuse a month no table holds, naming what the store does hold."""
    if not held:
        raise MonthError("the store holds no records: run `thrv ingest` first")
    if any(month in months for months in held.values()):
        return
    parts = [f"{table} {_span(months)}" for table, months in sorted(held.items(), key=lambda kv: kv[0] != "crimes")]
    raise MonthError(f"the store holds no records for {month:%Y-%m}; the store holds " + "; ".join(parts))


def preflight(
    store: Any,
    month: dt.date,
    area: str | None = None,
    all_forces: bool = False,
    levels: Sequence[str] = DEFAULT_LEVELS,
    indicator_files: Sequence[Path] | None = None,
    areas_file: Path | None = None,
) -> dict[str, Any]:
    """Check a pack request before the work: the month is held, the area exists, the size is asked for.

    A store of several forces needs ``area`` (one force, area or district) or ``all_forces``;
    the refusal says how big the every-force pack would be. Returns what was found (forces,
    tables, the estimated rows) so a caller can report it.
    """
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown level(s) {sorted(unknown)}; use any of {', '.join(LEVELS)}")
    con = store.ibis()
    templates = load_indicators(indicator_files)
    tables = sorted({t.table for t in templates})
    held = months_held(con, tables)
    check_month(month, held)
    forces = _store_forces(con, tables)
    hierarchy = build_hierarchy(forces, areas_file)
    if area:
        resolve_area(area, hierarchy, forces)
    # the indicators as the pack would expand them (a crime-type template is one per type held);
    # tables with no rows give none
    values_of = {(t.table, t.for_each): distinct_values(con, t.table, t.for_each)
                 for t in templates if t.for_each and t.table in held}
    n_ind = sum(1 for i in expand(templates, values_of) if i.table in held)
    places = (len(forces) * ("force" in levels) + hierarchy.districts["area"].nunique() * ("area" in levels)
              + (len(hierarchy.districts) + len(forces)) * ("district" in levels))  # + each force's Unlocated row
    rows = n_ind * places + (n_ind * len(hierarchy.lsoas) if "lsoa" in levels else 0)
    if area is None and len(forces) > 1 and not all_forces:
        history = max((sum(1 for m in ms if m <= month) for ms in held.values()), default=1)
        size = rows * JSON_BYTES_PER_ROW_MONTH * history / 1e6
        raise AreaError(
            f"the store holds {len(forces)} forces: choose one with --area NAME (e.g. --area {forces[0]!r}), "
            f"or pass --all-forces for a pack of every force (about {rows:,} rows, a pack.json of about "
            f"{size:,.0f} MB" + (", without LSOA rows)" if "lsoa" not in levels else ")")
        )
    return {"forces": forces, "tables": tables, "months_held": held, "estimated_rows": rows}


def _store_forces(con: Any, tables: Sequence[str]) -> list[str]:
    facts = table_facts(con, tables)
    return sorted(set(facts["force"].astype(str)))


def resolve_area(name: str, hierarchy: Hierarchy, forces: Sequence[str]) -> tuple[str, str, str]:
    """(level, force, area) for an --area name: a force, a district or an area (see thrv.areas)."""
    from thrv.areas import match_area

    d = hierarchy.districts
    districts = zip(d["force"], d["district"], strict=True)
    areas = {(f, a) for f, a in zip(d["force"], d["area"], strict=True) if isinstance(a, str)}
    return match_area(name, forces, districts, sorted(areas))


def _district_keys(hierarchy: Hierarchy, indicators: dict[str, Indicator], tables_with_lsoa: set[str]) -> pd.DataFrame:
    rows = []
    for ind in indicators.values():
        if ind.table not in tables_with_lsoa or ind.measure not in {"count", "proportion"}:
            continue
        for d in hierarchy.districts.itertuples(index=False):
            rows.append((ind.id, "district", d.force, d.district, d.district_code))
        for force in sorted(set(hierarchy.districts["force"])):
            rows.append((ind.id, "district", force, UNLOCATED, ""))
    return pd.DataFrame(rows, columns=["indicator", "level", "force", "area", "area_code"])


def _rates(
    table: pd.DataFrame, hierarchy: Hierarchy, indicators: dict[str, Indicator], confidence: float, dispersion: bool = True
) -> pd.DataFrame:
    """Rates per 1,000 residents (rolling 12 months and the month) with national/regional averages."""
    pops = hierarchy.populations[["level", "force", "area", "population"]]
    merged = table.merge(pops, on=["level", "force", "area"], how="left")
    per_1000 = merged["indicator"].map(lambda i: indicators[i].per_1000).to_numpy()
    pop = np.where(per_1000, merged["population"].to_numpy(dtype=float), np.nan)
    merged["population"] = merged["population"].astype(float)
    roll = merged["rolling_12m"].to_numpy(dtype=float)
    cur = merged["current_num"].to_numpy(dtype=float)
    ok = per_1000 & np.isfinite(pop) & (pop > 0)
    safe_pop = np.where(ok, pop, 1.0)
    rates = rate_per_1000_many(np.where(ok & np.isfinite(roll), roll, np.nan), safe_pop, confidence)
    merged["rate_per_1000"] = np.where(ok, rates.rate, np.nan)
    merged["rate_ci_low"] = np.where(ok, rates.ci_low, np.nan)
    merged["rate_ci_high"] = np.where(ok, rates.ci_high, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        merged["rate_per_1000_month"] = np.where(ok, cur / safe_pop * 1000.0, np.nan)

    # national and regional: every force in the store with the figure and a population
    merged["region"] = merged["force"].map(hierarchy.regions)
    forces = merged[(merged["level"] == "force") & ok]
    for scope, group_cols in (("national", ["indicator"]), ("regional", ["indicator", "region"])):
        for value, rate_col in (("rolling_12m", "rate_per_1000"), ("current_num", "rate_per_1000_month")):
            f = forces.dropna(subset=[value])
            agg = f.groupby(group_cols, as_index=False).agg(
                _num=(value, "sum"), _pop=("population", "sum"), _forces=("force", "nunique")
            )
            agg[f"{scope}_{rate_col}"] = agg["_num"] / agg["_pop"] * 1000.0
            agg = agg.rename(columns={"_num": f"_{scope}_{value}", "_pop": f"_{scope}_pop_{value}", "_forces": f"{scope}_forces_{value}"})
            merged = merged.merge(agg, on=group_cols, how="left")
    # an "average" of one force is that force: show national/regional only with others
    for scope in ("national", "regional"):
        for value, rate_col in (("rolling_12m", "rate_per_1000"), ("current_num", "rate_per_1000_month")):
            alone = merged[f"{scope}_forces_{value}"].fillna(0) <= 1
            merged.loc[alone, f"{scope}_{rate_col}"] = np.nan
    # label: the area's rolling 12-month rate against the national rate (exact Poisson,
    # exposure = residents); only meaningful when the store holds more than one force
    n_forces = merged.get("national_forces_rolling_12m", pd.Series(np.nan, index=merged.index)).to_numpy(dtype=float)
    nat_num = merged.get("_national_rolling_12m", pd.Series(np.nan, index=merged.index)).to_numpy(dtype=float)
    nat_pop = merged.get("_national_pop_rolling_12m", pd.Series(np.nan, index=merged.index)).to_numpy(dtype=float)
    testable = ok & np.isfinite(roll) & (n_forces > 1) & np.isfinite(nat_num)
    # the area's 12-month total varies φ times more than Poisson, as its months do: the
    # test uses the series' dispersion where it has one (plain exact test otherwise)
    phi = merged["dispersion"].to_numpy(dtype=float) if "dispersion" in merged else np.full(len(merged), np.nan)
    if not dispersion:
        phi = np.full(len(merged), np.nan)
    args = (np.where(testable, roll, np.nan), safe_pop, np.where(testable, nat_num, np.nan), np.where(testable, nat_pop, 1.0))
    plain = poisson_exact_test_many(*args, confidence, intervals=False)
    quasi = quasi_poisson_test_many(*args, np.where(np.isfinite(phi), phi, 1.0), confidence, intervals=False)
    adjusted = np.isfinite(phi)
    p_nat = np.where(adjusted, quasi.p_value, plain.p_value)
    words = np.where(
        adjusted, classify_many(quasi, "none", 1 - confidence), classify_many(plain, "none", 1 - confidence)
    )
    merged["label_national"] = np.where(testable, words, "")
    merged["p_value_national"] = np.where(testable, p_nat, np.nan)
    merged["test_national"] = np.where(
        testable, np.where(adjusted, quasi.method, f"{plain.method}; not adjusted for over-dispersion"), ""
    )
    drop = [c for c in merged.columns if c.startswith("_") or c == "region"]
    return merged.drop(columns=drop)


def _spc(
    matrix: SeriesMatrix, month: dt.date, indicators: dict[str, Indicator], levels: set[str], options: CompareOptions
) -> pd.DataFrame:
    """XmR chart verdict for the latest point of each series (up to 36 months of data).

    Each series uses the months with data in the 36 months ending at the pack month (a
    missing month is skipped, as NHSRplotthedots would chart the rows it is given, so one
    gap does not cut the history); no verdict where the pack month itself has no data.
    All series are judged at once by :func:`thrv.stats.xmr_latest_many` (NHSRplotthedots'
    rules and precedence, moving ranges screened for outliers unless the options say not).
    Immature months of outcome rates are left out, so their latest point has no verdict.
    """
    n = len(matrix.keys)
    end = matrix.col(month)
    empty = pd.DataFrame({
        "spc_variation": [""] * n, "spc_rules": [""] * n, "spc_mean": np.nan,
        "spc_lcl": np.nan, "spc_ucl": np.nan, "spc_points": np.zeros(n, dtype=int),
    })
    if end is None or n == 0:
        return empty
    start = max(0, end - HISTORY_MONTHS + 1)
    if options.spc_rebase is not None:
        # the verdict is on the latest point, so only the segment from the rebase matters
        rebase = matrix.col(options.spc_rebase)
        start = max(start, rebase if rebase is not None else 0)
    is_prop = (matrix.keys["measure"] == "proportion").to_numpy()[:, None]
    num = matrix.num[:, start : end + 1]
    den = matrix.den[:, start : end + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(is_prop, np.where(den > 0, 100 * num / den, np.nan), num)
    wanted = matrix.keys["level"].isin(levels).to_numpy() & matrix.keys["indicator"].map(
        lambda i: indicators[i].measure != "p90"
    ).to_numpy()
    if matrix.immature is not None:
        # an immature month's outcome rate still moves as investigations close, so it is not
        # charted: a falling "no suspect identified" share in the newest months is not a signal
        values[matrix.immature[:, start : end + 1]] = np.nan
    values[~wanted | ~np.isfinite(values[:, -1])] = np.nan
    directions = [indicators[i].direction for i in matrix.keys["indicator"]]
    latest = xmr_latest_many(
        values, directions, shift_length=options.spc_shift_length, trend_length=options.spc_trend_length,
        screen_outliers=options.spc_screen_outliers,
    )
    rules = np.full(n, "", dtype=object)
    # every rule that caught the point, the one that names it (by precedence) first
    for name, flags in (("beyond_limits", latest.beyond_limits), ("trend", latest.trend), ("two_of_three", latest.two_of_three), ("shift", latest.shift)):
        rules = np.where(flags, np.where(rules == "", name, rules + ", " + name), rules)
    return pd.DataFrame({
        "spc_variation": latest.variation.astype(object),
        "spc_rules": rules,
        "spc_mean": latest.mean,
        "spc_lcl": latest.lcl,
        "spc_ucl": latest.ucl,
        "spc_points": latest.points,
    })


def _history(matrix: SeriesMatrix, month: dt.date, levels: set[str]) -> pd.DataFrame:
    end = matrix.col(month)
    if end is None:
        return pd.DataFrame(columns=["indicator", "level", "force", "area", "month", "value"])
    start = max(0, end - HISTORY_MONTHS + 1)
    keep = matrix.keys["level"].isin(levels).to_numpy()
    is_prop = (matrix.keys["measure"] == "proportion").to_numpy()[keep]
    num = matrix.num[keep, start : end + 1]
    den = matrix.den[keep, start : end + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(is_prop[:, None], 100 * num / den, num)
    keys = matrix.keys[keep].reset_index(drop=True)
    months = [m.strftime("%Y-%m") for m in matrix.months[start : end + 1]]
    frame = pd.DataFrame(values, columns=months)
    frame = pd.concat([keys[["indicator", "level", "force", "area"]], frame], axis=1)
    long = frame.melt(id_vars=["indicator", "level", "force", "area"], var_name="month", value_name="value")
    return long


def _history_extremes(matrix: SeriesMatrix, month: dt.date) -> pd.DataFrame:
    """For each series: months of history held, and whether M is the lowest/highest of them."""
    end = matrix.col(month)
    n = len(matrix.keys)
    if end is None:
        return pd.DataFrame({"history_months": np.zeros(n, int), "history_from": "", "rank_low": np.nan, "rank_high": np.nan})
    is_prop = (matrix.keys["measure"] == "proportion").to_numpy()
    num = matrix.num[:, : end + 1]
    den = matrix.den[:, : end + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(is_prop[:, None], 100 * num / den, num)
    finite = np.isfinite(values)
    held = finite.sum(axis=1)
    current = values[:, -1]
    with np.errstate(invalid="ignore"):
        lower = np.where(finite, values < current[:, None], False).sum(axis=1)
        higher = np.where(finite, values > current[:, None], False).sum(axis=1)
    first_idx = np.where(held > 0, finite.argmax(axis=1), 0)
    history_from = [matrix.months[i].strftime("%Y-%m") if h else "" for i, h in zip(first_idx, held, strict=True)]
    ok = np.isfinite(current)
    return pd.DataFrame(
        {
            "history_months": held,
            "history_from": history_from,
            "rank_low": np.where(ok, lower + 1, np.nan),  # 1 = lowest of the months held
            "rank_high": np.where(ok, higher + 1, np.nan),
        }
    )


@dataclass(frozen=True)
class PackInputs:
    """What packs read from the store: definitions, places and monthly figures for a span.

    Read once with :func:`load_inputs`, it lets packs for several months be built without
    reading the store again (``build_pack(..., inputs=...)``).
    """

    indicators: dict[str, Indicator]
    forces: list[str]
    hierarchy: Hierarchy
    figures: MonthlyFigures
    levels: tuple[str, ...]
    first: dt.date
    last: dt.date
    #: the latest month the store holds per (table, force): outcome maturity is judged against it
    latest: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    #: figures rolled up to the levels (filled by the first pack built from these inputs)
    rolled: dict[tuple[str, ...], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]] = field(
        default_factory=dict, compare=False)


#: called on the pack's monthly matrix before any figure is computed from it (the
#: published view replaces the figures it may publish): (matrix, indicators, hierarchy,
#: the values behind medians) -> matrix
Publisher = Callable[[SeriesMatrix, dict[str, Indicator], Hierarchy, pd.DataFrame], SeriesMatrix]


def first_month_needed(month: dt.date, options: CompareOptions) -> dt.date:
    """The earliest month a pack for ``month`` reads (3 years of averages, the baseline)."""
    return min(add_months(month, -47), add_months(baseline_end_for(month, options), -11))


def compared_months(month: dt.date, options: CompareOptions) -> list[dt.date]:
    """The months whose row values a pack's median/P90 tests read (see indicators.medians).

    The current month, the 36 before it (the 1- and 3-year averages, the same month in
    earlier years, the rolling 12 months) and the baseline's 12.
    """
    b_end = baseline_end_for(month, options)
    months = {add_months(month, -k) for k in range(37)} | {add_months(b_end, -k) for k in range(12)}
    return sorted(months)


def places_of(hierarchy: Hierarchy) -> pd.DataFrame:
    """force, lsoa_code, district_code, district, area: where each LSOA's values count."""
    lsoas = hierarchy.lsoas[["force", "lsoa_code", "district_code", "district"]]
    return lsoas.merge(hierarchy.districts[["force", "district_code", "area"]], on=["force", "district_code"], how="left")


def load_inputs(
    store: Any,
    first: dt.date,
    last: dt.date,
    levels: Sequence[str] = LEVELS,
    indicator_files: Sequence[Path] | None = None,
    areas_file: Path | None = None,
    value_months: Collection[dt.date] | None = None,
) -> PackInputs:
    """Read what packs for months in ``first..last`` need from an open store.

    The monthly medians and P90s are computed in the engine; the row values behind them
    (which the Mann-Whitney and bootstrap tests compare) are pulled for ``value_months``
    only when given (:func:`compared_months` of the one pack to be built), else for every month.
    """
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown level(s) {sorted(unknown)}; use {', '.join(LEVELS)}")
    prefetch_lookups()  # read while the engine answers the questions below
    con = store.ibis()
    templates = load_indicators(indicator_files)
    # the store's current monthly summaries (thrv.store.summary): counted instead of the rows
    summaries = summaries_of(con, sorted({t.table for t in templates}))
    values_of = {  # one question per (table, column), however many templates expand over it
        key: distinct_values(con, *key, summaries) for key in dict.fromkeys((t.table, t.for_each) for t in templates if t.for_each)
    }
    indicators = {i.id: i for i in expand(templates, values_of)}
    tables = sorted({i.table for i in indicators.values()})
    facts = table_facts(con, tables, summaries)  # one query: forces, generated rows, latest months
    # tables holding rows marked generated (simulated extracts): their figures are flagged
    generated = set(facts.loc[facts["generated_rows"] > 0, "table"])
    indicators = {k: (replace(i, generated=True) if i.table in generated else i) for k, i in indicators.items()}
    forces = sorted(set(facts["force"].astype(str)))
    if not forces:
        raise ValueError("the store holds no records: run `thrv ingest` first")
    hierarchy = build_hierarchy(forces, areas_file)
    figures = monthly_figures(con, list(indicators.values()), first, last, by_district_grain="lsoa" not in levels,
                              places=places_of(hierarchy), value_levels=levels, value_months=value_months,
                              summaries=summaries, tables_with_rows=set(facts["table"]))
    return PackInputs(indicators, forces, hierarchy, figures, tuple(levels), first, last, latest_months(con, tables, facts))


def build_pack(
    store: Any,
    month: dt.date,
    area: str | None = None,
    levels: Sequence[str] = DEFAULT_LEVELS,
    indicator_files: Sequence[Path] | None = None,
    areas_file: Path | None = None,
    options: CompareOptions | None = None,
    inputs: PackInputs | None = None,
    publish: Publisher | None = None,
) -> Pack:
    """The performance pack for ``month`` from an open :class:`~thrv.store.database.Store`.

    ``inputs`` (from :func:`load_inputs`, covering the months needed and the levels) skips
    reading the store; ``publish`` replaces the monthly figures before anything is computed
    from them (see :mod:`thrv.report.disclosure`).
    """
    options = options or CompareOptions()
    b_end = baseline_end_for(month, options)
    first = first_month_needed(month, options)
    if inputs is None:
        # the publish step counts the values behind every month's median, so it gets them all
        inputs = load_inputs(store, first, month, levels, indicator_files, areas_file,
                             value_months=compared_months(month, options) if publish is None else None)
    elif inputs.first > first or inputs.last < month or set(levels) - set(inputs.levels) or (
        "lsoa" in levels) != ("lsoa" in inputs.levels):
        raise ValueError(f"the pack inputs hold {inputs.first:%Y-%m} to {inputs.last:%Y-%m} at levels "
                         f"{', '.join(inputs.levels)}; a pack for {month:%Y-%m} needs {first:%Y-%m} on at {', '.join(levels)}")
    indicators, forces, hierarchy, figures = inputs.indicators, inputs.forces, inputs.hierarchy, inputs.figures
    focus = resolve_area(area, hierarchy, forces) if area else None

    if tuple(levels) not in inputs.rolled:
        series = roll_up(figures, hierarchy, levels)
        assigned = assign_levels(figures.values, hierarchy, levels)
        if figures.value_series is not None:
            medians = figures.value_series[figures.value_series["level"].isin(list(levels))]
            if not medians.empty:
                series = pd.concat([series, medians], ignore_index=True)
        elif not assigned.empty:
            series = pd.concat([series, monthly_series(assigned, indicators)], ignore_index=True)
        with_lsoa = {
            t for t, w in figures.wide.items()
            if w["lsoa_code"].notna().any() or ("district_code" in w and w["district_code"].notna().any())
        }
        extra = _district_keys(hierarchy, indicators, with_lsoa) if "district" in levels else None
        inputs.rolled[tuple(levels)] = (series, assigned, extra)
    series, assigned, extra = inputs.rolled[tuple(levels)]
    matrix = build_matrix(series, figures.coverage, indicators, first, month, extra)
    if publish is not None:
        matrix = publish(matrix, indicators, hierarchy, assigned)
    matrix.immature = immature_mask(matrix, indicators, inputs.latest)
    table = compare(matrix, indicators, month, options)
    if not assigned.empty:
        table = _with_value_comparisons(table, assigned, indicators, month, options, figures.coverage)
    table = pd.concat([table, _history_extremes(matrix, month)], axis=1)
    chart_levels = set(levels) - {"lsoa"}
    table = pd.concat([table, _spc(matrix, month, indicators, chart_levels, options)], axis=1)
    table = _rates(table, hierarchy, indicators, options.confidence, options.dispersion)
    table = _with_rolling_n(table, matrix, month)
    table = _with_force_ranks(table)
    peers = _peers(table)
    history = _history(matrix, month, chart_levels)

    if focus is not None:
        level, force, name = focus
        table = _restrict(table, hierarchy, level, force, name)
        history = _restrict(history, hierarchy, level, force, name)
    table = add_q_values(table, options)
    table = _order(table, indicators)
    meta = {
        "thrv_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "month": month.strftime("%Y-%m"),
        "area": area,
        "levels": list(levels),
        "forces_in_store": forces,
        "baseline_period": f"{add_months(b_end, -11):%Y-%m} to {b_end:%Y-%m}",
        "confidence": options.confidence,
        "min_coverage": options.min_coverage,
        "coverage": {
            t: {f: [m.strftime("%Y-%m") for m in sorted(g["month"])] for f, g in cov.groupby("force")}
            for t, cov in _coverage_between(figures.coverage, first, month).groupby("table")
        },
        "generated_data": sorted({i.table for i in indicators.values() if i.generated}),
        "area_districts": [
            {"force": r.force, "area": r.area, "district": r.district}
            for r in hierarchy.districts.dropna(subset=["area"]).itertuples(index=False)
        ],
        "crime_type_indicators": _crime_type_indicators(indicators),
        "baseline_test_months": [[m.strftime("%Y-%m") for m in ms] for ms in baseline_months(month, options)],
        "unlocated": {"area": UNLOCATED, "level": "district", "note": UNLOCATED_NOTE},
        "latest_months": {f"{t}|{f}": m.strftime("%Y-%m") for (t, f), m in sorted(inputs.latest.items())},
        "legend": legend(options, month),
    }
    return Pack(month, table.reset_index(drop=True), history, indicators, options, meta, peers)


def _with_rolling_n(table: pd.DataFrame, matrix: SeriesMatrix, month: dt.date) -> pd.DataFrame:
    """The 12-month numerator and denominator of each proportion, so n can be shown beside it."""
    if "rolling_12m_den" in table.columns:
        return table
    from thrv.indicators.compare import _window

    s_num, s_den, have = _window(matrix, month, 12)
    is_prop = (matrix.keys["measure"] == "proportion").to_numpy()
    frame = pd.DataFrame({
        "indicator": matrix.keys["indicator"], "level": matrix.keys["level"],
        "force": matrix.keys["force"], "area": matrix.keys["area"],
        "rolling_12m_num": np.where(is_prop & (have == 12), s_num, np.nan),
        "rolling_12m_den": np.where(is_prop & (have == 12), s_den, np.nan),
    })
    return table.merge(frame, on=["indicator", "level", "force", "area"], how="left")


def _with_force_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Each force's rank among the forces held by rolling 12-month rate per 1,000 (1 = lowest).

    ``rank_low``/``rank_high`` rank a series' months; these rank forces, and exist only when
    the store holds more than one force with the figure.
    """
    table = table.copy()
    table["force_rank"] = np.nan
    table["force_rank_of"] = np.nan
    if "rate_per_1000" not in table.columns:
        return table
    forces = table[(table["level"] == "force") & table["rate_per_1000"].notna()]
    if forces.empty:
        return table
    ranks = forces.groupby("indicator")["rate_per_1000"].rank(method="min")
    sizes = forces.groupby("indicator")["rate_per_1000"].transform("size")
    several = sizes > 1
    table.loc[ranks.index[several], "force_rank"] = ranks[several]
    table.loc[sizes.index[several], "force_rank_of"] = sizes[several]
    return table


def _peers(table: pd.DataFrame) -> pd.DataFrame:
    """Force-level rolling 12 months and residents of every force, per per-1,000 indicator."""
    cols = ["indicator", "force", "rolling_12m", "population", "rate_per_1000"]
    if "rate_per_1000" not in table.columns:
        return pd.DataFrame(columns=cols)
    f = table[(table["level"] == "force") & table["rate_per_1000"].notna() & table["rolling_12m"].notna()]
    return f[cols].reset_index(drop=True)


def _coverage_between(coverage: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    months = pd.to_datetime(coverage["month"])
    return coverage[(months >= pd.Timestamp(first)) & (months <= pd.Timestamp(last))]


def _with_value_comparisons(
    table: pd.DataFrame,
    assigned: pd.DataFrame,
    indicators: dict[str, Indicator],
    month: dt.date,
    options: CompareOptions,
    coverage: pd.DataFrame,
) -> pd.DataFrame:
    """Replace the pooled-period figures and tests of median/P90 rows (see indicators.medians)."""
    covered: dict[tuple[str, str], set[int]] = {}
    for t, f, m, n in coverage[["table", "force", "month", "rows"]].itertuples(index=False):
        if n > 0:
            covered.setdefault((t, f), set()).add(month_index(m))
    values = compare_values(assigned, indicators, month, options, covered)
    if values.empty:
        return table
    keys = ["indicator", "level", "force", "area", "area_code"]
    table = table.set_index(keys)
    values = values.set_index(keys)
    for col in values.columns:
        if col in table.columns:
            table.loc[values.index, col] = values[col]
    table = table.reset_index()
    add_changes(table)
    return table


def _crime_type_indicators(indicators: dict[str, Indicator]) -> list[str]:
    """Ids of the one-crime-type count indicators that together make up all_crime."""
    out = []
    for ind in indicators.values():
        if ind.table == "crimes" and ind.measure == "count" and len(ind.where) == 1:
            cond = ind.where[0]
            if cond.column == "crime_type" and not cond.negate and len(cond.values) == 1 and cond.values[0] != "Anti-social behaviour":
                out.append(ind.id)
    return out


def _restrict(df: pd.DataFrame, hierarchy: Hierarchy, level: str, force: str, name: str) -> pd.DataFrame:
    df = df[df["force"] == force]
    if level == "force":
        return df
    d = hierarchy.districts[hierarchy.districts["force"] == force]
    districts = set(d[d["area"] == name]["district"]) if level == "area" else {name}
    codes = set(d[d["district"].isin(districts)]["district_code"])
    lsoas = set(hierarchy.lsoas[hierarchy.lsoas["district_code"].isin(codes)]["lsoa_code"])
    keep = (
        ((df["level"] == "area") & (df["area"] == name) & (level == "area"))
        | ((df["level"] == "district") & df["area"].isin(districts))
        | ((df["level"] == "lsoa") & df["area"].isin(lsoas))
    )
    return df[keep]


def _order(table: pd.DataFrame, indicators: dict[str, Indicator]) -> pd.DataFrame:
    order = {i: n for n, i in enumerate(indicators)}
    level_order = {lv: n for n, lv in enumerate(LEVELS)}
    return table.assign(
        _i=table["indicator"].map(order), _l=table["level"].map(level_order)
    ).sort_values(["_i", "_l", "force", "area"]).drop(columns=["_i", "_l"])
