"""What the assessment could not compute, and the caveats a reader must know.

Said in the report rather than hidden: a needs assessment read by a Police and Crime
Commissioner should state its blind spots as clearly as its findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from thrv.assess.config import AssessConfig
from thrv.assess.harm import HarmScheme
from thrv.assess.scope import Scope
from thrv.stats.spc import RECOMMENDED_POINTS
from thrv.stats.trend import MIN_POINTS, SEASONAL_MIN_MONTHS


def cannot_compute(model: dict[str, Any], period: Sequence[dt.date], config: AssessConfig) -> list[dict[str, str]]:
    n = len(period)
    out: list[dict[str, str]] = []
    if n < MIN_POINTS:
        out.append({"item": "Long-term trends", "reason": f"Trend tests need at least {MIN_POINTS} months; the period holds {n}. "
                    "The trend likelihood measure is left out of the priority scores."})
    elif n < SEASONAL_MIN_MONTHS:
        out.append({"item": "Seasonal adjustment", "reason": f"Month-of-year effects need {SEASONAL_MIN_MONTHS} months; with {n} "
                    "the trends are not seasonally adjusted, so a seasonal peak at one end of the period can look like a trend."})
    if n < 2:
        out.append({"item": "SPC signals", "reason": "An XmR chart needs at least two months."})
    elif n < RECOMMENDED_POINTS:
        out.append({"item": "SPC limits", "reason": f"Limits rest on {n} months; at least {RECOMMENDED_POINTS} are advised, "
                    "so treat signals as provisional."})
    series = model["trends"]["series"]
    if series and series[0].get("recent_note") and not series[0].get("recent_months"):
        out.append({"item": "Same period last year", "reason": series[0]["recent_note"]
                    + " Growing share of harm is not assessed either."})
    if not model["places"]["persistent"]["lsoas"]:
        out.append({"item": "Persistent hot LSOAs", "reason": model["places"]["persistent"]["note"] or "No LSOA was hot."})
    if not model["vulnerability"].get("available"):
        out.append({"item": "Vulnerability and hidden harm", "reason": "No force extract in the store: data.police.uk has no "
                    "victim, offender or vulnerability fields (see data gaps)."})
    for t in model.get("priorities_not_assessed", []):
        out.append({"item": f"Priority theme: {t['theme']}", "reason": t["reason"]})
    missing = {k for p in model["priorities"] for k, v in p["inputs"]["likelihood"].items() if not v["available"]}
    for k in sorted(missing):
        out.append({"item": f"Priority measure: {k}", "reason": "Not available for some or all themes; their likelihood "
                    "is the weighted mean of the measures that are."})
    out.append({"item": "Gi* on LSOAs", "reason": "The shipped data hold no LSOA boundaries or adjacency, so hot spots use "
                "the hexagon grid; LSOAs are compared by rates and persistence instead."})
    return out


def caveats(model: dict[str, Any], scope: Scope, schemes: Sequence[HarmScheme]) -> list[dict[str, str]]:
    totals = model["harm"]["totals"]
    located = sum(p.get("crimes", 0) for p in model["places"]["repeat_locations"].get("distribution", []))
    crimes = totals["crimes_excluding_asb"]
    no_location = crimes - located
    missing = model["meta"]["period"]["months_missing"]
    out = [
        {"topic": "Recorded crime is not all crime",
         "text": "Police recorded crime reflects what is reported and how it is recorded. A rise can mean better recording "
                 "or more confidence to report (domestic abuse, sexual offences), and proactive offences (drugs, weapons) rise "
                 "with police activity."},
        {"topic": "Anonymised locations",
         "text": "data.police.uk moves each record to one of a set of anonymous map points (street centres, public places) "
                 "and publishes the month, not the date. Hexagons and repeat locations are built from those points, so they "
                 f"show where crime is recorded to within a few streets. {no_location:,} crimes ({no_location / crimes * 100 if crimes else 0:.1f}%) "
                 "have no location and count only in totals."},
        {"topic": "Harm weights are type averages",
         "text": "police.uk gives 14 broad types, so each type carries the average weight of the offences inside it; a force "
                 "with an unusual mix (e.g. more rape within violence and sexual offences) is misweighted. The schemes use "
                 "different rules and rank types differently, so both are shown; see docs/harm.md."},
        {"topic": "Residents as denominators",
         "text": "Rates per 1,000 use Census 2021 usual residents. Town centres, stations, retail parks and the night-time "
                 "economy draw people who do not live there, so their rates are inflated; compare such places by counts and harm."},
        {"topic": "Statistical tests",
         "text": "Counts are modelled as Poisson (trend tests allow for extra variation by quasi-Poisson); other tests ignore "
                 "over-dispersion, so p-values near the threshold deserve caution. Each family of tests is corrected by "
                 "Benjamini–Hochberg so that about 1 in 20 of the things flagged may be chance."},
        {"topic": "Anti-social behaviour",
         "text": "ASB incidents are included in volumes and as a priority theme but are not notifiable crimes; both harm "
                 "schemes give them weight 0 (edit the weight files to apply a nominal one)."},
        {"topic": "Priority scores are judgements",
         "text": "Impact scores are the shipped defaults, for local analysts to review; likelihood measures are computed. "
                 "The sensitivity table shows how far the ranking depends on the weights."},
        {"topic": "LSOA vintages",
         "text": "Records published against 2011 LSOA codes are assigned to their 2021 successor (the largest by population "
                 "where a 2011 LSOA was split), so places are comparable across years."},
    ]
    series = model["trends"]["series"]
    if series and series[0].get("recent_note") and series[0].get("recent_months"):
        out.append({"topic": "Same period last year", "text": series[0]["recent_note"]})
    if missing:
        out.append({"topic": "Missing months", "text": "No records are held for " + ", ".join(missing) + "; they are "
                    "left out of every total, trend and chart rather than counted as zero."})
    for s in schemes:
        for note in s.notes:
            out.append({"topic": f"{s.name} weights", "text": note})
    for m in model["vulnerability"].get("missing", []):
        out.append({"topic": f"Not in the data: {m['field']}", "text": m["why"]})
    if scope.level == "all" and len(scope.forces) > 1:
        out.append({"topic": "Several forces", "text": "Figures pool every force held; months are included only when all forces published."})
    return out
