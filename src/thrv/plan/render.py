"""Write the plan on a page and the theme reports: JSON always, HTML, PDF and Excel on request.

The renderers are the project's own: the report Jinja environment and stylesheet
(:mod:`thrv.report.html`), the offline SVG charts (:mod:`thrv.report.charts`), WeasyPrint
for the PDF (:mod:`thrv.report.pdf`) and the workbook writer (:mod:`thrv.report.excel`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.plan.measures import period_name
from thrv.report.html import TEMPLATES, environment, fmt_value, formatted
from thrv.report.narrative import format_p, month_name

RULE_WORDS = {"at_least": "at least", "at_most": "at most"}
FIGURE_WORDS = {"rolling_12m": "12 months", "month": "month", "latest": "latest"}


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _fmt(v: Any, row: dict[str, Any]) -> str:
    if _missing(v):
        return ""
    unit = "%" if row.get("figure_type") == "proportion" or row.get("measure") == "proportion" else str(row.get("unit") or "")
    if unit == "%":
        return f"{float(v):.1f}%"
    text = fmt_value(v, "count", "average" if not float(v).is_integer() else "value")
    return text


def _display(row: dict[str, Any]) -> dict[str, Any]:
    """A row with ``f`` (formatted figures) and words for the headline, target and comparators."""
    r = dict(row)
    f = formatted(r) if r.get("resolved") else {}
    if r.get("resolved") and not r.get("monthly"):
        # a measure by quarter, year or snapshot: its period stands where the month does
        f.update({k: _fmt(r.get(k), r) for k in ("current", "prev_1y", "prev_2y", "prev_3y", "previous")})
        f.update(dict.fromkeys(("avg_1y", "avg_3y", "rolling_12m", "baseline"), ""))
        r["period_name"] = period_name(str(r.get("period_type")), str(r.get("period_label")))
    head = r.get("headline") or {}
    r["against"] = head.get("against", "")
    if r.get("period_name") and head.get("figure") == "latest" and r["against"]:
        r["against"] = period_name(str(r.get("period_type")), str(r["against"]))
    f["headline"] = _fmt(head.get("value"), r)
    f["headline_period"] = str(r.get("period_name") if head.get("figure") == "latest" else head.get("period") or "")
    if head.get("figure") == "rolling_12m" and not _missing(r.get("rolling_12m_den")):
        f["n"] = f"{float(r['rolling_12m_den']):,.0f}"
    elif not _missing(head.get("den")):
        f["n"] = f"{float(head['den']):,.0f}"
    else:
        f["n"] = ""
    low_key, high_key = ("rolling_12m_ci_low", "rolling_12m_ci_high") if head.get("figure") == "rolling_12m" else ("current_ci_low", "current_ci_high")
    f["ci"] = "" if _missing(r.get(low_key)) else f"{float(r[low_key]):.1f}–{float(r[high_key]):.1f}%"
    f["p_head"] = "" if _missing(head.get("p_value")) else format_p(float(head["p_value"]))
    t = r.get("target")
    if t:
        words = f"{RULE_WORDS.get(str(t.get('rule')), '')} {_fmt(t['value'], r)}".strip()
        f["target"] = words + (f" ({FIGURE_WORDS.get(str(t.get('figure')), '')})" if t.get("figure") != head.get("figure") else "")
        f["target_status"] = "met" if t.get("met") is True else "not met" if t.get("met") is False else (t.get("note") or "")
    comps = []
    for c in r.get("comparators", []):
        text = f"{c['name']}: {_fmt(c['value'], r)}"
        if c.get("p_value") is not None:
            text += f" — {c['label']} ({format_p(float(c['p_value']))})"
        elif not _missing(c.get("difference")):
            text += f" (difference {_fmt(c['difference'], r)}; not tested)"
        comps.append({"text": text, "label": c.get("label", "")})
    r["comps"] = comps
    r["f"] = f
    return r


def _chart(row: dict[str, Any]) -> str:
    from thrv.report.charts import to_svg, trend_chart

    points = row.get("history") or []
    if row.get("monthly"):
        pts = [{"month": p["month"], "value": p.get("value")} for p in points]
    else:
        pts = [{"month": str(p["end"])[:7], "value": p.get("value")} for p in points]
    if not pts or all(p["value"] is None for p in pts):
        return ""
    spc = {"mean": row.get("spc_mean"), "lcl": row.get("spc_lcl"), "ucl": row.get("spc_ucl")} if row.get("monthly") else None
    unit = "%" if row.get("figure_type") == "proportion" else ""
    title = str(row.get("title")) + (" (generated data)" if row.get("generated_data") else "")
    if unit == "%":
        y_title = "%"
    elif row.get("monthly"):
        y_title = "per month" if row.get("figure_type") != "value" else str(row.get("unit") or "value")
    else:
        y_title = f"{row.get('unit') or 'value'} per {str(row.get('period_type', 'period')).replace('_', ' ')}"
        if row.get("period_type") == "date":
            y_title = str(row.get("unit") or "value")
    return to_svg(trend_chart(pts, title[:90], unit, spc, width=330, height=120, y_title=y_title))


def _rows_of(priority: dict[str, Any]) -> list[dict[str, Any]]:
    out = [_display(r) for r in priority["indicators"]]
    for g in priority["groups"]:
        rows = [_display(r) for r in g["indicators"]]
        if rows:
            rows[0]["group_header"] = g["name"]
            rows[0]["group_description"] = g["description"]
        out.extend(rows)
    return out


def render_plan_html(model: dict[str, Any]) -> str:
    """The plan on a page: every theme with its outcome, aim and indicators' headline figures."""
    meta = model["meta"]
    themes = []
    for t in model["themes"]:
        priorities = [{**p, "rows": _rows_of(p)} for p in t["priorities"]]
        themes.append({**t, "priorities": priorities, "own": [_display(r) for r in t["indicators"]]})
    return environment().get_template("plan.html.j2").render(
        meta=meta, themes=themes, month_name=month_name(meta["month"]), css=_css(),
    )


def render_theme_html(model: dict[str, Any], charts: bool = True) -> str:
    """One theme report as a self-contained HTML page (inline CSS and SVG)."""
    meta = model["meta"]
    theme = model["theme"]
    priorities = []
    for p in theme["priorities"]:
        rows = _rows_of(p)
        splits = [{"title": r["title"], "rows": [_display(s) for s in r.get("split", [])]} for r in rows if r.get("split")]
        svgs = [svg for svg in (_chart(r) for r in rows if r.get("resolved")) if svg] if charts else []
        priorities.append({**p, "rows": rows, "splits": splits, "charts": svgs,
                           "sentences": [r["sentence"] for r in rows if r.get("resolved") and r.get("sentence")]})
    own = [_display(r) for r in theme["indicators"]]
    own_charts = [svg for svg in (_chart(r) for r in own if r.get("resolved")) if svg] if charts else []
    measures = [_display(r) for r in model["measures"]]
    return environment().get_template("theme.html.j2").render(
        meta=meta, theme=theme, priorities=priorities, own=own, own_charts=own_charts, measures=measures,
        findings=model["findings"], month_name=month_name(meta["month"]), css=_css(),
    )


def _css() -> str:
    return (TEMPLATES / "base.css").read_text(encoding="utf-8")


# -- Excel ------------------------------------------------------------------------------------

XLSX_COLUMNS = [
    "theme", "priority", "group_name", "key", "source", "ref", "title", "resolved", "problem", "generated_data",
    "figure_type", "unit", "direction", "month", "period_label", "current", "current_num", "current_den",
    "prev_1y", "prev_2y", "prev_3y", "avg_1y", "label_1y", "p_value_1y", "avg_3y", "label_3y", "p_value_3y",
    "rolling_12m", "rolling_12m_num", "rolling_12m_den", "rolling_12m_ci_low", "rolling_12m_ci_high",
    "baseline", "baseline_period", "label", "test", "p_value", "headline_figure", "headline_value",
    "headline_label", "target_value", "target_rule", "target_met", "comparator", "comparator_value",
    "comparator_label", "comparator_p_value", "sentence", "note",
]


def _flat(row: dict[str, Any], priority: str) -> dict[str, Any]:
    head = row.get("headline") or {}
    target = row.get("target") or {}
    comp = (row.get("comparators") or [{}])[0]
    out = {k: row.get(k) for k in XLSX_COLUMNS}
    out.update({
        "priority": priority, "headline_figure": head.get("figure"), "headline_value": head.get("value"),
        "headline_label": head.get("label"), "target_value": target.get("value"), "target_rule": target.get("rule"),
        "target_met": target.get("met"), "comparator": comp.get("name"), "comparator_value": comp.get("value"),
        "comparator_label": comp.get("label"), "comparator_p_value": comp.get("p_value"),
    })
    return out


def _sheet_rows(section: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    splits: list[dict[str, Any]] = []
    items = [("", r) for r in section["indicators"]]
    for p in section["priorities"]:
        items += [(p["name"], r) for r in p["indicators"]]
        items += [(p["name"], r) for g in p["groups"] for r in g["indicators"]]
    for priority, r in items:
        rows.append(_flat(r, priority))
        for s in r.get("split", []):
            splits.append({"indicator": r["title"], "crime_type": s["crime_type"], "month": s.get("month"),
                           "current": s.get("current"), "current_num": s.get("current_num"), "current_den": s.get("current_den"),
                           "rolling_12m": s.get("rolling_12m"), "rolling_12m_num": s.get("rolling_12m_num"),
                           "rolling_12m_n": s.get("rolling_12m_den"), "rolling_12m_ci_low": s.get("rolling_12m_ci_low"),
                           "rolling_12m_ci_high": s.get("rolling_12m_ci_high"), "baseline": s.get("baseline"),
                           "label": s.get("label"), "p_value": s.get("p_value"),
                           "label_vs_others": s.get("label_vs_others"), "p_value_vs_others": s.get("p_value_vs_others")})
    return rows, splits


def write_xlsx(model: dict[str, Any], path: Path) -> Path:
    from thrv.report.excel import write_tables_xlsx

    meta = model["meta"]
    sections = model["themes"] if "themes" in model else [model["theme"]]
    rows: list[dict[str, Any]] = []
    splits: list[dict[str, Any]] = []
    for s in sections:
        r, sp = _sheet_rows(s)
        rows.extend({**x, "theme": s["name"]} for x in r)
        splits.extend({**x, "theme": s["name"]} for x in sp)
    tables = {"Indicators": pd.DataFrame(rows, columns=XLSX_COLUMNS)}
    if splits:
        tables["By crime type"] = pd.DataFrame(splits)
    about = [
        ("Report", "Theme report: " + model["theme"]["name"] if "theme" in model else "Police and Crime Plan on a page"),
        ("Plan", meta["plan"] + (" (EXAMPLE)" if meta["example"] else "")),
        ("Month", meta["month"]), ("Area", meta["area"]), ("Baseline", meta["baseline_period"]),
        ("Confidence", meta["confidence"]),
        ("Generated data", ", ".join(meta["generated_data"]) or "none"),
        ("Produced", f"{meta['generated_at']} by thrv {meta['thrv_version']}"),
        ("Labels", "label = rolling 12 months vs baseline (periodic measures: latest vs the same period a year before); label_1y / label_3y = month vs 1-/3-year monthly average"),
    ]
    return write_tables_xlsx(tables, path, about)


def write_outputs(
    model: dict[str, Any],
    out: Path,
    stem: str,
    formats: Iterable[str],
    html: Callable[[dict[str, Any]], str],
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """``stem``.json, and ``stem``.html/.pdf/.xlsx as asked, into ``out``."""
    from thrv.report.files import write_json

    out.mkdir(parents=True, exist_ok=True)
    step = progress or (lambda _name: None)
    written = []
    step(f"{stem}.json")
    written.append(write_json(model, out / f"{stem}.json"))
    page = None
    for fmt in formats:
        step(f"{stem}.{fmt}")
        if fmt == "html":
            page = page or html(model)
            path = out / f"{stem}.html"
            path.write_text(page, encoding="utf-8")
        elif fmt == "pdf":
            from thrv.report.pdf import html_to_pdf

            page = page or html(model)
            path = html_to_pdf(page, out / f"{stem}.pdf")
        elif fmt == "xlsx":
            path = write_xlsx(model, out / f"{stem}.xlsx")
        else:
            raise ValueError(fmt)
        written.append(path)
    return written
