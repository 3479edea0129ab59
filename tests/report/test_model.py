"""The report model's rows: plain Python values, None for anything missing or infinite."""

from __future__ import annotations

import math
from pathlib import Path
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


def test_model_rows_are_the_records_of_the_pack_table(sample_store: Path, tmp_path: Path) -> None:
    """pack.json's rows (made from the records the sentences were written from) are the
    records of pack_rows' table, column for column, in its order."""
    import datetime as dt

    from thrv.indicators.pack import build_pack
    from thrv.reference import DATA
    from thrv.report.model import pack_model, pack_rows
    from thrv.store.database import Store

    shipped = (DATA / "config" / "indicators.toml").read_text(encoding="utf-8")
    one = tmp_path / "two.toml"
    start = shipped.index('[[indicator]]\nid = "all_crime"')
    end = shipped.index("[[indicator]]", shipped.index("[[indicator]]", start + 1) + 1)
    one.write_text(shipped[start:end], encoding="utf-8")
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, dt.date(2025, 12, 1), levels=["force", "district"], indicator_files=[one])
    table = pack_rows(pack)
    rows = pack_model(pack)["rows"]
    assert len(rows) == len(table) > 10 and len({r["indicator"] for r in rows}) == 2
    assert rows == _records(table)
    assert [list(r) for r in rows[:1]] == [[str(c) for c in table.columns]]
    assert all(r["sentence"] for r in rows)
