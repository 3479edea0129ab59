"""The report model: a pack as plain JSON-able data, which every renderer reads.

``pack.json`` is this model written out; the HTML, PDF and Excel renderers and the web API
take the same dict, so a figure can never differ between formats.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from thrv.indicators.pack import Pack
from thrv.report.narrative import sentence

#: pack.csv columns in order: the interface contract first, then the rest
CONTRACT_COLUMNS = [
    "indicator", "area", "area_level", "month", "current", "prev_1y", "prev_2y", "prev_3y",
    "avg_1y", "avg_3y", "rolling_12m", "baseline", "label", "test", "p_value",
    "label_1y", "test_1y", "p_value_1y", "label_3y", "test_3y", "p_value_3y",
]
SCHEMA_VERSION = "1.0"


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN → None, numpy → Python."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values with None for missing or infinite (column by column)."""
    names = [str(c) for c in frame.columns]
    columns: list[list[Any]] = []
    for name in frame.columns:
        col = frame[name]
        kind = col.dtype.kind
        values = col.to_numpy() if kind in "fiub" else None
        if values is not None and kind == "f" and values.dtype.kind == "f":
            cells = values.tolist()
            for i in np.flatnonzero(~np.isfinite(values)).tolist():
                cells[i] = None
            columns.append(cells)
        elif values is not None and kind == "f":
            columns.append([None if (x != x or x in (math.inf, -math.inf)) else x for x in values.tolist()])
        elif values is not None:
            columns.append(values.tolist())
        else:  # text mostly: a str is kept as it is
            columns.append([x if type(x) is str else (None if _missing(x) else _clean(x)) for x in col.tolist()])
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def pack_rows(pack: Pack) -> pd.DataFrame:
    """The pack table with its final column names, titles and sentences."""
    return _rows(pack)[0]


def _rows(pack: Pack) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """:func:`pack_rows`, and its rows as records (as :func:`_records` of it would give, made
    from the records the sentences were written from rather than converted a second time)."""
    table = pack.table.rename(columns={"level": "area_level"}).copy()
    ind = pack.indicators
    # titles expanded from a category keep its code ("public_safety"): show it as words
    table.insert(1, "title", table["indicator"].map(lambda i: ind[i].title.replace("_", " ")))
    table.insert(2, "group", table["indicator"].map(lambda i: ind[i].group))
    table["direction"] = table["indicator"].map(lambda i: ind[i].direction)
    table["unit"] = table["indicator"].map(lambda i: ind[i].unit)
    table["generated_data"] = table["indicator"].map(lambda i: ind[i].generated)
    _add_intervals(table, pack.options.confidence)
    alpha = pack.options.alpha
    # the records in the published column order, the sentence (a new last column) added to each
    records = _records(table[CONTRACT_COLUMNS + [c for c in table.columns if c not in CONTRACT_COLUMNS]])
    texts = [
        ("(Generated data) " if ind[r["indicator"]].generated else "")
        + sentence(
            r,
            ind[r["indicator"]].title,
            ind[r["indicator"]].measure,
            alpha,
            ind[r["indicator"]].noun,
        )
        for r in records
    ]
    table["sentence"] = texts
    for r, text in zip(records, texts, strict=True):
        r["sentence"] = text
    rest = [c for c in table.columns if c not in CONTRACT_COLUMNS]
    return table[CONTRACT_COLUMNS + rest], records


def _add_intervals(table: pd.DataFrame, confidence: float) -> None:
    """Wilson intervals of each proportion shown (the month and the 12 months), for --intervals."""
    from thrv.stats.proportions import wilson_interval_many

    is_prop = (table["measure"] == "proportion").to_numpy() if "measure" in table else np.zeros(len(table), bool)
    for value, num, den in (("current", "current_num", "current_den"), ("rolling_12m", "rolling_12m_num", "rolling_12m_den")):
        if num not in table or den not in table:
            continue
        n = pd.to_numeric(table[den], errors="coerce").to_numpy(dtype=float)
        x = pd.to_numeric(table[num], errors="coerce").to_numpy(dtype=float)
        ok = is_prop & np.isfinite(n) & np.isfinite(x) & (n > 0)
        low, high = wilson_interval_many(np.where(ok, x, 0.0), np.where(ok, n, 1.0), confidence)
        table[f"{value}_ci_low"] = np.where(ok, 100.0 * low, np.nan)
        table[f"{value}_ci_high"] = np.where(ok, 100.0 * high, np.nan)


def funnels(pack: Pack, points: int = 60) -> list[dict[str, Any]]:
    """Funnel plot data for each per-1,000 indicator held for three or more forces.

    The forces' rolling 12-month rates against their residents, with the 95% and 99.8%
    limits around the pooled rate (:mod:`thrv.stats.funnel`) on a grid of populations.
    """
    from thrv.stats.funnel import funnel_plots

    peers = pack.peers
    out: list[dict[str, Any]] = []
    if peers is None or peers.empty:
        return out
    held = []
    for ind_id, g in peers.groupby("indicator", sort=False):
        g = g.dropna(subset=["rolling_12m", "population"])
        g = g[g["population"] > 0]
        if len(g) >= 3:
            held.append((ind_id, g))
    plots = funnel_plots([(g["rolling_12m"].tolist(), g["population"].tolist()) for _, g in held], points)
    for (ind_id, g), plot in zip(held, plots, strict=True):
        f = plot.fit
        ind = pack.indicators.get(str(ind_id))
        out.append({
            "indicator": str(ind_id),
            "title": ind.title if ind else str(ind_id),
            "target": f.target, "phi": f.phi, "overdispersed": f.overdispersed, "method": f.method,
            "forces": [
                {"force": force, "rate_per_1000": float(rate), "population": float(pop), "rolling_12m": float(roll), "z": _clean(float(z))}
                for force, rate, pop, roll, z in zip(
                    g["force"].tolist(), g["rate_per_1000"].to_numpy(float), g["population"].to_numpy(float),
                    g["rolling_12m"].to_numpy(float), f.z, strict=True,
                )
            ],
            "limits": plot.limits,
        })
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the model is built.

    A national pack's model is some 300,000 small dicts and lists, none in a reference cycle;
    the collector would walk them again and again as they are made (a fifth of the time).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def pack_model(pack: Pack) -> dict[str, Any]:
    """The whole pack as a dict (the content of pack.json; see docs/pack-json.md)."""
    with _collector_paused():
        return _pack_model(pack)


def _pack_model(pack: Pack) -> dict[str, Any]:
    _table, rows = _rows(pack)
    history = pack.history
    series: dict[str, list[dict[str, Any]]] = {}
    months = history["month"].to_numpy()
    values = history["value"].to_numpy(dtype=float)
    groups = history.groupby(["indicator", "level", "force", "area"], sort=False).indices
    if groups:  # every series' rows taken in one go, then sliced
        idx = np.concatenate(list(groups.values()))
        month_list = months[idx].tolist()
        value_list = [None if v != v else v for v in values[idx].tolist()]
        start = 0
        for key, rows_of in groups.items():
            end = start + len(rows_of)
            series["|".join(str(part) for part in key) if isinstance(key, tuple) else str(key)] = [
                {"month": m, "value": v} for m, v in zip(month_list[start:end], value_list[start:end], strict=True)
            ]
            start = end
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "performance_pack",
        "meta": {**pack.meta, "alpha": pack.options.alpha},
        "indicators": [
            {
                "id": i.id, "title": i.title, "group": i.group, "measure": i.measure, "table": i.table,
                "direction": i.direction, "test": i.test, "unit": i.unit, "noun": i.noun, "per_1000": i.per_1000,
                "note": i.note, "generated_data": i.generated, "immature_months": i.immature_months,
                "where": [{"column": c.column, "values": list(c.values), "negate": c.negate} for c in i.where],
                "numerator": [{"column": c.column, "values": list(c.values), "negate": c.negate} for c in i.numerator],
            }
            for i in pack.indicators.values()
        ],
        "rows": rows,
        "series": series,
        "funnels": funnels(pack),
        "similar": _similar(pack),  # each force and district against its most similar areas (thrv.assess.similar)
    }


def _similar(pack: Pack) -> dict[str, Any]:
    from thrv.assess.similar import pack_section

    return pack_section(pack.table, {i.id: i.title for i in pack.indicators.values()})
