"""Chart specifications (Vega-Lite via Altair) rendered offline to SVG.

Reports must open on police networks with no internet access, so charts are rendered here
to inline SVG (vl-convert bundles the Vega engine) rather than drawn by JavaScript fetched
from a CDN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc

PALETTE = {"line": "#1f4e79", "current": "#c0392b", "mean": "#555555", "limit": "#999999", "band": "#d6e4f0"}
FONT = "DejaVu Sans"


def to_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """Render a chart to an SVG string, offline."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    svg: str = vlc.vegalite_to_svg(spec)
    return svg


def _config(chart: Any, width: int, height: int) -> Any:
    return (
        chart.properties(width=width, height=height)
        .configure_axis(labelFont=FONT, titleFont=FONT, labelFontSize=10, titleFontSize=10, grid=False)
        .configure_view(strokeWidth=0)
        .configure_title(font=FONT, fontSize=12, anchor="start")
    )


def trend_chart(
    points: Sequence[dict[str, Any]],
    title: str,
    unit: str = "",
    spc: dict[str, Any] | None = None,
    width: int = 520,
    height: int = 160,
    y_title: str | None = None,
) -> Any:
    """Monthly line with the SPC centre line and limits, and the latest month marked."""
    df = pd.DataFrame([p for p in points if p.get("value") is not None])
    if df.empty:
        df = pd.DataFrame({"month": [], "value": []})
    df["date"] = pd.to_datetime(df["month"] + "-01") if len(df) else pd.Series(dtype="datetime64[ns]")
    y_title = y_title if y_title is not None else "%" if unit == "%" else "per month"
    base = alt.Chart(df).encode(x=alt.X("date:T", title=None, axis=alt.Axis(format="%b %y", tickCount=8)))
    layers: list[alt.Chart] = []
    if spc and spc.get("lcl") is not None and spc.get("ucl") is not None:
        band = pd.DataFrame({"lcl": [spc["lcl"]], "ucl": [spc["ucl"]], "mean": [spc["mean"]]})
        layers.append(alt.Chart(band).mark_rule(color=PALETTE["limit"], strokeDash=[4, 3]).encode(y="ucl:Q"))
        layers.append(alt.Chart(band).mark_rule(color=PALETTE["limit"], strokeDash=[4, 3]).encode(y="lcl:Q"))
        layers.append(alt.Chart(band).mark_rule(color=PALETTE["mean"]).encode(y="mean:Q"))
    layers.append(
        base.mark_line(color=PALETTE["line"], point=alt.OverlayMarkDef(size=14, color=PALETTE["line"])).encode(
            y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("month:N"), alt.Tooltip("value:Q", format=",.1f")],
        )
    )
    if len(df):
        latest = df.tail(1)
        layers.append(alt.Chart(latest).mark_point(size=70, filled=True, color=PALETTE["current"]).encode(x="date:T", y="value:Q"))
    chart = alt.layer(*layers).properties(title=title)
    return _config(chart, width, height)


def bar_chart(data: pd.DataFrame, x: str, y: str, title: str, width: int = 520, height: int = 200) -> Any:
    chart = (
        alt.Chart(data)
        .mark_bar(color=PALETTE["line"])
        .encode(x=alt.X(f"{x}:Q", title=None), y=alt.Y(f"{y}:N", sort="-x", title=None))
        .properties(title=title)
    )
    return _config(chart, width, height)


def funnel_chart(funnel: dict[str, Any], highlight: set[str] | None = None, width: int = 330, height: int = 200) -> Any:
    """Funnel plot: each force's rate per 1,000 against its residents, with the model's limits.

    ``funnel`` is one entry of the pack model's ``funnels`` (limits already computed there).
    """
    highlight = highlight or set()
    pts = pd.DataFrame(funnel["forces"])
    pts["population_k"] = pts["population"] / 1000.0
    pts["shown"] = pts["force"].map(lambda f: "this force" if f in highlight else "other forces")
    lim = pd.DataFrame(funnel["limits"])
    lim["population_k"] = lim["population"] / 1000.0
    x = alt.X("population_k:Q", title="residents (thousands)", scale=alt.Scale(type="log", nice=False))
    layers: list[Any] = [
        alt.Chart(pd.DataFrame({"target": [funnel["target"]]})).mark_rule(color=PALETTE["mean"]).encode(y="target:Q")
    ]
    for col in [c for c in lim.columns if c.startswith(("lower_", "upper_"))]:
        dash = [4, 3] if col.endswith("_95") else [1, 0]
        layers.append(
            alt.Chart(lim).mark_line(color=PALETTE["limit"], strokeDash=dash, strokeWidth=1).encode(x=x, y=alt.Y(f"{col}:Q"))
        )
    layers.append(
        alt.Chart(pts).mark_point(filled=True, size=28).encode(
            x=x,
            y=alt.Y("rate_per_1000:Q", title="per 1,000 residents", scale=alt.Scale(zero=False)),
            color=alt.Color("shown:N", scale=alt.Scale(domain=["this force", "other forces"], range=[PALETTE["current"], PALETTE["line"]]), legend=None),
            tooltip=[alt.Tooltip("force:N"), alt.Tooltip("rate_per_1000:Q", format=".2f")],
        )
    )
    chart = alt.layer(*layers).properties(title=funnel["title"])
    return _config(chart, width, height)
