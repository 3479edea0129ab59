"""Demand: generated scenario extracts, demand profiles, forecasts and the officer hours they imply.

Public entry points (the CLI's ``thrv simulate``, ``thrv demand`` and ``thrv forecast``):

- :func:`simulate` writes generated calls, incidents, recorded crimes and survey responses
  in the documented extract layouts, every row labelled ``generated``;
- :func:`build_demand` / :func:`write_demand`: volume by hour × weekday, by category and
  district, the busiest hours and how the mix is changing year on year;
- :func:`build_forecast` / :func:`write_forecast`: monthly forecasts 12-48 months ahead with
  80% and 95% intervals, models chosen per series by rolling-origin backtests (MASE against
  a seasonal-naive forecast), with officer hours.

Imports are deferred so that ``import thrv.demand`` stays cheap (forecasting loads numba).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_demand", "build_forecast", "simulate", "write_demand", "write_forecast"]


def simulate(
    out: Path,
    seed: int = 0,
    months: int = 36,
    end: dt.date | None = None,
    force: str = "Cambridgeshire Constabulary",
    scale: float = 1.0,
) -> list[Path]:
    """Write generated extracts (calls, incidents, force_crimes, survey_responses CSVs + README).

    See :func:`thrv.demand.simulate.simulate`.
    """
    from thrv.demand.simulate import simulate as run

    return run(out, seed=seed, months=months, end=end, force=force, scale=scale)


def build_demand(
    store: Any, first: dt.date | None = None, last: dt.date | None = None, area: str | None = None
) -> dict[str, Any]:
    """The demand profile as a JSON-able model. See :func:`thrv.demand.profile.build_demand`."""
    from thrv.demand.profile import build_demand as run

    return run(store, first=first, last=last, area=area)


def write_demand(model: dict[str, Any], out: Path, formats: Sequence[str] = ("html",)) -> list[Path]:
    """demand.json, demand CSVs and demand.html. See :func:`thrv.demand.report.write_demand`."""
    from thrv.demand.report import write_demand as run

    return run(model, out, formats)


def build_forecast(
    store: Any,
    horizon: int = 12,
    area: str | None = None,
    series: Sequence[str] = ("crimes", "incidents", "calls"),
    scenarios: Path | None = None,
    seed: int = 0,
    with_arima: bool = True,
    hours_table: Path | None = None,
) -> dict[str, Any]:
    """Forecasts with 80/95% intervals and the backtest table. See :mod:`thrv.demand.forecast`.

    ``with_arima=False`` leaves AutoARIMA out of the candidates (most of the run time);
    ``hours_table`` replaces the shipped officer-hours table.
    """
    from thrv.demand.forecast import build_forecast as run

    return run(
        store, horizon=horizon, area=area, series=series, scenarios=scenarios, seed=seed,
        with_arima=with_arima, hours_table=hours_table,
    )


def write_forecast(model: dict[str, Any], out: Path, formats: Sequence[str] = ("html",)) -> list[Path]:
    """forecast.json, forecast.csv, forecast_backtest.csv, forecast.html."""
    from thrv.demand.report import write_forecast as run

    return run(model, out, formats)
