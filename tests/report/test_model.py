"""The report model's rows: plain Python values, None for anything missing or infinite."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from thrv.report.model import _records


def _one_by_one(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each cell looked at on its own (the reference)."""
    def plain(x: Any) -> Any:
        if isinstance(x, np.generic):
            x = x.item()
        if x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and not math.isfinite(x)):
            return None
        return x

    return [{str(c): plain(v) for c, v in zip(frame.columns, row, strict=True)}
            for row in frame.astype(object).itertuples(index=False, name=None)]


def test_records_are_plain_values_with_none_for_missing() -> None:
    frame = pd.DataFrame({
        "rate": [1.5, np.nan, np.inf, -np.inf, 0.1 + 0.2],
        "n": np.array([1, 2, 3, 4, 5], dtype="int64"),
        "flag": [True, False, True, False, True],
        "label": ["up", None, "down", np.nan, pd.NA],
        "code": np.array(["a", "b", "c", "d", "e"], dtype=object),
        "numpy_text": [np.str_("x"), "y", np.str_("z"), "w", "v"],
        "mixed": [np.float64(2.5), np.int64(3), "t", np.nan, None],
    })
    got = _records(frame)
    assert got == _one_by_one(frame)
    assert got[1]["rate"] is None and got[2]["rate"] is None and got[4]["rate"] == 0.1 + 0.2
    assert [r["label"] for r in got] == ["up", None, "down", None, None]
    assert all(type(r["n"]) is int and type(r["flag"]) is bool and type(r["numpy_text"]) is str for r in got)
    assert type(got[0]["mixed"]) is float and type(got[1]["mixed"]) is int
