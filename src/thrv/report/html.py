"""Self-contained HTML (and the HTML that becomes the PDF) from the report model."""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import jinja2

from thrv.report.charts import to_svg, trend_chart
from thrv.report.narrative import format_p, month_name

TEMPLATES = resources.files("thrv.report") / "templates"
SIGNIFICANT = {"Improved", "Deteriorated", "Higher", "Lower"}
TEST_NAMES = {
    "poisson_exact": "counts by the exact Poisson (conditional binomial) test",
    "poisson_e": "counts by the Poisson E-test",
    "wheeler_z": "counts by Wheeler's z = 2(√a − √b)",
    "two_proportion": "proportions by the two-proportion z-test with Wilson intervals",
    "mann_whitney": "medians by the Mann-Whitney test",
    "bootstrap": "medians by a bootstrap test",
}


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
    if isinstance(v, str):
        return v
    if _missing(v):
        return ""
    v = float(v)
    if measure == "proportion":
        return f"{v:.1f}%"
    if kind == "average" or not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def formatted(row: dict[str, Any]) -> dict[str, str]:
    m = row.get("measure", "count")
    f = {k: fmt_value(row.get(k), m) for k in ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline")}
    f.update({k: fmt_value(row.get(k), m, "average") for k in ("avg_1y", "avg_3y")})
    rate: Any = row.get("rate_per_1000")
    f["rate_per_1000"] = "" if _missing(rate) else (rate if isinstance(rate, str) else f"{float(rate):.2f}")
    p: Any = row.get("p_value")
    f["p_value"] = "" if _missing(p) else format_p(float(p))
    return f


def _display_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, group = [], None
    for r in rows:
        r = dict(r)
        r["f"] = formatted(r)
        r["group_header"] = r.get("group") if r.get("group") != group else None
        group = r.get("group")
        out.append(r)
    return out


def _findings(rows: list[dict[str, Any]], limit: int = 12) -> list[str]:
    def score(r: dict[str, Any]) -> tuple[int, float]:
        significant = r.get("label") in SIGNIFICANT or r.get("label_1y") in SIGNIFICANT
        special = str(r.get("spc_variation") or "").startswith("special cause")
        p = min(float(x) for x in (r.get("p_value"), r.get("p_value_1y"), 1.0) if x is not None and not _missing(x))
        tier = 0 if r.get("label") in SIGNIFICANT else 1 if significant or special else 4
        if r.get("generated_data") and tier < 4:
            tier += 2  # findings from generated data come after the real ones
        return (tier, p)

    chosen = sorted((r for r in rows if score(r)[0] < 4), key=score)
    return [r["sentence"] for r in chosen[:limit]]


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


def render_pack_html(
    model: dict[str, Any],
    charts: bool = True,
    public: bool = False,
    suppression_threshold: int = 5,
) -> str:
    """The pack as one self-contained HTML page (inline CSS and SVG; no network needed)."""
    meta = model["meta"]
    rows = model["rows"]
    force_names = sorted({r["force"] for r in rows})
    forces = []
    chart_svgs: list[str] = []
    for name in force_names:
        f_rows = [r for r in rows if r["area_level"] == "force" and r["force"] == name]
        if not f_rows:  # a pack for one area or district: its own rows lead instead
            f_rows = [r for r in rows if r["force"] == name and r["area_level"] in {"area", "district"}]
            f_rows = [r for r in f_rows if r["area"] == (meta.get("area") or r["area"])]
        forces.append({"name": meta.get("area") or name if f_rows and f_rows[0]["area_level"] != "force" else name,
                       "rows": _display_rows(f_rows), "findings": _findings(f_rows)})
        if charts:
            chart_svgs.extend(_charts(model, f_rows))
    areas = _display_rows([r for r in rows if r["area_level"] in {"area", "district"}])
    tests = sorted({i["test"] for i in model["indicators"]})
    title = (
        f"Performance pack: {meta['area']}" if meta.get("area")
        else f"Performance pack: {force_names[0]}" if len(force_names) == 1
        else "Performance pack"
    )
    css = (TEMPLATES / "base.css").read_text(encoding="utf-8")
    return environment().get_template("pack.html.j2").render(
        title=title,
        meta=meta,
        month_name=month_name(meta["month"]),
        month_short=month_name(meta["month"]),
        forces=forces,
        areas=areas,
        charts=chart_svgs,
        css=css,
        public=public,
        suppression_threshold=suppression_threshold,
        history_months=36,
        tests_sentence="; ".join(TEST_NAMES.get(t, t) for t in tests),
        sources="data.police.uk street-level crime, outcomes and stop and search for "
        + ", ".join(meta.get("forces_in_store", [])),
    )
