"""The readable assessment: one self-contained HTML page (inline CSS and SVG, no network)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from thrv.assess import charts, extras
from thrv.assess.text import num, p_text, pct, spc_rules_text
from thrv.report.charts import trend_chart
from thrv.report.html import TEMPLATES, environment

MAX_TREND_CHARTS = 8


def place(text: Any) -> str:
    """A published location as written, with the source's title-casing slip mended.

    data.police.uk title-cases its snap-point names word by word, so an apostrophe's "s"
    comes out capital ("Dean'S Court"); "Dean's Court" is what the street is called.
    """
    if text is None:
        return ""
    return re.sub(r"(?<=[A-Za-z])['’]S\b", lambda m: m.group(0)[0] + "s", str(text))


def _district_labels(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """District names at the record-weighted centre of their hexagons."""
    acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for c in cells:
        if c.get("district"):
            w = float(c.get("records") or 0)
            a = acc[c["district"]]
            a[0] += c["lat"] * w
            a[1] += c["lon"] * w
            a[2] += w
    return [{"label": d, "lat": a[0] / a[2], "lon": a[1] / a[2]} for d, a in acc.items() if a[2] > 0]


def _series(model: dict[str, Any], level: str, area: str, theme: str) -> list[dict[str, Any]]:
    monthly = model["trends"]["monthly"]
    for s in monthly["series"]:
        if s["level"] == level and s["area"] == area and s["theme"] == theme:
            return [{"month": m, "value": v} for m, v, inp in zip(monthly["months"], s["values"], monthly["in_period"], strict=True)
                    if inp and v is not None]
    return []


def _trend_charts(model: dict[str, Any]) -> list[str]:
    rows = {(r["level"], r["area"], r["theme"]): r for r in model["trends"]["series"]}
    out = []
    for e in model["trends"]["emerging"][:MAX_TREND_CHARTS]:
        r = rows.get((e["level"], e["area"], e["theme"]))
        points = _series(model, e["level"], e["area"], e["theme"])
        if not points or r is None:
            continue
        spc = {"mean": r.get("spc_mean"), "lcl": r.get("spc_lcl"), "ucl": r.get("spc_ucl")}
        out.append(charts.svg(trend_chart(points, f"{e['theme']} — {e['area']}", "", spc, width=330, height=120).to_dict()))
    return out


def _maps(model: dict[str, Any]) -> list[dict[str, Any]]:
    hs = model["places"]["hotspots"]
    cells = model["places"]["hex_cells"]
    labels = _district_labels(cells)
    out = []
    for layer in hs.get("layers", []):
        spec = charts.hex_map(cells, layer["layer"], f"Hot spots: {layer['title']}", layer["clusters"], hs["fdr_alpha"], labels)
        out.append({"layer": layer, "svg": charts.svg(spec)})
    return out


def _lsoa_map(model: dict[str, Any]) -> str:
    rates = model["places"]["rates"]
    centres = {c["lsoa21_code"]: c for c in rates["lsoa_centres"]}
    rows = [{**r, "lat": centres[r["lsoa21_code"]]["lat"], "lon": centres[r["lsoa21_code"]]["lon"]}
            for r in rates["lsoa"] if r["lsoa21_code"] in centres]
    if not rows:
        return ""
    labels = _district_labels(model["places"]["hex_cells"])
    return charts.svg(charts.lsoa_map(rows, "Crimes by LSOA (circle size) and rate against the rest of the area", labels))


def _lorenz(model: dict[str, Any]) -> str:
    c = model["places"]["concentration"]
    curves = {f"LSOAs: {k.replace('_', ' ')}": v["lorenz"] for k, v in c["lsoa"].items() if v.get("lorenz")}
    if c.get("hexagons", {}).get("lorenz"):
        curves["Hexagons: crimes"] = c["hexagons"]["lorenz"]
    return charts.svg(charts.lorenz_chart(curves)) if curves else ""


def render_html(model: dict[str, Any]) -> str:
    """Render the model with ``assessment.html.j2`` and the shared report stylesheet."""
    env = environment()
    env.filters.update({"num": num, "pct": pct, "p": p_text, "spc": spc_rules_text, "place": place})
    schemes = model["harm"]["schemes"]
    prios = model["priorities"]
    context = {
        "m": model,
        "meta": model["meta"],
        "css": (TEMPLATES / "base.css").read_text(encoding="utf-8"),
        "schemes": schemes,
        "priority_chart": charts.svg(charts.priority_chart(prios)) if prios else "",
        "volume_harm_chart": charts.svg(charts.volume_harm_chart(model["harm"]["by_type"], schemes)),
        "harm_month_chart": charts.svg(charts.harm_month_chart(model["harm"]["by_area_month"], schemes))
        if len({r["month"] for r in model["harm"]["by_area_month"]}) > 1 else "",
        "trend_charts": _trend_charts(model),
        "maps": _maps(model),
        "lsoa_map": _lsoa_map(model),
        "lorenz_chart": _lorenz(model),
        "scope_series": [r for r in model["trends"]["series"] if r["level"] == "scope"],
        "top_lsoas": sorted(model["places"]["rates"]["lsoa"], key=lambda r: -(r["crimes"] or 0))[:20],
        "persistent": [r for r in model["places"]["persistent"]["lsoas"] if r["persistent"]][:30],
        "sensitive_runs": [r for r in model["sensitivity"]["runs"] if r["moves"]],
        **extras.context(model),
    }
    return env.get_template("assessment.html.j2").render(**context)
