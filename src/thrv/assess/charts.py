"""Chart and map specifications for the assessment (Vega-Lite), rendered offline to SVG.

Maps carry no tiles and need no network: hexagons are drawn from their H3 boundaries as
inline GeoJSON-shaped data (one multi-polygon per class, which keeps the SVG small), LSOAs
as circles at the centre of their records. Labels name districts and numbered clusters so
a reader can find the places without a base map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from thrv.assess.hotspots import cells_geometry
from thrv.report.charts import FONT, PALETTE, to_svg

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
HOT = {"hot (q < 0.001)": "#99000d", "hot (q < 0.01)": "#e31a1c", "hot (q < 0.05)": "#fc9272",
       "cold (q < 0.05)": "#9ecae1", "cold (q < 0.01)": "#4292c6", "cold (q < 0.001)": "#08519c"}
BACKGROUND = "#e6e6e6"
SERIES_COLOURS = ["#9e9e9e", "#c0392b", "#1f4e79", "#7d3c98", "#27ae60"]
CONFIG = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 10, "titleFontSize": 10, "grid": False},
    "title": {"fontSize": 12, "anchor": "start"},
    "legend": {"labelFontSize": 9, "titleFontSize": 9},
}


def _spec(body: dict[str, Any], title: str, width: int, height: int) -> dict[str, Any]:
    return {"$schema": SCHEMA, "title": title, "width": width, "height": height, "config": CONFIG, **body}


def svg(spec: dict[str, Any]) -> str:
    return to_svg(spec)


def _class_of(threshold_alpha: float, q: float | None, z: float | None) -> str:
    if q is None or z is None or q >= threshold_alpha:
        return ""
    level = 0.001 if q < 0.001 else 0.01 if q < 0.01 else threshold_alpha
    return f"{'hot' if z > 0 else 'cold'} (q < {level:g})"


def hex_map(cells: Sequence[dict[str, Any]], layer: str, title: str, clusters: Sequence[dict[str, Any]],
            alpha: float, labels: Sequence[dict[str, Any]] = (), width: int = 500, height: int = 440) -> dict[str, Any]:
    """Hot and cold hexagons of one layer over the grey study region, clusters numbered."""
    groups: dict[str, list[str]] = {"study region": [c["cell"] for c in cells]}
    for c in cells:
        cls = _class_of(alpha, c.get(f"{layer}_q"), c.get(f"{layer}_z"))
        if cls:
            groups.setdefault(cls, []).append(c["cell"])
    order = ["study region", *[k for k in HOT if k in groups]]
    features = [{"type": "Feature", "properties": {"class": k}, "geometry": cells_geometry(groups[k])}
                for k in order if k in groups]
    domain = [k for k in order if k in groups]
    colours = [BACKGROUND if k == "study region" else HOT[k] for k in domain]
    layers: list[dict[str, Any]] = [{
        "data": {"values": features},
        "mark": {"type": "geoshape"},
        "encoding": {"color": {"field": "properties.class", "type": "nominal", "title": "Gi* (BH q)",
                               "scale": {"domain": domain, "range": colours}}},
    }]
    if labels:
        layers.append({"data": {"values": list(labels)}, "mark": {"type": "text", "fontSize": 9, "color": "#444", "fontStyle": "italic", "dy": 14},
                       "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                    "latitude": {"field": "lat", "type": "quantitative"},
                                    "text": {"field": "label", "type": "nominal"}}})
    if clusters:
        pts = [{"lon": c["lon"], "lat": c["lat"], "label": str(c["cluster"])} for c in clusters[:10]]
        layers.append({"data": {"values": pts}, "mark": {"type": "text", "fontSize": 11, "fontWeight": "bold",
                                                          "dx": 9, "dy": -7, "color": "#111"},
                       "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                    "latitude": {"field": "lat", "type": "quantitative"},
                                    "text": {"field": "label", "type": "nominal"}}})
    return _spec({"projection": {"type": "mercator"}, "layer": layers}, title, width, height)


def lsoa_map(lsoas: Sequence[dict[str, Any]], title: str, labels: Sequence[dict[str, Any]] = (),
             width: int = 560, height: int = 480) -> dict[str, Any]:
    """LSOAs as circles at the centre of their records: size = crimes, colour = rate vs the rest."""
    rows = [r for r in lsoas if r.get("lat") is not None]
    colours = {"higher": "#c0392b", "similar": "#999999", "lower": "#2e86c1", "": "#cccccc"}
    layers: list[dict[str, Any]] = [{
        "data": {"values": [{"lat": r["lat"], "lon": r["lon"], "crimes": r["crimes"],
                             "compared": r.get("compared_with_rest") or ""} for r in rows]},
        "mark": {"type": "circle", "opacity": 0.6, "stroke": "white", "strokeWidth": 0.3},
        "encoding": {
            "longitude": {"field": "lon", "type": "quantitative"},
            "latitude": {"field": "lat", "type": "quantitative"},
            "size": {"field": "crimes", "type": "quantitative", "title": "Crimes", "scale": {"range": [4, 400]}},
            "color": {"field": "compared", "type": "nominal", "title": "Rate vs rest (BH q)",
                      "scale": {"domain": list(colours), "range": list(colours.values())}},
        },
    }]
    if labels:
        layers.append({"data": {"values": list(labels)}, "mark": {"type": "text", "fontSize": 9, "color": "#444", "fontStyle": "italic", "dy": 14},
                       "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                    "latitude": {"field": "lat", "type": "quantitative"},
                                    "text": {"field": "label", "type": "nominal"}}})
    return _spec({"projection": {"type": "mercator"}, "layer": layers}, title, width, height)


def priority_chart(priorities: Sequence[dict[str, Any]], width: int = 640, height: int = 380) -> dict[str, Any]:
    """The risk matrix: likelihood across, impact up, numbered by rank."""
    rows = [{"x": p["likelihood_score"], "y": p["impact_score"], "rank": p["rank"],
             # ranks only: theme names beside close points overlap (the table names each rank)
             "label": str(p["rank"]),
             "score": p["score"]} for p in priorities if p.get("score") is not None]
    enc = {"x": {"field": "x", "type": "quantitative", "title": "Likelihood (0–4, measured)", "scale": {"domain": [0, 4]}},
           "y": {"field": "y", "type": "quantitative", "title": "Impact (0–4, judged)", "scale": {"domain": [0, 4]}}}
    return _spec({"data": {"values": rows}, "layer": [
        {"mark": {"type": "circle", "color": PALETTE["line"], "opacity": 0.75},
         "encoding": {**enc, "size": {"field": "score", "type": "quantitative", "title": "Score (impact × likelihood)",
                                      "scale": {"range": [30, 500]}, "legend": {"orient": "bottom", "direction": "horizontal"}}}},
        {"mark": {"type": "text", "align": "center", "baseline": "bottom", "dy": -6, "fontSize": 9, "fontWeight": "bold"},
         "encoding": {**enc, "text": {"field": "label", "type": "nominal"}}},
    ]}, "Priority matrix: impact × likelihood (numbers are ranks)", width, height)


def volume_harm_chart(by_type: Sequence[dict[str, Any]], schemes: Sequence[dict[str, Any]], width: int = 440) -> dict[str, Any]:
    """Each type's share of records against its share of harm under each scheme."""
    rows = []
    for r in by_type:
        rows.append({"type": r["crime_type"], "measure": "Records", "pct": r["share_records_pct"]})
        for s in schemes:
            rows.append({"type": r["crime_type"], "measure": f"Harm: {s['name']}", "pct": r[f"share_harm_{s['key']}_pct"]})
    order = [r["crime_type"] for r in by_type]
    domain = ["Records", *[f"Harm: {s['name']}" for s in schemes]]
    return _spec({"data": {"values": rows}, "mark": "bar", "encoding": {
        "y": {"field": "type", "type": "nominal", "sort": order, "title": None},
        "yOffset": {"field": "measure", "type": "nominal", "sort": domain},
        "x": {"field": "pct", "type": "quantitative", "title": "% of the total"},
        "color": {"field": "measure", "type": "nominal", "title": None, "sort": domain,
                  "scale": {"domain": domain, "range": SERIES_COLOURS[: len(domain)]},
                  "legend": {"orient": "bottom", "direction": "vertical"}},
    }}, "Share of volume vs share of harm", width, 9 * (1 + len(schemes)) * len(by_type))


def harm_month_chart(rows: Sequence[dict[str, Any]], schemes: Sequence[dict[str, Any]], width: int = 520) -> dict[str, Any]:
    """Crimes and harm month by month, each as an index (period mean = 100)."""
    frame = pd.DataFrame([r for r in rows if r["level"] == "scope"])
    long = []
    series = [("crimes", "Crimes (excl. ASB)")] + [(f"harm_{s['key']}", f"Harm: {s['name']}") for s in schemes]
    domain = [name for _, name in series]
    if not frame.empty:
        for col, name in series:
            mean = frame[col].mean()
            for m, v in zip(frame["month"], frame[col], strict=True):
                long.append({"month": m + "-01", "series": name, "index": v / mean * 100 if mean else None})
    return _spec({"data": {"values": long}, "mark": {"type": "line", "point": True}, "encoding": {
        "x": {"field": "month", "type": "temporal", "title": None, "axis": {"format": "%b %y"}},
        "y": {"field": "index", "type": "quantitative", "title": "Index (mean = 100)", "scale": {"zero": False}},
        "color": {"field": "series", "type": "nominal", "title": None,
                  "scale": {"domain": domain, "range": SERIES_COLOURS[: len(domain)]},
                  "legend": {"orient": "bottom", "direction": "vertical"}},
    }}, "Crime and harm by month (index, period mean = 100)", width, 180)


def lorenz_chart(curves: dict[str, Sequence[dict[str, Any]]], width: int = 320, height: int = 260) -> dict[str, Any]:
    rows = [{"curve": name, **p} for name, pts in curves.items() for p in pts]
    diag = [{"places_pct": 0, "share_pct": 0}, {"places_pct": 100, "share_pct": 100}]
    return _spec({"layer": [
        {"data": {"values": diag}, "mark": {"type": "line", "color": "#bbb", "strokeDash": [4, 3]},
         "encoding": {"x": {"field": "places_pct", "type": "quantitative"}, "y": {"field": "share_pct", "type": "quantitative"}}},
        {"data": {"values": rows}, "mark": "line", "encoding": {
            "x": {"field": "places_pct", "type": "quantitative", "title": "% of places (least to most)"},
            "y": {"field": "share_pct", "type": "quantitative", "title": "% of the total"},
            "color": {"field": "curve", "type": "nominal", "title": None}}},
    ]}, "Concentration (Lorenz curves)", width, height)
