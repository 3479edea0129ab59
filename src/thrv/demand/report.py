"""Write the demand profile and the forecasts: JSON and CSV always, HTML (and PDF, XLSX) on request.

The JSON is the model exactly as built (every figure a renderer shows is in it); the CSVs
are its tables for spreadsheets; the HTML is self-contained (inline CSS and SVG charts) so
it opens on an offline police network. Anything computed from generated data is marked as
such in every one of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.demand.charts import (
    GENERATED_MARK,
    fan_chart,
    heatmap,
    hour_lines,
    monthly_lines,
    share_change,
)
from thrv.report.charts import to_svg
from thrv.report.files import write_csv, write_json
from thrv.report.html import TEMPLATES, environment
from thrv.report.narrative import format_p

FORMATS = ("html", "pdf", "xlsx")
#: forecast charts drawn in the HTML (the CSV and JSON hold every series)
MAX_FAN_CHARTS = 60


def _svg(chart: Any) -> str:
    """SVG of an Altair chart (schema validation skipped: these specs are fixed) or a spec dict."""
    return to_svg(chart if isinstance(chart, dict) else chart.to_dict(validate=False))


def _check_formats(formats: Sequence[str]) -> list[str]:
    chosen = [f.lower() for f in formats]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)} (JSON and CSV are always written)")
    return chosen


def _num(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{float(v):,.{digits}f}"


def _pct(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{100 * float(v):.{digits}f}%"


def _env() -> Any:
    env = environment()
    env.filters.update(num=_num, pct=_pct, p=lambda v: "" if v is None else format_p(float(v)))
    return env


def _css() -> str:
    return (TEMPLATES / "base.css").read_text(encoding="utf-8")


def _sheets(path: Path, tables: dict[str, list[dict[str, Any]]]) -> Path:
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        for name, rows in tables.items():
            pd.DataFrame(rows).to_excel(writer, sheet_name=name[:31], index=False)
    return path


def _write_formats(html: str, out: Path, stem: str, formats: list[str], tables: dict[str, list[dict[str, Any]]]) -> list[Path]:
    written = []
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        if fmt == "html":
            path.write_text(html, encoding="utf-8")
        elif fmt == "pdf":
            from thrv.report.pdf import html_to_pdf

            html_to_pdf(html, path)
        else:
            _sheets(path, tables)
        written.append(path)
    return written


# -- demand -------------------------------------------------------------------------------

DEMAND_TABLES = ("hour_weekday", "busiest", "hour_by_group", "by_category", "by_district", "district_category", "mix_change", "monthly")


def render_demand_html(model: dict[str, Any], charts: bool = True) -> str:
    streams = []
    for s in model["streams"]:
        name = s["stream"]
        mark = GENERATED_MARK if s["generated"] else ""
        rows = {k: [r for r in model[k] if r["stream"] == name] for k in DEMAND_TABLES}
        svgs = []
        if charts and rows["hour_weekday"]:
            svgs.append(_svg(heatmap(rows["hour_weekday"], f"{s['title']}: average per week by hour and day{mark}")))
        if charts and rows["hour_by_group"]:
            svgs.append(_svg(hour_lines(rows["hour_by_group"], f"{s['title']}: time of day by kind{mark}")))
        if charts and rows["mix_change"]:
            svgs.append(_svg(share_change(rows["mix_change"], f"{s['title']}: change in the mix, year on year{mark}")))
        if charts and rows["monthly"]:
            svgs.append(_svg(monthly_lines(rows["monthly"], f"{s['title']}: monthly volume, largest categories{mark}")))
        streams.append({**s, "mark": mark, **rows, "charts": svgs})
    meta = model["meta"]
    where = meta.get("district") or meta.get("force") or ", ".join(meta.get("forces", [])) or "all forces"
    return _env().get_template("demand.html.j2").render(
        title=f"Demand profile: {where}", meta=meta, streams=streams, css=_css(),
    )


def write_demand(model: dict[str, Any], out: Path, formats: Sequence[str] = ("html",)) -> list[Path]:
    """demand.json, one CSV per table (demand_<table>.csv) and demand.<format> for each format."""
    chosen = _check_formats(formats)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_json(model, out / "demand.json")]
    tables = {k: model[k] for k in DEMAND_TABLES}
    for name, rows in tables.items():
        if rows:
            written.append(write_csv(rows, out / f"demand_{name}.csv"))
    html = render_demand_html(model) if {"html", "pdf"} & set(chosen) else ""
    written.extend(_write_formats(html, out, "demand", chosen, {"streams": model["streams"], **tables}))
    return written


# -- forecast -----------------------------------------------------------------------------

FORECAST_COLUMNS = [
    "stream", "level", "force", "area", "category", "month", "months_ahead", "forecast", "lo80", "hi80", "lo95", "hi95",
    "model", "model_spec", "generated",
]
BACKTEST_COLUMNS = [
    "stream", "level", "force", "area", "category", "model", "chosen", "model_spec", "months", "backtest_horizon", "origins",
    "points", "mae", "mase", "snaive_mase", "rel_mae_vs_snaive", "beats_snaive", "coverage80", "coverage95", "generated",
]


def _chart_series(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Series drawn in the HTML: every force-level series, then district totals, up to a cap."""
    series = model["series"]
    force = [s for s in series if s["level"] == "force"]
    totals = [s for s in series if s["level"] == "district" and str(s["category"]).startswith("All ")]
    return (force + totals)[:MAX_FAN_CHARTS]


def render_forecast_html(model: dict[str, Any], charts: bool = True) -> str:
    meta = model["meta"]
    scenario = bool(meta.get("scenarios"))
    history: dict[str, list[dict[str, Any]]] = {}
    for r in model["history"]:
        history.setdefault(r["unique_id"], []).append(r)
    forecasts: dict[str, list[dict[str, Any]]] = {}
    for r in model["forecasts"]:
        forecasts.setdefault(r["unique_id"], []).append(r)
    chosen = {r["unique_id"]: r for r in model["backtest"] if r["chosen"]}
    svgs = []
    if charts:
        for s in _chart_series(model):
            uid = s["unique_id"]
            if uid not in forecasts:
                continue
            place = s["area"] if s["level"] == "district" else s["force"]
            mark = GENERATED_MARK if s["generated"] else ""
            title = f"{s['category']}, {place}{mark}"
            svgs.append(_svg(fan_chart(history.get(uid, []), forecasts[uid], title, scenario)))
    backtest = sorted(
        (r for r in model["backtest"] if r["chosen"]),
        key=lambda r: (r["stream"], r["level"] != "force", str(r["area"]), str(r["category"])),
    )
    first_year = [r for r in model["forecasts"] if r["level"] == "force" and r["months_ahead"] <= 12]
    annual: dict[str, dict[str, Any]] = {}
    for r in first_year:
        a = annual.setdefault(r["unique_id"], {**r, "total": 0.0})
        a["total"] += r["forecast"]
    where = meta.get("district") or meta.get("force") or "all forces in the store"
    return _env().get_template("forecast.html.j2").render(
        title=f"Likely future demand: {where}", meta=meta, summary=model["summary"], calibration=model["calibration"],
        backtest=backtest, chosen=chosen, charts=svgs, workforce=model["workforce"], annual=list(annual.values()),
        scenario=scenario, css=_css(), max_charts=MAX_FAN_CHARTS,
    )


def write_forecast(model: dict[str, Any], out: Path, formats: Sequence[str] = ("html",)) -> list[Path]:
    """forecast.json, forecast.csv, forecast_backtest.csv (+ history, workforce) and the formats."""
    chosen = _check_formats(formats)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_json(model, out / "forecast.json")]
    written.append(write_csv(model["forecasts"], out / "forecast.csv", FORECAST_COLUMNS))
    written.append(write_csv(model["backtest"], out / "forecast_backtest.csv", BACKTEST_COLUMNS))
    written.append(write_csv(model["history"], out / "forecast_history.csv", ["stream", "level", "area", "category", "month", "y"]))
    if model["workforce"]["monthly"]:
        written.append(write_csv(model["workforce"]["monthly"], out / "forecast_workforce.csv"))
    html = render_forecast_html(model) if {"html", "pdf"} & set(chosen) else ""
    tables = {
        "forecast": model["forecasts"], "backtest": model["backtest"], "calibration": model["calibration"],
        "workforce": model["workforce"]["monthly"], "history": model["history"],
    }
    written.extend(_write_formats(html, out, "forecast", chosen, tables))
    return written
