"""Outputs of the near-repeat, similar-area, hidden-harm and scorecard parts of the assessment.

Their templates (``assessment_*.html.j2``) are included from ``assessment.html.j2``;
:func:`context` adds what they draw to the page (offline SVG) and :func:`tables` their CSV
tables (near_repeat, similar_groups, similar_rates, hidden_harm, scorecard).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from thrv.assess.charts import CONFIG, SCHEMA, svg
from thrv.report.charts import funnel_chart


def knox_heatmap(entry: dict[str, Any], alpha: float, min_ratio: float, width: int = 300, height: int = 150) -> dict[str, Any]:
    """Knox ratios by distance (rows) and time apart (columns); flagged cells marked with ●."""
    rows = []
    for r in entry["table"]:
        ratio = r.get("knox_ratio")
        flagged = r.get("p_value") is not None and r["p_value"] < alpha and ratio is not None and ratio >= min_ratio
        rows.append({"distance": r["distance_band"], "time": r["time_band"], "ratio": ratio,
                     "label": ("–" if ratio is None else f"{ratio:.2f}") + (" ●" if flagged else ""),
                     "observed": r["observed"], "p": r["p_value"]})
    return {
        "$schema": SCHEMA, "title": f"{entry['crime_type']}: Knox ratio (● p < {alpha:g}, ≥ {min_ratio:g})",
        "width": width, "height": height, "config": CONFIG, "data": {"values": rows},
        "encoding": {
            "x": {"field": "time", "type": "ordinal", "sort": entry["time_bands"], "title": "time apart",
                  "axis": {"labelAngle": -30, "labelFontSize": 8}},
            "y": {"field": "distance", "type": "ordinal", "sort": entry["distance_bands"], "title": None,
                  "axis": {"labelFontSize": 8}},
        },
        "layer": [
            {"mark": {"type": "rect"},
             "encoding": {"color": {"field": "ratio", "type": "quantitative", "title": "ratio",
                                    "scale": {"scheme": "redblue", "reverse": True, "domainMid": 1, "domain": [0.5, 2.0],
                                              "clamp": True}}}},
            {"mark": {"type": "text", "fontSize": 8}, "encoding": {"text": {"field": "label", "type": "nominal"}}},
        ],
    }


def context(model: dict[str, Any]) -> dict[str, Any]:
    """SVGs for the sections' templates: Knox heat maps and similar-area funnel plots."""
    nr = model.get("near_repeat") or {}
    heatmaps = [svg(knox_heatmap(t, nr.get("alpha", 0.05), nr.get("min_ratio", 1.2))) for t in nr.get("types", [])]
    funnels = []
    sim = model.get("similar") or {}
    for g in [*sim.get("groups", []), *sim.get("districts", [])]:
        for c in g.get("comparison", []):
            if c.get("limits") and c["theme"] == "All crime (excluding ASB)":
                funnels.append({"name": g["name"], "svg": svg(funnel_chart(c, {g["name"]}))})
    return {"knox_heatmaps": heatmaps, "similar_funnels": funnels}


def tables(model: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The sections' tables, by CSV name."""
    nr = model.get("near_repeat") or {}
    knox = [{"crime_type": t["crime_type"], **r} for t in nr.get("types", []) for r in t["table"]]
    sim = model.get("similar") or {}
    groups, rates = [], []
    for g in [*sim.get("groups", []), *sim.get("districts", [])]:
        for mb in g.get("members", []):
            groups.append({"level": g["level"], "area": g["name"], "area_code": g["code"], "rank": mb["rank"],
                           "member": mb["name"], "member_code": mb["code"], "distance": mb["distance"],
                           "held_in_store": mb["code"] in g.get("held", [])})
        for c in g.get("comparison", []):
            for u in c["forces"]:
                rates.append({"level": g["level"], "area": g["name"], "theme": c["theme"], "unit": u["force"],
                              "unit_code": u["code"], "crimes": u["crimes"], "population": u["population"],
                              "rate_per_1000_per_year": u["rate_per_1000"], "group_rate": c.get("target"),
                              "z": u.get("z"), "position": u.get("position"), "method": c.get("method")})
    hidden = [{k: v for k, v in i.items() if k != "searches"} | {f"searches_{k}": v for k, v in (i.get("searches") or {}).items()}
              for i in (model.get("hidden_harm") or {}).get("indicators", [])]
    sc = model.get("scorecard") or {}
    labels = [c["label"] for c in sc.get("calls", [])]
    score = [{"measure": r["measure"], "what": r["what"],
              **({"all calls": r["all"]} if "all" in r else dict(zip(labels, r["values"], strict=False)))}
             for r in sc.get("table", [])]
    return {"near_repeat": pd.DataFrame(knox), "similar_groups": pd.DataFrame(groups), "similar_rates": pd.DataFrame(rates),
            "hidden_harm": pd.DataFrame(hidden), "scorecard": pd.DataFrame(score)}


__all__ = ["context", "knox_heatmap", "tables"]
