"""The Python API: the pack and the assessment as pandas DataFrames, for notebooks and scripts.

``thrv.pack`` and ``thrv.assess`` apply the same checks as the commands (the month must be
held, an ``--area`` name is matched by the one rule, a store of several forces needs an area
or ``all_forces=True``) and return DataFrames; the full model (what the files are rendered
from) is on ``frame.attrs["model"]``. See docs/python-api.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


def _month(value: str | dt.date) -> dt.date:
    from thrv.indicators.pack import parse_month

    if isinstance(value, dt.date):
        return value.replace(day=1)
    return parse_month(value)


@contextmanager
def _opened(db: Any) -> Iterator[Any]:
    """A store from a path or engine URI (opened read-only for the call), or a SparkSession,
    an Ibis connection or an open store, used as given (see docs/scale.md)."""
    from thrv.store.engines import connect, parse_target

    if isinstance(db, (str, Path)):
        target = parse_target(db)
        if target.engine == "duckdb" and not Path(target.path).exists():
            raise FileNotFoundError(f"{target.path}: no such store; run `thrv ingest PATH --db {target.path}` first")
        with connect(db) as store:
            yield store
    else:
        yield connect(db)  # the caller's session or connection: the caller closes it


def pack(
    db: str | Path | Any,
    month: str | dt.date,
    area: str | None = None,
    *,
    levels: Sequence[str] = ("force", "area", "district"),
    all_forces: bool = False,
    public: bool = False,
) -> pd.DataFrame:
    """The performance pack for ``month``: one row per indicator and area, every figure and test.

    Columns are those of pack.csv (docs/pack-json.md): ``current``, ``prev_1y``..``prev_3y``,
    ``avg_1y``, ``avg_3y``, ``rolling_12m``, ``baseline``, the labels, tests and p-values,
    n (``current_den``, ``rolling_12m_den``), rates per 1,000, SPC and ``sentence``.
    ``public=True`` returns the published view (small numbers suppressed).
    """
    from thrv.indicators.pack import build_pack, preflight
    from thrv.report.model import CONTRACT_COLUMNS, pack_model

    when = _month(month)
    with _opened(db) as store:
        preflight(store, when, area, all_forces, levels)
        if public:  # a view of the one decision for every month and level (docs/disclosure.md)
            from thrv.report.disclosure import DisclosureRule, public_pack

            model = public_pack(store, f"{when:%Y-%m}", DisclosureRule("threshold", 5), area, levels)
        else:
            model = pack_model(build_pack(store, when, area, levels))
    frame = pd.DataFrame(model["rows"])
    frame = frame[[c for c in CONTRACT_COLUMNS if c in frame] + [c for c in frame if c not in CONTRACT_COLUMNS]]
    frame.attrs["model"] = model
    return frame


def assess(
    db: str | Path | Any,
    start: str | dt.date,
    end: str | dt.date,
    area: str | None = None,
) -> dict[str, pd.DataFrame]:
    """The strategic needs assessment from ``start`` to ``end``: its tables by name.

    Keys are the CSV names the command writes ("priorities", "harm_by_type", "trends",
    "emerging_issues", "hotspot_clusters", ...); the model is on each frame's
    ``attrs["model"]``.
    """
    from thrv.assess import build_assessment
    from thrv.assess.report import tables

    with _opened(db) as store:
        model = build_assessment(store, _month(start), _month(end), area)
    frames = tables(model)
    for frame in frames.values():
        frame.attrs["model"] = model
    return frames


__all__ = ["assess", "pack"]
