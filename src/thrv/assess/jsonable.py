"""Make the model strict JSON: no NaN, no numpy scalars, dates as text."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


class Rows(list[dict[str, Any]]):
    """Table rows already made JSON-safe by :func:`records` (so they are not walked again)."""


def jsonable(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(allow_nan=False)`` accepts (NaN and ±inf → None)."""
    if isinstance(value, Rows):
        return value
    if isinstance(value, pd.DataFrame):
        return records(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def _column(values: pd.Series) -> list[Any]:
    """One column as JSON-safe Python values, converted a column at a time (fast)."""
    if pd.api.types.is_bool_dtype(values):
        return [None if pd.isna(v) else bool(v) for v in values]
    if pd.api.types.is_integer_dtype(values):
        return [int(v) for v in values]
    if pd.api.types.is_float_dtype(values):
        array = values.to_numpy(dtype=float)
        out: list[Any] = array.tolist()
        for i in np.flatnonzero(~np.isfinite(array)):
            out[i] = None
        return out
    return [jsonable(v) for v in values.tolist()]


def records(frame: pd.DataFrame) -> Rows:
    """Rows of a table as JSON-able dicts."""
    if len(frame.columns) == 0:
        return Rows({} for _ in range(len(frame)))
    names = [str(c) for c in frame.columns]
    columns = [_column(frame[c]) for c in frame.columns]
    return Rows(dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True))
