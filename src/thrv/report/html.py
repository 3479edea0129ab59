"""Self-contained HTML (and the HTML that becomes the PDF) from the report model.

The page a board reads first is "at a glance" (:mod:`thrv.report.glance`); then the board
table of each force grouped by theme; comparisons with the other forces (funnel plots);
the trend charts; the method. The area and district detail is an appendix: in the PDF, and
as its own page (``pack-areas.html``) beside ``pack.html``, which would otherwise be mostly
that table. Every figure is read from the model; renderers only format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from thrv.report.charts import funnel_chart, to_svg, trend_chart
from thrv.report.glance import SIGNIFICANT, missing, n_text, number, rank_text, sections, spc_words
from thrv.report.narrative import MONTHS, format_p, month_name
from thrv.report.similar import similar_context

TEMPLATES = resources.files("thrv.report") / "templates"
TEST_NAMES = {
    "poisson_exact": "counts by the exact Poisson (conditional binomial) test",
    "poisson_e": "counts by the Poisson E-test",
    "wheeler_z": "counts by Wheeler's z = 2(√a − √b)",
    "two_proportion": "proportions by the two-proportion z-test with Wilson intervals",
    "mann_whitney": "medians by the Mann-Whitney U test",
    "bootstrap": "medians by a bootstrap test",
}
__all__ = ["SIGNIFICANT", "environment", "fmt_value", "formatted", "render_pack_html"]


def environment(folder: Any = TEMPLATES) -> jinja2.Environment:
    """Jinja2 for report and page templates: autoescaped HTML, tidy whitespace."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_value(v: Any, measure: str, kind: str = "value") -> str:
    """Numbers as a board paper shows them: counts whole, averages to 1 dp, rates with %."""
    return number(v, measure, kind)


def formatted(row: dict[str, Any]) -> dict[str, str]:
    """The plain text of a row's figures (the dashboard's table); n beside proportions."""
    m = row.get("measure", "count")
    f = {k: number(row.get(k), m) for k in ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline")}
    f.update({k: number(row.get(k), m, "average") for k in ("avg_1y", "avg_3y")})
    if m == "proportion":
        for key, den in (("current", "current_den"), ("rolling_12m", "rolling_12m_den")):
            n = n_text(row.get(den))
            if f[key] and n:
                f[key] += f" ({n})"
    f["rate_per_1000"] = _rate(row.get("rate_per_1000"))
    p: Any = row.get("p_value")
    f["p_value"] = "" if _missing(p) or isinstance(p, str) else format_p(float(p))
    return f


@dataclass(frozen=True)
class Column:
    key: str  # the row field shown (or a derived cell name)
    heading: str
    kind: str = "num"  # num | label | text


def _short(yyyy_mm: str, years_back: int = 0) -> str:
    year, month = yyyy_mm.split("-")
    return f"{MONTHS[int(month) - 1][:3]} {int(year) - years_back}"


def columns(month: str, rows: list[dict[str, Any]], comparison: bool) -> list[Column]:
    """The board table's columns; national, regional and rank only where the model has them."""
    cols = [
        Column("title", "Indicator", "text"),
        Column("current", _short(month)),
        Column("prev_1y", _short(month, 1)),
        Column("prev_2y", _short(month, 2)),
        Column("prev_3y", _short(month, 3)),
        Column("avg_1y", "1-year average"),
        Column("label_1y", "vs 1-year average", "label"),
        Column("avg_3y", "3-year average"),
        Column("label_3y", "vs 3-year average", "label"),
        Column("rolling_12m", "Rolling 12 months"),
        Column("baseline", "Baseline"),
        Column("label", "Performance vs baseline", "label"),
        Column("rate_per_1000", "Rate per 1,000"),
    ]
    if comparison:
        if any(not missing(r.get("national_rate_per_1000")) for r in rows):
            cols.append(Column("national_rate_per_1000", "National rate"))
        if any(not missing(r.get("regional_rate_per_1000")) for r in rows):
            cols.append(Column("regional_rate_per_1000", "Regional rate"))
        if any(not missing(r.get("force_rank")) for r in rows):
            cols.append(Column("force_rank", "Rank of forces"))
    cols.append(Column("spc", "SPC", "text"))
    return cols


def _rate(v: Any) -> str:
    if isinstance(v, str):
        return v
    return "" if _missing(v) else f"{float(v):.2f}"


def _ci(row: dict[str, Any], value: str, confidence: float) -> str:
    lo, hi = row.get(f"{value}_ci_low"), row.get(f"{value}_ci_high")
    if missing(lo) or missing(hi) or isinstance(lo, str) or isinstance(hi, str):
        return ""
    low: Any = lo
    high: Any = hi
    return f"{confidence * 100:g}% CI {float(low):.1f}–{float(high):.1f}%"


def cells(row: dict[str, Any], intervals: bool = False, confidence: float = 0.95) -> dict[str, dict[str, str]]:
    """Each column's text for one row: main text, a small second line (n, CI, p) and a class."""
    m = row.get("measure", "count")
    out: dict[str, dict[str, str]] = {}
    for key in ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline"):
        out[key] = {"text": number(row.get(key), m)}
    for key in ("avg_1y", "avg_3y"):
        out[key] = {"text": number(row.get(key), m, "average")}
    if m == "proportion":
        out["current"]["sub"] = n_text(row.get("current_den"))
        out["rolling_12m"]["sub"] = n_text(row.get("rolling_12m_den"))
        if intervals:
            for key in ("current", "rolling_12m"):
                ci = _ci(row, key, confidence)
                if ci:
                    out[key]["sub"] = (out[key].get("sub", "") + "; " + ci).strip("; ")
    for key, p_key in (("label", "p_value"), ("label_1y", "p_value_1y"), ("label_3y", "p_value_3y")):
        p: Any = row.get(p_key)
        label = str(row.get(key) or "")
        out[key] = {
            "text": label,
            "sub": "" if _missing(p) or isinstance(p, str) else format_p(float(p)),
            "cls": f"lab lab-{label.split(' ')[0]}" if label else "",
        }
    out["rate_per_1000"] = {"text": _rate(row.get("rate_per_1000"))}
    out["national_rate_per_1000"] = {"text": _rate(row.get("national_rate_per_1000"))}
    out["regional_rate_per_1000"] = {"text": _rate(row.get("regional_rate_per_1000"))}
    if row.get("label_national") in SIGNIFICANT:
        out["national_rate_per_1000"]["sub"] = f"{row.get('label_national')} than national"
    out["force_rank"] = {"text": rank_text(row)}
    out["spc"] = {"text": spc_words(row)}
    out["title"] = {"text": str(row.get("title") or row.get("indicator")) + (" ⚠" if row.get("generated_data") else "")}
    return out


def _display_rows(rows: list[dict[str, Any]], intervals: bool = False, confidence: float = 0.95) -> list[dict[str, Any]]:
    """Rows grouped by theme (in the order themes first appear), each with its cells."""
    order: dict[str, int] = {}
    for r in rows:
        order.setdefault(str(r.get("group") or ""), len(order))
    ranked = sorted(enumerate(rows), key=lambda t: (order[str(t[1].get("group") or "")], t[0]))
    out, group = [], None
    for _, r in ranked:
        r = dict(r)
        r["c"] = cells(r, intervals, confidence)
        r["group_header"] = r.get("group") if r.get("group") != group else None
        group = r.get("group")
        out.append(r)
    return out


def _charts(model: dict[str, Any], force_rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in force_rows:
        key = f"{r['indicator']}|{r['area_level']}|{r['force']}|{r['area']}"
        points = model["series"].get(key)
        if not points or all(p["value"] is None for p in points):
            continue
        spc = {"mean": r.get("spc_mean"), "lcl": r.get("spc_lcl"), "ucl": r.get("spc_ucl")}
        title = f"{r['title']} — {r['area']}"
        out.append(to_svg(trend_chart(points, title, r.get("unit", ""), spc, width=330, height=120)))
    return out


def _funnel_svgs(model: dict[str, Any], highlight: set[str]) -> list[dict[str, str]]:
    out = []
    for f in model.get("funnels") or []:
        out.append({"title": f["title"], "method": f["method"], "svg": to_svg(funnel_chart(f, highlight))})
    return out


def _by_area(rows: list[dict[str, Any]], intervals: bool, confidence: float) -> list[dict[str, Any]]:
    """The detail as one table per area or district (areas first, then districts, by name).

    One short table per place reads as a board appendix does, and lays out far faster
    than one long table broken across many pages.
    """
    keys: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        keys.setdefault((str(r["area_level"]), str(r["force"]), str(r["area"])), []).append(r)
    order = {"area": 0, "district": 1}
    return [
        {"name": area, "level": level, "force": force, "rows": _display_rows(group, intervals, confidence)}
        for (level, force, area), group in sorted(keys.items(), key=lambda kv: (order.get(kv[0][0], 2), kv[0][1], kv[0][2]))
    ]


def _scopes(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The units the pack leads with: each force, or the one area or district asked for."""
    meta, rows = model["meta"], model["rows"]
    out = []
    for name in sorted({r["force"] for r in rows}):
        f_rows = [r for r in rows if r["area_level"] == "force" and r["force"] == name]
        label = name
        if not f_rows:  # a pack for one area or district: its own rows lead instead
            f_rows = [r for r in rows if r["force"] == name and r["area_level"] in {"area", "district"}]
            f_rows = [r for r in f_rows if r["area"] == (meta.get("area") or r["area"])]
            label = meta.get("area") or name
        out.append({"name": label, "force": name, "rows": f_rows})
    return out


def render_pack_html(
    model: dict[str, Any],
    charts: bool = True,
    public: bool = False,
    suppression_threshold: int = 5,
    part: str = "main",
    intervals: bool = False,
    cache: dict[str, Any] | None = None,
) -> str:
    """The pack as one self-contained HTML page (inline CSS and SVG; no network needed).

    ``part``: "main" (pack.html: at a glance, board tables, comparisons, charts, method),
    "areas" (pack-areas.html: the area and district detail) or "pdf" (both, the detail as
    an appendix, laid out on A4 landscape). ``cache``: a dict shared between calls on one
    model, so its charts are drawn once for the HTML and the PDF.
    """
    if part not in {"main", "areas", "pdf"}:
        raise ValueError(f"part must be main, areas or pdf, got {part!r}")
    meta = model["meta"]
    rows = model["rows"]
    confidence = float(meta.get("confidence") or 0.95)
    scopes = _scopes(model)
    chart_svgs: list[str] = []
    cache = cache if cache is not None else {}
    comparison = len(meta.get("forces_in_store") or []) > 1
    for scope in scopes:
        scope["glance"] = sections(scope["rows"], meta["month"])
        scope["columns"] = columns(meta["month"], scope["rows"], comparison)
        scope["display"] = _display_rows(scope["rows"], intervals, confidence)
        if charts and part != "areas":
            key = f"trend|{scope['force']}|{scope['name']}"
            if key not in cache:
                cache[key] = _charts(model, scope["rows"])
            chart_svgs.extend(cache[key])
    detail = [r for r in rows if r["area_level"] in {"area", "district"}]
    if len(scopes) == 1 and scopes[0]["rows"] and scopes[0]["rows"][0]["area_level"] != "force":
        detail = [r for r in detail if r not in scopes[0]["rows"]]
    area_columns = columns(meta["month"], detail, False)
    force_names = [s["force"] for s in scopes]
    funnel_svgs: list[dict[str, str]] = []
    if charts and part != "areas":
        if "funnels" not in cache:
            cache["funnels"] = _funnel_svgs(model, set(force_names))
        funnel_svgs = cache["funnels"]
    tests = sorted({i["test"] for i in model["indicators"]})
    title = (
        f"Performance pack: {meta['area']}" if meta.get("area")
        else f"Performance pack: {force_names[0]}" if len(force_names) == 1
        else "Performance pack"
    )
    if part == "areas":
        title += ": areas and districts"
    css = (TEMPLATES / "base.css").read_text(encoding="utf-8")
    return environment().get_template("pack.html.j2").render(
        title=title,
        part=part,
        meta=meta,
        month_name=month_name(meta["month"]),
        scopes=scopes,
        areas=_by_area(detail, intervals, confidence) if part != "main" else [],
        has_detail=bool(detail),
        area_columns=area_columns,
        charts=chart_svgs,
        funnels=funnel_svgs,
        **similar_context(model, cache, charts),
        css=css,
        public=public,
        intervals=intervals,
        suppression_threshold=suppression_threshold,
        history_months=36,
        legend=meta.get("legend") or (meta.get("disclosure") or {}).get("legend"),
        tests_sentence="; ".join(TEST_NAMES.get(t, t) for t in tests),
        sources="data.police.uk street-level crime, outcomes and stop and search for "
        + ", ".join(meta.get("forces_in_store", [])),
    )
