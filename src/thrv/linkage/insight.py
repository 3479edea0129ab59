"""Cross-agency insight from linked people: who is known to whom, with disclosure control.

From the pseudonymous tables alone (record keys, person keys, household keys):

- people known to two or more agencies, and the exact combinations (an UpSet chart: each
  person counted once, in the one combination of agencies that know them);
- repeat victims across agencies (people with victim records at two or more agencies whose
  records are victims, per the sharing agreement) and in all;
- households: people at one address (household key), and households whose members are
  known to two or more agencies between them;
- the most frequent cross-agency cohort (the largest combination of two or more agencies).

Every count a partner or the public sees passes the project's disclosure rule
(:class:`thrv.report.disclosure.DisclosureRule`): counts of 1 to 4 (or the ONS 10-5 rule)
are suppressed, then further counts until no hidden one can be recovered from the published
ones (the disclosure module's exact check over the additive relations).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from thrv.report.disclosure import DisclosureRule, secondary_suppression


def people_agencies(people: pd.DataFrame) -> pd.DataFrame:
    """person_key -> the sorted tuple of agencies holding a record of them, and record counts."""
    linked = people.dropna(subset=["person_key"])
    grouped = linked.groupby("person_key")
    agencies = {str(k): tuple(sorted({str(v) for v in g})) for k, g in grouped["partner"]}
    return pd.DataFrame({"agencies": pd.Series(agencies, dtype=object), "records": grouped.size()})


def combinations(people: pd.DataFrame) -> Counter[tuple[str, ...]]:
    return Counter(people_agencies(people)["agencies"])


Cell = tuple[str, str, str, str, str]


def _cell(kind: str, key: str = "") -> Cell:
    return ("insight", kind, key, "", "people")


def insight(people: pd.DataFrame, victims: list[str], rule: DisclosureRule | None = None,
            suppressed: bool = True) -> dict[str, Any]:
    """The cross-agency summary; ``suppressed=False`` only for the vault holder's own view.

    Suppression: primary (small counts) then secondary by the disclosure module's exact
    linear-algebra check over every additive relation published here (people = the
    combinations; each agency = the combinations holding it; two or more agencies = those
    combinations; households of two or more = their sizes), so no hidden count follows
    from the published ones.
    """
    rule = rule or DisclosureRule()
    if people.empty or people["person_key"].isna().all():
        return {"available": False, "note": "No linked people: run `thrv link` after ingesting person records."}
    per_person = people_agencies(people)
    combos = Counter(per_person["agencies"])
    agencies = sorted({a for c in combos for a in c})
    multi = {c: n for c, n in combos.items() if len(c) >= 2}
    cohort = max(multi.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    victim_people = people[people["partner"].isin(victims)].dropna(subset=["person_key"])
    per_victim = victim_people.groupby("person_key").agg(agencies=("partner", "nunique"), records=("partner", "size"))
    households = people.dropna(subset=["household_key", "person_key"]).groupby("household_key").agg(
        people=("person_key", "nunique"), agencies=("partner", "nunique"))
    sizes = Counter(min(int(p), 5) for p in households["people"])

    cells: dict[Cell, float] = {
        _cell("records"): float(len(people)),
        _cell("people"): float(len(per_person)),
        _cell("two_or_more"): float(sum(multi.values())),
        _cell("victims_across"): float((per_victim["agencies"] >= 2).sum()) if len(per_victim) else 0.0,
        _cell("victims_repeat"): float((per_victim["records"] >= 2).sum()) if len(per_victim) else 0.0,
        _cell("households_2plus"): float((households["people"] >= 2).sum()),
        _cell("households_multi"): float((households["agencies"] >= 2).sum()),
    }
    for c, n in combos.items():
        cells[_cell("combination", "|".join(c))] = float(n)
    for a in agencies:
        cells[_cell("agency", a)] = float(sum(n for c, n in combos.items() if a in c))
    for k in range(1, 6):
        cells[_cell("household_size", str(k))] = float(sizes.get(k, 0))
    relations: list[tuple[Cell, list[Cell]]] = [
        (_cell("people"), [_cell("combination", "|".join(c)) for c in combos]),
        (_cell("two_or_more"), [_cell("combination", "|".join(c)) for c in multi]),
        (_cell("households_2plus"), [_cell("household_size", str(k)) for k in range(2, 6)]),
        *[(_cell("agency", a), [_cell("combination", "|".join(c)) for c in combos if a in c]) for a in agencies],
    ]
    hidden: set[Cell] = set()
    if suppressed:
        primary = [c for c, v in cells.items() if rule.is_small(v)]
        hidden = secondary_suppression(cells, relations, primary, rule)

    def show(cell: Cell) -> str:
        value = cells[cell]
        if cell in hidden:
            return rule.marker
        return f"{int(rule.publish(value) if suppressed else value):,}"

    return {
        "available": True,
        "method": (__doc__ or "").split("\n\n", 1)[0],
        "suppression": f"{rule.rule} (counts below {rule.limit} shown as {rule.marker}, with secondary suppression)"
        if suppressed else "none (vault holder's view)",
        "records": show(_cell("records")),
        "people": show(_cell("people")),
        "agencies": agencies,
        "people_by_agency": {a: show(_cell("agency", a)) for a in agencies},
        "known_to_two_or_more": show(_cell("two_or_more")),
        "combinations": [{"agencies": list(c), "people": show(_cell("combination", "|".join(c))), "size": len(c)}
                         for c in sorted(combos, key=lambda c: (-combos[c], c))],
        "most_frequent_cohort": ({"agencies": list(cohort[0]), "people": show(_cell("combination", "|".join(cohort[0])))}
                                 if cohort else None),
        "repeat_victims": {"victim_agencies": victims, "across_agencies": show(_cell("victims_across")),
                           "two_or_more_records": show(_cell("victims_repeat"))},
        "households": {
            "with_two_or_more_people": show(_cell("households_2plus")),
            "known_to_two_or_more_agencies": show(_cell("households_multi")),
            "by_size": {("5 or more" if k == 5 else str(k)): show(_cell("household_size", str(k))) for k in range(1, 6)},
        },
    }


def upset_chart(summary: dict[str, Any]) -> Any:
    """An UpSet-style chart (Lex et al. 2014) of the combinations: bars of people above a
    matrix of the agencies in each combination; suppressed bars are labelled, not drawn."""
    import altair as alt

    rows, dots = [], []
    for i, c in enumerate(summary.get("combinations", [])):
        label = " + ".join(c["agencies"])
        value = c["people"]
        number = None if value.startswith("<") else int(value.replace(",", ""))
        rows.append({"order": i, "combination": label, "people": number, "text": value})
        for a in summary["agencies"]:
            dots.append({"order": i, "combination": label, "agency": a, "member": a in c["agencies"]})
    bars = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=alt.X("combination:N", sort=alt.SortField("order"), axis=None),
        y=alt.Y("people:Q", title="people"),
        tooltip=["combination:N", "text:N"]).properties(width=max(200, 40 * len(rows)), height=180)
    labels = alt.Chart(alt.Data(values=rows)).mark_text(dy=-6).encode(
        x=alt.X("combination:N", sort=alt.SortField("order"), axis=None), y=alt.Y("people:Q"), text="text:N")
    matrix = alt.Chart(alt.Data(values=dots)).mark_circle(size=120).encode(
        x=alt.X("combination:N", sort=alt.SortField("order"), axis=None),
        y=alt.Y("agency:N", title=None),
        color=alt.Color("member:N", scale=alt.Scale(domain=[True, False], range=["#1f4e79", "#dddddd"]), legend=None),
    ).properties(width=max(200, 40 * len(rows)), height=22 * max(1, len(summary.get("agencies", []))))
    return alt.vconcat(bars + labels, matrix, spacing=4)
