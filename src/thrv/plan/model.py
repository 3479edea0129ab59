"""The plan on a page and the theme reports as plain JSON-able data, which every renderer reads.

``plan.json`` and ``theme-<name>.json`` are these models written out; the HTML, PDF and
Excel renderers take the same dicts, so a figure can never differ between formats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from thrv import __version__
from thrv.plan.figures import PlanFigures
from thrv.plan.spec import PlanIndicator, Theme

SCHEMA_VERSION = "1.0"
SIGNIFICANT = {"Improved", "Deteriorated", "Higher", "Lower"}


def _row(figures: PlanFigures, ind: PlanIndicator, group: str = "") -> dict[str, Any]:
    row = dict(figures.rows[ind.key])
    row["group_name"] = group
    if ind.key in figures.splits:
        row["split"] = figures.splits[ind.key]
    return row


def _meta(figures: PlanFigures, kind: str) -> dict[str, Any]:
    plan = figures.plan
    pack = figures.pack
    return {
        "kind": kind,
        "plan": plan.title,
        "plan_file": str(plan.path),
        "example": plan.example,
        "note": plan.note,
        "owner": plan.owner,
        "plan_period": plan.period,
        "month": figures.month.strftime("%Y-%m"),
        "area": figures.area,
        "area_level": figures.level,
        "force": figures.force,
        "baseline_period": pack.meta["baseline_period"],
        "confidence": figures.options.confidence,
        "alpha": figures.options.alpha,
        "thrv_version": __version__,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generated_data": figures.generated_sources,
        "generated_indicators": figures.generated_indicators,
        "unresolved": figures.unresolved,
        "forces_in_store": pack.meta.get("forces_in_store", []),
    }


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    heads = [r.get("headline") or {} for r in rows if r.get("resolved")]
    targets = [r["target"] for r in rows if r.get("resolved") and r.get("target")]
    return {
        "indicators": len(rows),
        "resolved": sum(1 for r in rows if r.get("resolved")),
        "improved": sum(1 for h in heads if h.get("label") == "Improved"),
        "deteriorated": sum(1 for h in heads if h.get("label") == "Deteriorated"),
        "targets": len(targets),
        "targets_met": sum(1 for t in targets if t.get("met") is True),
        "targets_missed": sum(1 for t in targets if t.get("met") is False),
    }


def theme_section(figures: PlanFigures, theme: Theme) -> dict[str, Any]:
    """One theme: outcome, aim, priorities (with sub-groups) and every indicator's row."""
    priorities = []
    all_rows: list[dict[str, Any]] = []
    for p in theme.priorities:
        own = [_row(figures, i) for i in p.indicators]
        groups: list[dict[str, Any]] = [
            {"name": g.name, "description": g.description, "indicators": [_row(figures, i, g.name) for i in g.indicators]}
            for g in p.groups
        ]
        rows = own + [r for g in groups for r in g["indicators"]]
        all_rows.extend(rows)
        priorities.append({"name": p.name, "description": p.description, "indicators": own, "groups": groups,
                           "counts": _counts(rows)})
    own = [_row(figures, i) for i in theme.indicators]
    all_rows.extend(own)
    return {
        "name": theme.name,
        "slug": theme.slug,
        "outcome": theme.outcome,
        "aim": theme.aim,
        "summary": theme.summary,
        "priorities": priorities,
        "indicators": own,
        "counts": _counts(all_rows),
    }


def plan_model(figures: PlanFigures) -> dict[str, Any]:
    """The plan on a page: every theme, its indicators and their latest values and labels."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "police_and_crime_plan",
        "meta": _meta(figures, "police_and_crime_plan"),
        "themes": [theme_section(figures, t) for t in figures.plan.themes],
    }


def theme_model(figures: PlanFigures, theme: Theme) -> dict[str, Any]:
    """One theme report: the theme's section plus its measures and findings."""
    section = theme_section(figures, theme)
    rows = _theme_rows(section)
    measures = [r for r in rows if r.get("source") == "measure"]
    meta = _meta(figures, "theme_report")
    mine = {ind.key for ind in theme.all_indicators()}
    meta["generated_data"] = sorted({figures.source_of(k) for k in mine if figures.rows[k].get("generated_data")})
    meta["generated_indicators"] = sum(1 for k in mine if figures.rows[k].get("generated_data"))
    meta["unresolved"] = [u for u in figures.unresolved if u["key"] in mine]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "theme_report",
        "meta": meta,
        "theme": section,
        "measures": measures,
        "findings": findings(rows),
    }


def _theme_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    rows = list(section["indicators"])
    for p in section["priorities"]:
        rows.extend(p["indicators"])
        for g in p["groups"]:
            rows.extend(g["indicators"])
    return rows


def findings(rows: list[dict[str, Any]], limit: int = 10) -> list[str]:
    """The sentences that matter most: significant changes first, real data before generated."""

    def score(r: dict[str, Any]) -> tuple[int, float]:
        head = r.get("headline") or {}
        label = head.get("label") or r.get("label")
        tier = 0 if label in SIGNIFICANT else 1 if any(c.get("label") in {"Better", "Worse", "Higher", "Lower"} for c in r.get("comparators", [])) else 3
        if r.get("target") and r["target"].get("met") is False:
            tier = min(tier, 1)
        if r.get("generated_data"):
            tier += 1
        p = head.get("p_value")
        return (tier, float(p) if isinstance(p, (int, float)) else 1.0)

    chosen = sorted((r for r in rows if r.get("resolved") and r.get("sentence")), key=score)
    return [r["sentence"] for r in chosen[:limit]]
