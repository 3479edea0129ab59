"""The report model: a pack as plain JSON-able data, which every renderer reads.

``pack.json`` is this model written out; the HTML, PDF and Excel renderers and the web API
take the same dict, so a figure can never differ between formats.
"""

from __future__ import annotations

import math
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
        if kind == "f":
            columns.append([None if (x != x or x in (math.inf, -math.inf)) else x for x in col.to_numpy().tolist()])
        elif kind in "iub":
            columns.append(col.to_numpy().tolist())
        else:
            columns.append([None if _missing(x) else _clean(x) for x in col.tolist()])
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def pack_rows(pack: Pack) -> pd.DataFrame:
    """The pack table with its final column names, titles and sentences."""
    table = pack.table.rename(columns={"level": "area_level"}).copy()
    ind = pack.indicators
    table.insert(1, "title", table["indicator"].map(lambda i: ind[i].title))
    table.insert(2, "group", table["indicator"].map(lambda i: ind[i].group))
    table["direction"] = table["indicator"].map(lambda i: ind[i].direction)
    table["unit"] = table["indicator"].map(lambda i: ind[i].unit)
    table["generated_data"] = table["indicator"].map(lambda i: ind[i].generated)
    alpha = pack.options.alpha
    records = _records(table)
    table["sentence"] = [
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
    rest = [c for c in table.columns if c not in CONTRACT_COLUMNS]
    return table[CONTRACT_COLUMNS + rest]


def pack_model(pack: Pack) -> dict[str, Any]:
    """The whole pack as a dict (the content of pack.json; see docs/pack-json.md)."""
    rows = pack_rows(pack)
    history = pack.history
    series: dict[str, list[dict[str, Any]]] = {}
    months = history["month"].to_numpy()
    values = history["value"].to_numpy(dtype=float)
    for key, idx in history.groupby(["indicator", "level", "force", "area"], sort=False).indices.items():
        series["|".join(str(part) for part in key) if isinstance(key, tuple) else str(key)] = [
            {"month": m, "value": None if v != v else v} for m, v in zip(months[idx].tolist(), values[idx].tolist(), strict=True)
        ]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "performance_pack",
        "meta": {**pack.meta, "alpha": pack.options.alpha},
        "indicators": [
            {
                "id": i.id, "title": i.title, "group": i.group, "measure": i.measure, "table": i.table,
                "direction": i.direction, "test": i.test, "unit": i.unit, "noun": i.noun, "per_1000": i.per_1000,
                "note": i.note, "generated_data": i.generated,
                "where": [{"column": c.column, "values": list(c.values), "negate": c.negate} for c in i.where],
                "numerator": [{"column": c.column, "values": list(c.values), "negate": c.negate} for c in i.numerator],
            }
            for i in pack.indicators.values()
        ],
        "rows": _records(rows),
        "series": series,
    }
