"""The pack's comparison with similar areas: funnel plots for ``pack_similar.html.j2``.

The groups and figures are computed in :func:`thrv.assess.similar.pack_section` (the pack
model's ``similar``); this draws them, once per model (``cache``), for the HTML and the PDF.
"""

from __future__ import annotations

from typing import Any

from thrv.report.charts import funnel_chart, to_svg

#: funnel plots drawn at most (the first indicator of the first groups that can be compared)
MAX_CHARTS = 4


def similar_context(model: dict[str, Any], cache: dict[str, Any], draw: bool = True) -> dict[str, Any]:
    """``similar`` (the model's section) and ``similar_funnels`` (SVGs) for the pack template."""
    section = model.get("similar") or {"groups": []}
    if not draw:
        return {"similar": section, "similar_funnels": []}
    # drawn for the parts that show them: forces on the main page, districts with the area detail
    if "similar_funnels" not in cache:
        svgs: list[dict[str, str]] = []
        for g in section.get("groups", []):
            first = next((c for c in g.get("comparison", []) if c.get("limits")), None)
            if first is not None and len(svgs) < MAX_CHARTS:
                svgs.append({"name": g["name"], "level": g["level"], "svg": to_svg(funnel_chart(first, {g["name"]}))})
        cache["similar_funnels"] = svgs
    return {"similar": section, "similar_funnels": cache["similar_funnels"]}


__all__ = ["similar_context"]
