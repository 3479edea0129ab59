"""Write an assessment model to files: JSON and CSVs always, HTML, PDF and Excel on request.

Every output is rendered from the same model (the dict :func:`build_assessment` returns),
so the JSON, the tables and the readable report never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.assess import extras
from thrv.report.files import FORMATS  # one definition for every report


def _flat_priorities(model: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for p in model["priorities"]:
        row: dict[str, Any] = {k: p[k] for k in ("rank", "theme", "score", "impact_score", "likelihood_score")}
        for d, v in p["inputs"]["impact"].items():
            row[f"impact_{d}"] = v["score"]
        for k, v in p["inputs"]["likelihood"].items():
            row[f"{k}_value"] = v["value"]
            row[f"{k}_score"] = v["score"]
        for k, v in (p.get("rank_by_harm_scheme") or {}).items():
            row[f"rank_{k}_only"] = v
        rr = p.get("rank_range_sensitivity") or {}
        row["rank_min_sensitivity"], row["rank_max_sensitivity"] = rr.get("min"), rr.get("max")
        row["why"] = p["why"]
        row["rationale"] = p["inputs"]["rationale"]
        rows.append(row)
    return pd.DataFrame(rows)


def _flat_emerging(model: dict[str, Any]) -> pd.DataFrame:
    rows = [{"level": e["level"], "area": e["area"], "theme": e["theme"], **ev}
            for e in model["trends"]["emerging"] for ev in e["evidence"]]
    return pd.DataFrame(rows, columns=["level", "area", "theme", "flag", "test", "method", "effect", "estimate", "p", "q"])


def _flat_sensitivity(model: dict[str, Any]) -> pd.DataFrame:
    rows = [{"group": r["group"], "weight": r["weight"], "factor": r["factor"], "kendall_tau": r["kendall_tau"],
             "top_unchanged": r["top_unchanged"],
             "moves": "; ".join(f"{m['theme']} {m['from']}→{m['to']}" for m in r["moves"])}
            for r in model["sensitivity"]["runs"]]
    return pd.DataFrame(rows)


def _concentration(model: dict[str, Any]) -> pd.DataFrame:
    c = model["places"]["concentration"]
    items = [(f"LSOAs: {k}", v) for k, v in c["lsoa"].items()]
    if c.get("hexagons"):
        items.append(("Hexagons: crimes", c["hexagons"]))
    rep = model["places"]["repeat_locations"]
    if rep.get("concentration"):
        items.append(("Map points with a record: crimes", rep["concentration"]))
    rows = []
    for name, s in items:
        row = {"places": name, "count": s.get("places"), "with_any": s.get("places_with_any"), "total": s.get("total"),
               "gini": s.get("gini"), "generalised_gini": s.get("generalised_gini"),
               "places_for_half": s.get("places_for_half")}
        for f, v in (s.get("top_shares") or {}).items():
            row[f"top_{f}_share_pct"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def tables(model: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every table of the model, by CSV name (without extension)."""
    places = model["places"]
    clusters = [{"layer": layer["title"], **c} for layer in places["hotspots"].get("layers", []) for c in layer["clusters"]]
    out = {
        "priorities": _flat_priorities(model),
        "priority_sensitivity": _flat_sensitivity(model),
        "harm_by_type": pd.DataFrame(model["harm"]["by_type"]),
        "harm_by_area_month": pd.DataFrame(model["harm"]["by_area_month"]),
        "harm_by_district": pd.DataFrame(places["rates"]["district"]),
        "trends": pd.DataFrame(model["trends"]["series"]),
        "harm_share_changes": pd.DataFrame(model["trends"]["harm_share_changes"]),
        "emerging_issues": _flat_emerging(model),
        "hotspot_hexagons": pd.DataFrame(places["hex_cells"]),
        "hotspot_clusters": pd.DataFrame(clusters),
        "lsoa_rates": pd.DataFrame(places["rates"]["lsoa"]),
        "persistent_lsoas": pd.DataFrame(places["persistent"]["lsoas"]),
        "concentration": _concentration(model),
        "concentration_by_type": pd.DataFrame(places["concentration"]["by_type"]),
        "repeat_locations": pd.DataFrame(places["repeat_locations"].get("top_by_crimes", [])),
        "repeat_locations_by_harm": pd.DataFrame(places["repeat_locations"].get("top_by_harm", [])),
        "recurring_location_descriptions": pd.DataFrame(places["repeat_locations"].get("recurring_descriptions", [])),
        "data_gaps": pd.DataFrame(
            [{"kind": "cannot compute", "topic": c["item"], "text": c["reason"]} for c in model["cannot_compute"]]
            + [{"kind": "caveat", "topic": c["topic"], "text": c["text"]} for c in model["data_gaps"]]
        ),
    }
    out.update(extras.tables(model))  # near repeats, similar areas, hidden harm, scorecard
    vuln = model["vulnerability"]
    if vuln.get("available"):
        out["vulnerability_flags"] = pd.DataFrame([{k: v for k, v in f.items() if k != "monthly"} for f in vuln["flags"]])
        out["vulnerability_by_type"] = pd.DataFrame(vuln.get("by_crime_type", []))
    return out


def _about(model: dict[str, Any]) -> list[tuple[str, Any]]:
    meta = model["meta"]
    return [
        ("Report", meta["title"]),
        ("Period", f"{meta['period']['label']} ({meta['period']['months_held']} months held)"),
        ("Scope", f"{meta['scope']['name']} ({meta['scope']['level']})"),
        ("Harm schemes", "; ".join(f"{s['name']} ({s['version']})" for s in model["harm"]["schemes"])),
        ("Priorities", meta["config"]["priorities_matrix"]),
        ("Produced", f"{meta['generated_at']} by thrv {meta['thrv_version']}"),
        ("Method", "See the HTML report's method section and docs/assessment.md"),
        ("Licence", "Contains public sector information licensed under the Open Government Licence v3.0."),
    ]


def write_assessment(model: dict[str, Any], out: Path, formats: Sequence[str] = ("html",)) -> list[Path]:
    """assessment.json, one CSV per table, and assessment.<format> for each format asked for."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "assessment.json"
    path.write_text(json.dumps(model, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    written.append(path)
    frames = tables(model)
    for name, frame in frames.items():
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.10g")
        written.append(path)
    html = None
    for fmt in dict.fromkeys(formats):
        if fmt in {"html", "pdf"} and html is None:
            from thrv.assess.html import render_html

            html = render_html(model)
        if fmt == "html":
            path = out / "assessment.html"
            path.write_text(html or "", encoding="utf-8")
        elif fmt == "pdf":
            from thrv.report.pdf import html_to_pdf

            path = html_to_pdf(html or "", out / "assessment.pdf")
        else:
            from thrv.report.excel import write_tables_xlsx

            path = write_tables_xlsx({k: v for k, v in frames.items() if not v.empty}, out / "assessment.xlsx", _about(model))
        written.append(path)
    return written
