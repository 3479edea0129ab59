"""Hidden-harm indicators: what the data can say about harm that recorded counts understate.

Recorded crime measures what is reported and found, so some of the most harmful crime is
the least visible. Each indicator here is one the data can actually support, shown with the
reason it is shown and what it cannot tell:

* **Offences found mostly by the police** (drugs, possession of weapons): their counts follow
  police activity more than offending; a fall may mean less searching, not less harm. Where
  the store holds stop and search, the monthly searches for drugs and weapons are set
  beside the offences (Spearman's ρ over the months both are held) with the share of
  searches whose outcome was linked to the object searched for.
* **Suspect identified, could not be prosecuted** (police.uk "Unable to prosecute suspect":
  Home Office outcomes 14–16, evidential difficulties, most often because the victim does not
  support action): for violence and sexual offences, the share of crimes with a final
  outcome closed this way, with a Wilson interval, beside all other crime. Harm that does
  not reach justice, and in domestic abuse often a victim still at risk.
* **Vulnerability flags** (domestic abuse, hate, child exploitation, mental health, vulnerable
  victim): shares from a force's recorded-crime extract, when the store holds one.

What public data cannot support is listed too (no domestic abuse, exploitation or victim
fields: see the vulnerability section).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from ibis import _
from scipy import stats

from thrv.assess.scope import Scope
from thrv.assess.trends import PROACTIVE
from thrv.stats import wilson_interval

#: outcome groups still open or unknown: left out of the share with a final outcome
OPEN_GROUPS = ("awaiting", "under_investigation", "unavailable")
UNABLE = "Unable to prosecute suspect"
VIOLENCE = "Violence and sexual offences"
SEARCH_OBJECTS = {"Drugs": ("Controlled drugs", "Psychoactive substances"),
                  "Possession of weapons": ("Offensive weapons", "Firearms")}
REASONS = {
    "proactive": ("Mostly found by police activity (searches, patrols, operations), not reported by victims: the count "
                  "follows how much the police look, so a rise can mean more enforcement and a fall less, not a change "
                  "in harm."),
    "unable": ("A suspect was identified but the case could not go on, mostly for evidential difficulties where the "
               "victim does not support action (Home Office outcomes 14–16); common in domestic abuse, it marks harm "
               "that does not reach justice and victims who may remain at risk."),
}


def _monthly(frame: pd.DataFrame, months: Sequence[dt.date]) -> np.ndarray:
    s = frame.groupby("month")["n"].sum() if len(frame) else pd.Series(dtype=float)
    return np.array([float(s.get(m, 0.0)) for m in months])


def _proactive(con: Any, scope: Scope, period: Sequence[dt.date], trend_rows: dict[str, dict[str, Any]],
               total_crimes: float) -> list[dict[str, Any]]:
    from thrv.assess.query import scoped_records

    t = scoped_records(con, scope, period[0], period[-1])
    t = t.filter(t.crime_type.isin(sorted(PROACTIVE)))
    counts = t.group_by(["crime_type", "month"]).aggregate(n=_.count()).to_pandas()
    counts["month"] = pd.to_datetime(counts["month"]).dt.date
    searches = _searches(con, scope, period)
    out = []
    for theme in sorted(PROACTIVE):
        r = trend_rows.get(theme, {})
        own = counts[counts["crime_type"] == theme]
        row: dict[str, Any] = {
            "indicator": f"{theme}: recorded offences", "kind": "proactive", "theme": theme,
            "value": float(own["n"].sum()), "unit": "crimes",
            "share_pct": float(own["n"].sum()) / total_crimes * 100 if total_crimes else None,
            "trend_pct_per_year": r.get("trend_pct_per_year"), "trend_q": r.get("trend_q"),
            "recent_change_pct": r.get("recent_change_pct"), "recent_q": r.get("recent_q"),
            "reason": REASONS["proactive"], "source": "data.police.uk street-level crime",
        }
        s = searches[searches["object_of_search"].isin(SEARCH_OBJECTS[theme])] if len(searches) else searches
        if len(s):
            held = sorted(set(s["month"]))
            a, b = _monthly(own, held), _monthly(s, held)
            rho = stats.spearmanr(a, b).statistic if len(held) >= 6 and a.std() > 0 and b.std() > 0 else None
            linked = float(s.loc[s["outcome_linked_to_object"] == True, "n"].sum())  # noqa: E712 (nullable booleans)
            row["searches"] = {
                "objects": list(SEARCH_OBJECTS[theme]), "months": len(held), "searches": float(s["n"].sum()),
                "spearman_rho_with_offences": None if rho is None or not np.isfinite(rho) else float(rho),
                "linked_to_object_pct": linked / float(s["n"].sum()) * 100 if float(s["n"].sum()) else None,
                "note": (f"Searches for {', '.join(SEARCH_OBJECTS[theme]).lower()} in the {len(held)} month(s) of the period "
                         "the store holds stop and search for; ρ is Spearman's rank correlation of the monthly counts."),
            }
        out.append(row)
    return out


def _searches(con: Any, scope: Scope, period: Sequence[dt.date]) -> pd.DataFrame:
    if "stop_search" not in set(con.list_tables()):
        return pd.DataFrame(columns=["month", "object_of_search", "outcome_linked_to_object", "n"])
    t = con.table("stop_search")
    t = t.filter(t.force.isin(list(scope.forces)) & t.month.isin(list(period)))
    if scope.level in {"area", "district"}:
        return pd.DataFrame(columns=["month", "object_of_search", "outcome_linked_to_object", "n"])  # searches have no district
    frame = t.group_by(["month", "object_of_search", "outcome_linked_to_object"]).aggregate(n=_.count()).to_pandas()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def _unable(con: Any, scope: Scope, period: Sequence[dt.date], confidence: float) -> dict[str, Any]:
    from thrv.assess.query import scoped_records

    t = scoped_records(con, scope, period[0], period[-1])
    t = t.filter(t.last_outcome_category.notnull())
    ref = con.table("ref_outcome_categories").select(_o="outcome", group="group")
    t = t.left_join(ref, t.last_outcome_category == ref._o)
    frame = t.group_by(["crime_type", "last_outcome_category", "group"]).aggregate(n=_.count()).to_pandas()
    final = frame[~frame["group"].isin(OPEN_GROUPS)]
    row: dict[str, Any] = {"indicator": f"{VIOLENCE}: suspect identified, could not prosecute", "kind": "outcome",
                           "theme": VIOLENCE, "unit": "% of crimes with a final outcome", "reason": REASONS["unable"],
                           "source": "data.police.uk street-level crime, last outcome as published"}
    for label, sel in (("", final[final["crime_type"] == VIOLENCE]),
                       ("other_", final[(final["crime_type"] != VIOLENCE) & final["crime_type"].notna()])):
        n = float(sel["n"].sum())
        k = float(sel.loc[sel["last_outcome_category"] == UNABLE, "n"].sum())
        low, high = wilson_interval(k, n, confidence) if n else (None, None)
        row[f"{label}value"] = k / n * 100 if n else None
        row[f"{label}ci_low"] = None if low is None else low * 100
        row[f"{label}ci_high"] = None if high is None else high * 100
        row[f"{label}crimes_with_outcome"] = n
    open_n = float(frame.loc[frame["group"].isin(OPEN_GROUPS) & (frame["crime_type"] == VIOLENCE), "n"].sum())
    row["open_or_unknown"] = open_n
    row["note"] = (f"{open_n:,.0f} violence and sexual offences still open or with no published outcome are left out. "
                   "Outcomes are as last published: data.police.uk regenerates them, so recent months change.")
    return row


def _flags(vulnerability: dict[str, Any]) -> list[dict[str, Any]]:
    if not vulnerability.get("available"):
        return []
    reasons = {
        "domestic_abuse": "Domestic abuse is under-reported and hidden inside violence, criminal damage and other types in public data.",
        "hate": "Hate crime is under-reported, and the motivation is invisible in the offence type.",
        "child_exploitation": "Exploitation is rarely reported by its victims and is found through safeguarding and investigation.",
        "mental_health": "Mental ill-health makes victims more vulnerable and less likely to be heard.",
        "vulnerable_victim": "Crimes against vulnerable people cause more harm than their offence type suggests.",
    }
    out = []
    for f in vulnerability.get("flags", []):
        out.append({"indicator": f"{f['title']}: share of crimes flagged", "kind": "flag", "theme": f["title"],
                    "value": f.get("share_pct"), "ci_low": f.get("ci_low_pct"), "ci_high": f.get("ci_high_pct"),
                    "unit": "% of crimes", "trend_pct_per_year": f.get("trend_pct_per_year"), "trend_p": f.get("trend_p"),
                    "reason": reasons.get(str(f.get("flag")), "A vulnerability flag of the force extract."),
                    "source": str(vulnerability.get("source", "force recorded-crime extract")),
                    "generated": bool(vulnerability.get("generated_rows"))})
    return out


def indicators(con: Any, scope: Scope, period: Sequence[dt.date], model: dict[str, Any], confidence: float) -> dict[str, Any]:
    """The hidden-harm section: each indicator with its value, evidence and the reason it is shown."""
    trend_rows = {str(r["theme"]): r for r in model["trends"]["series"] if r["level"] == "scope"}
    total = float(model["harm"]["totals"].get("crimes_excluding_asb") or 0.0)
    rows = _proactive(con, scope, period, trend_rows, total)
    rows.append(_unable(con, scope, period, confidence))
    rows.extend(_flags(model["vulnerability"]))
    public_gaps = [m["field"] for m in model["vulnerability"].get("missing", [])]
    return {
        "method": ("Indicators the data can support, each with the reason it is shown: offences found mostly by police "
                   "activity (with stop and search where held), violence and sexual offences with a suspect identified "
                   "that could not be prosecuted (Wilson interval), and vulnerability-flag shares from a force extract."),
        "indicators": rows,
        "not_supported": public_gaps,
    }


__all__ = ["indicators"]
