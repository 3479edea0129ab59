"""Chart specifications for the demand and forecast reports (Vega-Lite, rendered offline to SVG).

Reports open on networks without internet access, so every chart is rendered to inline SVG
by :func:`thrv.report.charts.to_svg`; these functions only build the specifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from thrv.report.charts import FONT, PALETTE

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GENERATED_MARK = " (generated data)"


def _finish(chart: Any, width: int, height: int) -> Any:
    return (
        chart.properties(width=width, height=height)
        .configure_axis(labelFont=FONT, titleFont=FONT, labelFontSize=10, titleFontSize=10, grid=False)
        .configure_legend(labelFont=FONT, titleFont=FONT, labelFontSize=9, titleFontSize=9)
        .configure_view(strokeWidth=0)
        .configure_title(font=FONT, fontSize=12, anchor="start")
    )


def heatmap(grid: Sequence[dict[str, Any]], title: str, width: int = 560, height: int = 170) -> Any:
    """Average volume per week by hour of day (columns) and day of week (rows)."""
    df = pd.DataFrame(list(grid))
    chart = (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="hour of day (UK time)"),
            y=alt.Y("day:N", sort=list(WEEKDAYS), title=None),
            color=alt.Color("per_week:Q", title="per week", scale=alt.Scale(scheme="blues")),
            tooltip=[alt.Tooltip("day:N"), alt.Tooltip("hour:O"), alt.Tooltip("per_week:Q", format=",.1f")],
        )
        .properties(title=title)
    )
    return _finish(chart, width, height)


def hour_lines(rows: Sequence[dict[str, Any]], title: str, width: int = 560, height: int = 170) -> Any:
    """Share of each category group's demand by hour of day (shapes comparable across sizes)."""
    df = pd.DataFrame(list(rows))
    df["percent"] = 100 * df["share_of_group"]
    chart = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(size=10))
        .encode(
            x=alt.X("hour:O", title="hour of day (UK time)"),
            y=alt.Y("percent:Q", title="% of the group's demand"),
            color=alt.Color("category_group:N", title=None),
            tooltip=["category_group:N", "hour:O", alt.Tooltip("percent:Q", format=".1f")],
        )
        .properties(title=title)
    )
    return _finish(chart, width, height)


def share_change(rows: Sequence[dict[str, Any]], title: str, width: int = 480, height: int = 220) -> Any:
    """Change in each category's share of demand, percentage points, year on year."""
    df = pd.DataFrame(list(rows))
    df["significant"] = df["label_share"].isin(["Higher", "Lower"]).map({True: "significant", False: "not significant"})
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("change_share_pp:Q", title="change in share (percentage points)"),
            y=alt.Y("category:N", sort="-x", title=None),
            color=alt.Color(
                "significant:N", title=None,
                scale=alt.Scale(domain=["significant", "not significant"], range=[PALETTE["current"], PALETTE["limit"]]),
            ),
            tooltip=["category:N", alt.Tooltip("change_share_pp:Q", format="+.2f"), alt.Tooltip("p_value_share:Q", format=".3g")],
        )
        .properties(title=title)
    )
    return _finish(chart, width, height)


def monthly_lines(rows: Sequence[dict[str, Any]], title: str, top: int = 8, width: int = 560, height: int = 200) -> Any:
    """Monthly volume of the largest categories."""
    df = pd.DataFrame(list(rows))
    biggest = df.groupby("category")["count"].sum().sort_values(ascending=False).head(top).index
    df = df[df["category"].isin(biggest)].copy()
    df["date"] = pd.to_datetime(df["month"] + "-01")
    chart = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("date:T", title=None, axis=alt.Axis(format="%b %y")),
            y=alt.Y("count:Q", title="per month"),
            color=alt.Color("category:N", title=None, sort=list(biggest)),
            tooltip=["category:N", "month:N", alt.Tooltip("count:Q", format=",")],
        )
        .properties(title=title)
    )
    return _finish(chart, width, height)


def fan_chart(
    history: Sequence[dict[str, Any]], forecast: Sequence[dict[str, Any]], title: str, scenario: bool = False,
    width: int = 330, height: int = 130,
) -> dict[str, Any]:
    """History, the forecast and its 80% and 95% prediction intervals (a Vega-Lite spec).

    Written as a plain specification rather than through Altair: a forecast report draws
    dozens of these, and Altair's data handling and schema validation cost ~0.4 s a chart.
    """
    prefix = "scenario_" if scenario else ""
    hist = [{"date": f"{r['month']}-01", "month": r["month"], "y": r["y"]} for r in history]
    fut = [
        {"date": f"{r['month']}-01", "month": r["month"], **{c: r[f"{prefix}{c}"] for c in ("forecast", "lo80", "hi80", "lo95", "hi95")}}
        for r in forecast
    ]
    x = {"field": "date", "type": "temporal", "title": None, "axis": {"format": "%b %y", "tickCount": 6}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": width,
        "height": height,
        "config": {
            "axis": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 10, "titleFontSize": 10, "grid": False},
            "view": {"strokeWidth": 0},
            "title": {"font": FONT, "fontSize": 12, "anchor": "start"},
        },
        "layer": [
            {"data": {"values": fut}, "mark": {"type": "area", "color": PALETTE["band"], "opacity": 0.6},
             "encoding": {"x": x, "y": {"field": "lo95", "type": "quantitative", "title": "per month"}, "y2": {"field": "hi95"}}},
            {"data": {"values": fut}, "mark": {"type": "area", "color": "#9fbfdf", "opacity": 0.7},
             "encoding": {"x": x, "y": {"field": "lo80", "type": "quantitative"}, "y2": {"field": "hi80"}}},
            {"data": {"values": hist}, "mark": {"type": "line", "color": PALETTE["line"]},
             "encoding": {"x": x, "y": {"field": "y", "type": "quantitative"}}},
            {"data": {"values": fut}, "mark": {"type": "line", "color": PALETTE["current"], "strokeDash": [4, 2]},
             "encoding": {"x": x, "y": {"field": "forecast", "type": "quantitative"}}},
        ],
    }
