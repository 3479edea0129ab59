"""thrv: performance packs, needs assessments and multi-agency insight from police records.

The Python API (docs/python-api.md)::

    import thrv
    table = thrv.pack("force.duckdb", "2025-12", area="Cambridgeshire")  # a DataFrame
    tables = thrv.assess("force.duckdb", "2024-01", "2025-12")           # DataFrames by name
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__version__ = "0.1.0"


def pack(
    db: str | Path | Any,
    month: str | dt.date,
    area: str | None = None,
    *,
    levels: Sequence[str] = ("force", "area", "district"),
    all_forces: bool = False,
    public: bool = False,
) -> pd.DataFrame:
    """The performance pack as a DataFrame (see :func:`thrv.api.pack`)."""
    from thrv.api import pack as _pack

    return _pack(db, month, area, levels=levels, all_forces=all_forces, public=public)


def assess(db: str | Path | Any, start: str | dt.date, end: str | dt.date, area: str | None = None) -> dict[str, pd.DataFrame]:
    """The needs assessment's tables as DataFrames (see :func:`thrv.api.assess`)."""
    from thrv.api import assess as _assess

    return _assess(db, start, end, area)


__all__ = ["__version__", "assess", "pack"]
