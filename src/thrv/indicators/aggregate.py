"""Monthly figures for every indicator at the finest grain (force × LSOA × month).

The aggregation is one Ibis expression per source table: one scan computes every
indicator's filtered counts as conditional aggregates. Ibis compiles it to the SQL of the
connected engine, so the same code runs on the embedded DuckDB store and on a distributed
engine for national data. The result is small (a few hundred thousand rows for a force) and
the rest of the pack works on it in memory. Text columns that many conditions name are
looked up once per row by a join and counted per value first (:func:`_code_columns`,
:func:`_grouped`); the monthly medians/P90s are order statistics picked in the engine
(:func:`_value_series`), and only the row values the tests compare are pulled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from thrv.indicators.definitions import PERCENTILE, Condition, Indicator
from thrv.reference import reference_path
from thrv.store.summary import ROWS, SUMMARIES

#: columns some indicators filter on that live in a reference table (rewritten as IN-lists
#: on the key column, see _translate):
#: table -> (reference table, key in table, key in reference, {new column: reference column})
ENRICHMENTS: dict[str, list[tuple[str, str, str, dict[str, str]]]] = {
    "crimes": [
        (
            "ref_outcome_categories",
            "last_outcome_category",
            "outcome",
            {"outcome_group": "group", "prosecution_possible": "prosecution_possible", "charged": "charged"},
        )
    ],
    "outcomes": [
        (
            "ref_outcome_categories",
            "outcome_type",
            "outcome",
            {"outcome_group": "group", "prosecution_possible": "prosecution_possible", "charged": "charged"},
        )
    ],
}


@dataclass(frozen=True)
class MonthlyFigures:
    """Numerators (and denominators) per indicator, force, LSOA and month, plus coverage.

    ``wide[table]`` columns: force, lsoa_code (None where the table has none or the record
    has no location) or district_code (when aggregated by district), month, then ``n|<indicator>`` (and ``d|<indicator>`` for proportions).
    Kept wide, one column per indicator, because rolling up wide is far cheaper than
    melting millions of LSOA rows first.
    ``coverage``: table, force, month, rows — the months each force has any data for.
    ``values``: indicator, force, lsoa_code, month, value — row-level values for medians
    (only for the months asked for, when :func:`monthly_figures` was given ``value_months``).
    ``value_series``: indicator, level, force, area, area_code, month, num, den — the monthly
    median/P90 of every series, computed in the engine (None when no places were given).
    """

    wide: dict[str, pd.DataFrame]
    coverage: pd.DataFrame
    values: pd.DataFrame
    value_series: pd.DataFrame | None = None


def _predicate(t: Any, conditions: Sequence[Condition]) -> Any:
    """Rows meeting every condition; a missing value never equals, so it passes a negation.

    Written as plain equality (not ``COALESCE(x IN ...)``), which the engine evaluates
    about a third faster over tens of millions of rows.
    """
    pred = None
    for c in conditions:
        col = t[c.column]
        values = list(c.values)
        if c.negate:
            hit = col.isnull() | ((col != values[0]) if len(values) == 1 else ~col.isin(values))
        else:
            hit = (col == values[0]) if len(values) == 1 else col.isin(values)
        pred = hit if pred is None else pred & hit
    return ibis.literal(True) if pred is None else pred


def _translate(
    con: Any, table: str, conditions: Sequence[Condition], cache: dict[tuple[str, str, str], pd.DataFrame] | None = None
) -> tuple[Condition, ...]:
    """Rewrite conditions on reference-table columns as conditions on the table's own key.

    ``prosecution_possible = true`` becomes ``last_outcome_category IN (the outcomes the
    reference marks so)``: the same rows (an outcome missing from the reference matches no
    positive condition and every negated one, as a left join would), without joining tens of
    millions of rows to a 30-row table.
    """
    out = []
    for c in conditions:
        spec = next(
            ((ref, key, ref_key, provides[c.column]) for ref, key, ref_key, provides in ENRICHMENTS.get(table, [])
             if c.column in provides),
            None,
        )
        if spec is None:
            out.append(c)
            continue
        ref, key, ref_key, column = spec
        if cache is None or (ref, ref_key, column) not in cache:  # one read per reference column per pack
            r = con.table(ref)
            if column in r.columns:
                read = r.select(k=r[ref_key], v=r[column]).to_pandas()
            else:  # a store opened read-only whose reference tables predate the column
                shipped = pd.read_csv(reference_path(ref.removeprefix("ref_") + ".csv"), dtype=str, keep_default_na=False)
                read = pd.DataFrame({"k": shipped[ref_key], "v": shipped[column]})
            if cache is None:
                rows = read
            else:
                cache[(ref, ref_key, column)] = read
        if cache is not None:
            rows = cache[(ref, ref_key, column)]
        wanted = {str(v).lower() for v in c.values}
        keys = tuple(sorted(str(k) for k, v in zip(rows["k"], rows["v"], strict=True) if str(v).lower() in wanted))
        out.append(Condition(key, keys or ("\x00no such value",), c.negate))
    return tuple(out)


#: a text column whose conditions name more values than this is looked up once per row by
#: a join to a small table numbering those values, and the conditions compare numbers: the
#: engine compares a value with each listed one in turn (the 15 outcomes where prosecution
#: is possible, the 14 crime types, over tens of millions of rows), a hash join looks it up once
CODE_COLUMNS_OVER = 6


def _code_columns(t: Any, indicators: Sequence[Indicator]) -> tuple[Any, list[Indicator]]:
    """Conditions on text columns naming many values, rewritten on a numbered copy of the column.

    The copy holds the value's number where the value is named by some condition and is
    missing elsewhere (a value no condition names, or a missing value), so ``column IN
    list`` becomes ``code IN numbers`` and its negation (a missing value passes it, see
    :func:`_predicate`) ``code IS NULL OR code NOT IN numbers``: the same rows.
    """
    named: dict[str, set[str]] = {}
    for ind in indicators:
        for c in (*ind.where, *ind.numerator):
            if c.column in t.columns and t[c.column].type().is_string():
                named.setdefault(c.column, set()).update(str(v) for v in c.values)
    coded = {col: sorted(vals) for col, vals in named.items() if len(vals) > CODE_COLUMNS_OVER}
    if not coded:
        return t, list(indicators)
    columns = list(t.columns)
    for k, (column, values) in enumerate(coded.items()):
        name = f"_code{k}"
        numbers = ibis.memtable(pd.DataFrame({f"{name}_value": values, name: np.arange(len(values), dtype=np.int64)}),
                                schema={f"{name}_value": "string", name: "int64"})
        t = t.left_join(numbers, t[column] == numbers[f"{name}_value"]).select(*columns, name)
        columns.append(name)
    index = {col: {v: i for i, v in enumerate(vals)} for col, vals in coded.items()}
    code_of = {col: f"_code{k}" for k, col in enumerate(coded)}

    def swap(conds: tuple[Condition, ...]) -> tuple[Condition, ...]:
        return tuple(
            Condition(code_of[c.column], tuple(sorted({index[c.column][str(v)] for v in c.values})), c.negate)
            if c.column in coded else c
            for c in conds
        )

    return t, [replace(i, where=swap(i.where), numerator=swap(i.numerator)) for i in indicators]


def monthly_figures(
    con: Any,
    indicators: Sequence[Indicator],
    first_month: dt.date,
    last_month: dt.date,
    forces: Sequence[str] | None = None,
    by_district_grain: bool = False,
    places: pd.DataFrame | None = None,
    value_levels: Sequence[str] = (),
    value_months: Collection[dt.date] | None = None,
    summaries: Mapping[str, Any] | None = None,
    tables_with_rows: Collection[str] | None = None,
) -> MonthlyFigures:
    """Aggregate every indicator over [first_month, last_month] for the given forces (all if None).

    ``con`` is an Ibis backend (``Store.ibis()``). Tables the store lacks give no rows.
    With ``by_district_grain`` the grain is the district (the store's derived
    ``district_code``) instead of the LSOA: when no LSOA rows are wanted this makes the
    engine's hash table a few thousand groups instead of millions (a national pack is then
    several times faster).

    With ``places`` (force, lsoa_code, district_code, district, area: the LSOAs of each
    force's districts and areas) the monthly median/P90 of every series at
    ``value_levels`` is computed in the engine (:func:`_value_series`); ``value_months``
    then limits the row values pulled to the months the pack's tests compare.

    ``summaries`` (table -> the Ibis table of its current monthly summary, see
    :func:`thrv.store.summary.fresh_summary`): at the district grain, a table's counts are
    summed from its summary instead of counted from its rows when every condition names
    one of the summary's columns (the same integers from a million rows instead of tens of
    millions).

    ``tables_with_rows`` (when known, e.g. from :func:`table_facts`): a table not in it is
    known to be empty, and its (empty) figures are made from the query's schema without
    asking the engine.
    """
    tables = sorted({i.table for i in indicators})
    wide: dict[str, pd.DataFrame] = {}
    coverage_parts: list[pd.DataFrame] = []
    value_parts: list[pd.DataFrame] = []
    series_parts: list[pd.DataFrame] = []
    existing = set(con.list_tables())
    references: dict[tuple[str, str, str], pd.DataFrame] = {}
    for table in tables:
        if table not in existing:
            continue
        mine = [i for i in indicators if i.table == table]
        mine = [replace(i, where=_translate(con, table, i.where, references),
                        numerator=_translate(con, table, i.numerator, references)) for i in mine]
        t = con.table(table)
        t = t.filter((t.month >= first_month) & (t.month <= last_month))
        if forces is not None:
            t = t.filter(t.force.isin(list(forces)))
        has_lsoa = "lsoa_code" in t.columns
        keys = ["force", "lsoa_code", "month"] if has_lsoa else ["force", "month"]
        by_district = by_district_grain and "district_code" in t.columns
        if by_district:
            keys = ["force", "district_code", "month"]
        summary = _summary_for(summaries, table, mine, first_month, last_month, forces) if by_district else None
        counted, weight = (t, None) if summary is None else (summary, ROWS)
        plain = mine
        t, mine = _code_columns(t, mine)
        if summary is not None:
            counted, coded = _code_columns(counted, [i for i in plain if i.measure in {"count", "proportion"}])
        else:
            counted, coded = t, mine
        metrics, names, same = _metrics(counted, coded, weight)
        query = _grouped(counted, coded, keys, metrics, weight)
        grouped: Any
        if tables_with_rows is not None and table not in tables_with_rows:
            grouped = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in query.schema().to_pandas()})
        else:
            grouped = query.to_pandas()
        for name, source in same.items():
            grouped[name] = grouped[source]
        grouped = grouped[[*keys, *names]]
        if not has_lsoa or by_district:
            grouped["lsoa_code"] = None
        grouped["month"] = pd.to_datetime(grouped["month"]).dt.date
        cov = grouped.groupby(["force", "month"], as_index=False)["_rows"].sum()
        cov.insert(0, "table", table)
        coverage_parts.append(cov.rename(columns={"_rows": "rows"}))
        wide[table] = grouped.drop(columns="_rows")
        # the row values behind every median/P90 indicator of the table, in one query
        # (no question at all where the window holds no rows)
        valued = [i for i in mine if i.measure in {"median", "p90"} and i.value] if len(grouped) else []
        pulled = t if value_months is None else t.filter(t.month.isin(sorted(set(value_months))))
        df = _row_values(pulled, valued, has_lsoa) if valued and (value_months is None or value_months) else None
        if df is not None:
            value_parts.append(df)
        if places is not None and valued:
            series_parts.append(_value_series(t, valued, has_lsoa, places, value_levels))
    coverage = (
        pd.concat(coverage_parts, ignore_index=True)
        if coverage_parts
        else pd.DataFrame(columns=["table", "force", "month", "rows"])
    )
    values = (
        pd.concat(value_parts, ignore_index=True)
        if value_parts
        else pd.DataFrame(columns=["indicator", "force", "lsoa_code", "month", "value"])
    )
    value_series = None
    if places is not None:
        value_series = (pd.concat(series_parts, ignore_index=True) if series_parts
                        else pd.DataFrame(columns=[*SERIES_KEYS, "month", "num", "den"]))
    return MonthlyFigures(wide, coverage, values, value_series)


def _counter(t: Any, weight: str | None) -> Any:
    """``count(where)`` over rows, or the sum of ``weight`` over a summary's counted rows (0 for none)."""
    if weight is None:
        return lambda where=None: t.count(where=where)
    # a sum of (condition ? weight : 0): the engine adds each row to one total without the
    # per-aggregate row selection a FILTER clause costs (a missing condition adds 0, as
    # FILTER leaves the row out)
    return lambda where=None: _exact_sum(t[weight] if where is None else where.ifelse(t[weight], 0))


def _exact_sum(counts: Any, where: Any = None) -> Any:
    """The sum of integer counts as an int64 (0 over no rows).

    Summed as float64, exact for any total below 2**53, because an engine may widen an
    integer sum (DuckDB's SUM(BIGINT) is a 128-bit HUGEINT, which arrives as a decimal that
    pandas converts one Python object at a time), and Ibis drops a cast to the type it
    already infers.
    """
    return counts.cast("float64").sum(where=where).fill_null(0).cast("int64")


def _summary_for(
    summaries: Mapping[str, Any] | None,
    table: str,
    indicators: Sequence[Indicator],
    first_month: dt.date,
    last_month: dt.date,
    forces: Sequence[str] | None,
) -> Any | None:
    """The summary rows of ``table`` in the window, when its counts can be summed from them.

    Only when every count and proportion names summary columns alone (a distinct count
    cannot be summed): otherwise the rows are counted.
    """
    if not summaries or table not in summaries:
        return None
    s = summaries[table]
    counts = [i for i in indicators if i.measure in {"count", "proportion"}]
    if not counts or any(i.count_distinct for i in counts):
        return None
    if any(c.column not in s.columns for i in counts for c in (*i.where, *i.numerator)):
        return None
    s = s.filter((s.month >= first_month) & (s.month <= last_month))
    if forces is not None:
        s = s.filter(s.force.isin(list(forces)))
    return s


def summaries_of(con: Any, tables: Sequence[str]) -> dict[str, Any]:
    """table -> its current summary (:func:`thrv.store.summary.fresh_summary`), for the tables having one."""
    from thrv.store.summary import fresh_summary

    found = {table: fresh_summary(con, table) for table in tables if table in SUMMARIES}
    return {table: s for table, s in found.items() if s is not None}


def _metrics(
    t: Any, indicators: Sequence[Indicator], weight: str | None = None
) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """The grouped aggregates of a table's count and proportion indicators, each distinct one once.

    The denominators of outcome rates are often another indicator's numerator: the engine
    computes such an aggregate once, and ``same`` (column -> the column computed) copies it.
    Returns the aggregates, every column's name in order, and ``same``. With ``weight``
    ``t`` is a summary whose rows stand for ``weight`` rows each.
    """
    count = _counter(t, weight)
    metrics: dict[str, Any] = {"_rows": count()}
    names: list[str] = ["_rows"]
    same: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}

    def add(name: str, key: tuple[Any, ...], expr: Any) -> None:
        names.append(name)
        if key in seen:
            same[name] = seen[key]
        else:
            seen[key] = name
            metrics[name] = expr

    for ind in indicators:
        if ind.measure in {"median", "p90"}:
            continue
        where = _predicate(t, ind.where)
        if ind.measure == "count" and ind.count_distinct:
            # e.g. crimes, not outcome rows: one crime can have several outcome rows in a
            # month (one per suspect); a crime sits in one LSOA, so sums over LSOAs hold
            add(f"n|{ind.id}", ("distinct", ind.count_distinct, ind.where), t[ind.count_distinct].nunique(where=where))
        elif ind.measure == "count":
            add(f"n|{ind.id}", ("count", ind.where), count(where))
        else:
            add(f"n|{ind.id}", ("count", ind.where, ind.numerator), count(where & _predicate(t, ind.numerator)))
            add(f"d|{ind.id}", ("count", ind.where), count(where))
    return metrics, names, same


def _grouped(
    t: Any, indicators: Sequence[Indicator], keys: list[str], metrics: dict[str, Any], weight: str | None = None
) -> Any:
    """The grouped counts, in two steps when one numbered column carries most conditions.

    Counting a dozen filters per row costs the engine a dozen updates per row. When every
    aggregate is a count and one numbered column (see :func:`_code_columns`; e.g. the crime
    type) is named by most of them, the rows are first counted per group and value of that
    column (with a count per distinct set of the other conditions: outcome rates), a few
    hundred thousand rows, and the indicators' counts are sums over those: the same
    integers in one query.
    """
    counts = [i for i in indicators if i.measure in {"count", "proportion"}]
    if weight is not None or not counts or any(i.measure == "count" and i.count_distinct for i in counts):
        # a summary is already counted per value: its rows are few, its groups many
        return t.group_by(keys).aggregate(**metrics)
    uses: dict[str, int] = {}
    for ind in counts:
        for col in {c.column for c in (*ind.where, *ind.numerator)}:
            if col.startswith("_code"):
                uses[col] = uses.get(col, 0) + 1
    if not uses:
        return t.group_by(keys).aggregate(**metrics)
    pivot = max(sorted(uses), key=lambda c: uses[c])
    rest: dict[tuple[Condition, ...], str] = {(): "_c0"}
    parts: dict[str, tuple[tuple[Condition, ...], str]] = {}
    for ind in counts:
        sets = {f"n|{ind.id}": ind.where} if ind.measure == "count" else {
            f"n|{ind.id}": (*ind.where, *ind.numerator), f"d|{ind.id}": ind.where}
        for name, conds in sets.items():
            if name not in metrics:
                continue
            others = tuple(c for c in conds if c.column != pivot)
            rest.setdefault(others, f"_c{len(rest)}")
            parts[name] = (tuple(c for c in conds if c.column == pivot), rest[others])
    count = _counter(t, weight)
    first = t.group_by([*keys, pivot]).aggregate(
        **{name: (count(_predicate(t, conds)) if conds else count()) for conds, name in rest.items()})
    sums: dict[str, Any] = {"_rows": _exact_sum(first["_c0"])}
    for name, (mine, column) in parts.items():
        sums[name] = _exact_sum(first[column], _predicate(first, mine) if mine else None)
    return first.group_by(keys).aggregate(**sums)


def _flagged_values(t: Any, indicators: Sequence[Indicator], has_lsoa: bool) -> tuple[Any, list[tuple[tuple[Condition, ...], str]]]:
    """Each row behind some median/P90 indicator once, with a flag per distinct (filter, value column)."""
    groups: list[tuple[tuple[Condition, ...], str]] = []
    for ind in indicators:
        if (ind.where, str(ind.value)) not in groups:
            groups.append((ind.where, str(ind.value)))
    selects = []
    for column in dict.fromkeys(col for _where, col in groups):
        flags = {
            f"f{k}": (_predicate(t, where) & t[col].notnull()).fill_null(False) if col == column else ibis.literal(False)
            for k, (where, col) in enumerate(groups)
        }
        hit = None
        for k, (_where, col) in enumerate(groups):
            if col == column:
                hit = flags[f"f{k}"] if hit is None else hit | flags[f"f{k}"]
        v = t.filter(hit)
        lsoa = v.lsoa_code if has_lsoa else ibis.null().cast("string")
        selects.append(v.select(force=v.force, lsoa_code=lsoa, month=v.month, value=v[column].cast("float64"), **flags))
    return (ibis.union(*selects) if len(selects) > 1 else selects[0]), groups


#: the keys of a median/P90 series (as :func:`thrv.indicators.medians.assign_levels` gives them)
SERIES_KEYS = ["indicator", "level", "force", "area", "area_code"]


def _row_values(t: Any, indicators: Sequence[Indicator], has_lsoa: bool) -> pd.DataFrame | None:
    """The row values behind the median/P90 indicators of one table: one query, each row once.

    Several indicators read the same rows (the median and the P90 of immediate response,
    the median of each category group within it), so the engine sends each row once with a
    flag per distinct filter (and identical rows once with their count), and the rows are
    given to each indicator here. Columns:
    indicator, force, lsoa_code, month, value, sorted so the order does not depend on the
    engine (the medians do not depend on it, the bootstrap's resampling does).
    """
    if not indicators:
        return None
    union, groups = _flagged_values(t, indicators, has_lsoa)
    # rows alike in every column come once with their number of copies (calls have no LSOA
    # and whole-second waits: a force-month's 101 calls are a few hundred distinct rows)
    counted = union.group_by(list(union.columns)).aggregate(copies=_.count()).to_pandas()
    rows = counted.loc[counted.index.repeat(counted["copies"].to_numpy())].drop(columns="copies")
    rows["month"] = pd.to_datetime(rows["month"]).dt.date
    parts = []
    for ind in indicators:
        flag = rows[f"f{groups.index((ind.where, str(ind.value)))}"].astype(bool)
        parts.append(rows.loc[flag, ["force", "lsoa_code", "month", "value"]].assign(indicator=ind.id))
    df = pd.concat(parts, ignore_index=True)[["indicator", "force", "lsoa_code", "month", "value"]]
    df = df.sort_values(["indicator", "force", "lsoa_code", "month", "value"], kind="stable", na_position="last")
    return df.reset_index(drop=True)


def _value_series(
    t: Any, indicators: Sequence[Indicator], has_lsoa: bool, places: pd.DataFrame, levels: Sequence[str]
) -> pd.DataFrame:
    """The monthly median/P90 of every series at ``levels``, from order statistics the engine picks.

    A quantile does not add up, so each level's comes from its own rows: the engine joins
    each row to its district and area (``places``, a small table), ranks the values of each
    series and month, and returns only the ranks next to each quantile's position with the
    count. The interpolation is done here as pandas' grouped quantile does it (linear:
    x_(j) + (x_(j+1) − x_(j))·f with h = q(n − 1), j = ⌊h⌋, f = h − j, ranks from 0), so the
    figures are the same to the last bit on every engine: Spark's ``percentile_approx`` is
    not exact, and engines' own interpolations may round differently. Rows come ordered as
    :func:`thrv.indicators.medians.monthly_series` orders them.
    """
    columns = [*SERIES_KEYS, "month", "num", "den"]
    levels = [lv for lv in ("force", "district", "area") if lv in levels]
    if not levels:
        return pd.DataFrame(columns=columns)
    union, groups = _flagged_values(t, indicators, has_lsoa)
    flags = [f"f{k}" for k in range(len(groups))]
    common = {"lsoa_code": union.lsoa_code.cast("string"), "month": union.month, "value": union.value,
              **{f: union[f] for f in flags}}
    branches = []
    if "force" in levels:
        branches.append(union.select(level=ibis.literal("force"), force=union.force, area=union.force,
                                     area_code=ibis.literal(""), **common))
    # each LSOA's district and area, one row per level: a small table the rows are joined to
    long = []
    if "district" in levels:
        long.append(places.assign(level="district", area=places["district"], area_code=places["district_code"]))
    if "area" in levels:
        long.append(places.dropna(subset=["area"]).assign(level="area", area_code=""))
    if has_lsoa and long:
        pl = pd.concat(long, ignore_index=True)[["force", "lsoa_code", "level", "area", "area_code"]].astype(object)
        pl = ibis.memtable(pl.where(pl.notna(), None), schema=dict.fromkeys(pl.columns, "string"))
        located = union.filter(union.lsoa_code.notnull()).join(pl, ["force", "lsoa_code"])
        branches.append(located.select(level=located.level, force=located.force, area=located.area,
                                       area_code=located.area_code,
                                       **{k: located[k] for k in ("lsoa_code", "month", "value", *flags)}))
    if not branches:
        return pd.DataFrame(columns=columns)
    e = ibis.union(*branches) if len(branches) > 1 else branches[0]
    # each row once per filter group it passes
    g = ibis.memtable(pd.DataFrame({"g": np.arange(len(groups), dtype=np.int64)}))
    x = e.cross_join(g)
    x = x.filter(ibis.cases(*[(x.g == k, x[f]) for k, f in enumerate(flags)], else_=False))
    u = x.select("g", "level", "force", "area", "area_code", "lsoa_code", "month", "value")
    part = ["g", "level", "force", "area", "area_code", "month"]
    ranked = u.mutate(
        rank=ibis.row_number().over(group_by=[u[c] for c in part], order_by=u.value),
        n=u.value.count().over(group_by=[u[c] for c in part]),
        first_lsoa=u.lsoa_code.min().over(group_by=[u[c] for c in part]),
    )
    near = None
    for k in range(len(groups)):
        for q in sorted({PERCENTILE[i.measure] / 100.0 for i in indicators if (i.where, str(i.value)) == groups[k]}):
            pos = ((ranked.n - 1).cast("float64") * q).floor()
            hit = (ranked.g == k) & (ranked["rank"] >= pos - 1) & (ranked["rank"] <= pos + 1)
            near = hit if near is None else near | hit
    rows = ranked.filter(near).select(*part, "rank", "value", "n", "first_lsoa").to_pandas()
    rows["month"] = pd.to_datetime(rows["month"]).dt.date
    at = rows.set_index([*part, "rank"])["value"]
    heads = rows.drop_duplicates(part)
    out = []
    for ind in indicators:
        q = PERCENTILE[ind.measure] / 100.0
        mine = heads[heads["g"] == groups.index((ind.where, str(ind.value)))]
        n = mine["n"].to_numpy(dtype=np.int64)
        h = q * (n - 1).astype(np.float64)
        j = h.astype(np.int64)
        frac = h % 1
        keys = [mine[c].to_numpy() for c in part]
        low = at.reindex(pd.MultiIndex.from_arrays([*keys, j])).to_numpy(dtype=np.float64)
        high = at.reindex(pd.MultiIndex.from_arrays([*keys, j + 1])).to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            num = np.where(frac == 0.0, low, low + (high - low) * frac)
        out.append(pd.DataFrame({
            "indicator": ind.id, "level": mine["level"].to_numpy(), "force": mine["force"].to_numpy(),
            "area": mine["area"].to_numpy(), "area_code": mine["area_code"].to_numpy(), "month": mine["month"].to_numpy(),
            "num": num, "den": np.nan, "_measure": 0 if ind.measure == "median" else 1,
            "_level": mine["level"].map({"force": 0, "district": 1, "area": 2}).to_numpy(),
            "_first": mine["first_lsoa"].to_numpy(),
        }))
    if not out:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(out, ignore_index=True)
    # the order monthly_series gives: by measure, level, then each series-month where its
    # first value comes in the values' order (indicator, force, lsoa_code, month)
    frame = frame.sort_values(["_measure", "_level", "indicator", "force", "_first", "month"],
                              kind="stable", na_position="last")
    return frame[columns].reset_index(drop=True)


def distinct_values(con: Any, table: str, column: str, summaries: Mapping[str, Any] | None = None) -> list[str]:
    """Distinct non-null values of a column (for expanding ``for_each`` templates).

    Read from the table's current summary when it has the column (``summaries``, see
    :func:`summaries_of`): it holds every value the rows do.
    """
    if summaries and table in summaries and column in summaries[table].columns:
        t = summaries[table]
        return sorted(str(v) for v in t.select(column).distinct().to_pandas()[column].dropna())
    if table not in set(con.list_tables()):
        return []
    t = con.table(table)
    if column not in t.columns:
        return []
    return sorted(str(v) for v in t.select(column).distinct().to_pandas()[column].dropna())


def table_facts(con: Any, tables: Sequence[str], summaries: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Rows, generated rows and the latest month per table and force, for every table in one query.

    Columns: table, force, rows, generated_rows, last_month. What the pack needs to know
    about the store before aggregating (its forces, which tables hold generated rows, the
    latest month for outcome maturity), asked once instead of once per table and question:
    on a distributed engine each query is a job of its own. A table with a current summary
    (``summaries``) and no ``generated`` column is read from its summary.
    """
    existing = set(con.list_tables())
    parts = []
    for table in tables:
        if table not in existing:
            continue
        t = con.table(table)
        if summaries and table in summaries and "generated" not in t.columns:
            s = summaries[table]
            parts.append(
                s.group_by(s.force.cast("string").name("force"))
                .aggregate(rows=_exact_sum(s[ROWS]), generated_rows=ibis.literal(0).cast("int64"),
                           last_month=s.month.max())
                .mutate(table=ibis.literal(table))
            )
            continue
        generated = t.count(where=t.generated.fill_null(False)) if "generated" in t.columns else ibis.literal(0).cast("int64")
        parts.append(
            t.group_by(t.force.cast("string").name("force"))
            .aggregate(rows=t.count(), generated_rows=generated, last_month=t.month.max())
            .mutate(table=ibis.literal(table))
        )
    if not parts:
        return pd.DataFrame(columns=["table", "force", "rows", "generated_rows", "last_month"])
    frame = (ibis.union(*parts) if len(parts) > 1 else parts[0]).to_pandas()
    frame["last_month"] = pd.to_datetime(frame["last_month"]).dt.date
    frame = frame[["table", "force", "rows", "generated_rows", "last_month"]].dropna(subset=["force"])
    return frame.sort_values(["table", "force"]).reset_index(drop=True)


def latest_months(
    con: Any, tables: Sequence[str], facts: pd.DataFrame | None = None
) -> dict[tuple[str, str], dt.date]:
    """The latest month each force has rows for, per table, over the whole store.

    Outcome maturity is judged against it: the months nearest the latest download are the
    ones whose cases are still open, whatever month a pack is built for. Pass the
    :func:`table_facts` already read to save a query.
    """
    if facts is None:
        facts = table_facts(con, tables)
    out: dict[tuple[str, str], dt.date] = {}
    for table, force, last in zip(facts["table"], facts["force"], facts["last_month"], strict=True):
        if table in tables and pd.notna(last):
            out[(str(table), str(force))] = pd.Timestamp(last).date().replace(day=1)
    return out
