"""The summary a reader sees first: top priorities, why, emerging issues and where harm concentrates."""

from __future__ import annotations

from typing import Any

from thrv.assess.config import AssessConfig
from thrv.assess.text import num, pct


def summary(model: dict[str, Any], config: AssessConfig) -> dict[str, Any]:
    meta = model["meta"]
    totals = model["harm"]["totals"]
    schemes = model["harm"]["schemes"]
    years = totals["years"]
    pop = totals["population"]
    rate = totals["crimes_excluding_asb"] / pop * 1000 / years if pop and pop == pop and years else None
    headline = [
        f"{meta['scope']['name']}, {meta['period']['label']} ({_months(meta['period']['months_held'])}): "
        f"{totals['crimes_excluding_asb']:,} crimes and {totals['asb_incidents']:,} anti-social behaviour incidents "
        "recorded" + (f"; {num(rate, 1)} crimes per 1,000 residents a year." if rate is not None
                      else " (no rate: a force held has no resident population in the shipped data).")
    ]
    by_type = model["harm"]["by_type"]
    if by_type and schemes:
        k0 = schemes[0]["key"]
        top = max(by_type, key=lambda r: r[f"harm_{k0}"] or 0)
        shares = ", ".join(pct(top["share_harm_" + s["key"] + "_pct"]) + " of " + s["name"] + " harm" for s in schemes)
        headline.append(f"{top['crime_type']} is {pct(top['share_records_pct'])} of records but {shares}.")
    for a in model["harm"]["agreement"]:
        moved = a["types_ranked_differently"]
        if moved:
            headline.append(f"The harm schemes rank {len(moved)} type(s) two or more places apart "
                            f"(e.g. {moved[0]['crime_type']}); both are shown throughout.")
    top_priorities = [
        {"rank": p["rank"], "theme": p["theme"], "score": p["score"], "why": p["why"]}
        for p in model["priorities"][:5]
    ]
    emerging = [e for e in model["trends"]["emerging"] if e["level"] == "scope"]
    where = _where(model)
    vuln = model["vulnerability"]
    vuln_text = ("Vulnerability, repeat victimisation and hidden harm cannot be assessed from data.police.uk: it publishes "
                 "no victim, offender or vulnerability fields." if not vuln.get("available")
                 else _vuln_text(vuln))
    return {
        "headline": headline,
        "top_priorities": top_priorities,
        "emerging": [e["summary"] for e in emerging[:8]],
        "emerging_count": {"scope": len(emerging), "all": len(model["trends"]["emerging"])},
        "where": where,
        "vulnerability": vuln_text,
    }


def _where(model: dict[str, Any]) -> list[str]:
    places = model["places"]
    out = []
    lsoa = places["concentration"]["lsoa"]["crimes"]
    if lsoa.get("top_shares"):
        out.append(f"{pct(lsoa['top_shares'].get('5%'))} of crime is in the busiest 5% of {lsoa['places']:,} LSOAs "
                   f"(Gini {lsoa['gini']:.2f}); half of all crime is in {lsoa['places_for_half']:,} LSOAs "
                   f"({pct(lsoa['places_for_half_pct'])}).")
    for layer in places["hotspots"].get("layers", [])[:3]:
        clusters = layer["clusters"]
        if clusters:
            c = clusters[0]
            out.append(f"{layer['title']}: {layer['hot_hexagons']} hot-spot hexagons ({pct(layer['share_of_area_hot_pct'], 1)} "
                       f"of the area) hold {pct(layer['share_in_hot_pct'])} of the total; the largest cluster, "
                       f"{c['lsoas'].split(', ')[0]} ({c['districts']}), holds {pct(c['share_pct'])}.")
    persistent = [r for r in places["persistent"]["lsoas"] if r["persistent"]]
    if persistent:
        names = ", ".join(r["lsoa_name"] for r in persistent[:5])
        out.append(f"{len(persistent)} LSOAs are among the busiest 5% in at least 75% of months: {names}"
                   + (" and others." if len(persistent) > 5 else "."))
    rep = places["repeat_locations"]
    if rep.get("points"):
        out.append(f"{rep['repeat_points']:,} of {rep['points']:,} map points recorded two or more crimes, "
                   f"holding {pct(rep['share_of_crimes_at_repeat_points_pct'])} of located crime.")
    return out


def _vuln_text(vuln: dict[str, Any]) -> str:
    parts = [f"{f['title']} {pct(f['share_pct'], 1)} of crimes" for f in vuln.get("flags", [])]
    source = "the force extract (generated, not real, data)" if vuln.get("generated_rows") else "the force extract"
    text = f"From {source}: " + "; ".join(parts) + "."
    v = vuln.get("repeat_victims")
    if v and v.get("people"):
        text += (f" {pct(v['repeat_people_pct'], 1)} of victims were victims more than once, accounting for "
                 f"{pct(v['crimes_to_repeat_pct'])} of crimes; the top 5% of victims account for "
                 f"{pct(v['top_shares_pct'].get('5%'))}.")
    return text


def _months(n: int) -> str:
    return "1 month" if n == 1 else f"{n} months"
