"""Cell suppression on small tables, checked against an independent solver and by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from thrv.report.disclosure import DisclosureRule, Layout, _Places, layout_for, month_table
from thrv.report.suppression import PRIMARY, PUBLISHED, SECONDARY, decide, round5


def _table(values: dict[tuple[str, str, str], int], types: list[str] | None = None,
           areas: dict[str, list[str]] | None = None, orphans: list[str] | None = None,
           props: dict[str, str | None] | None = None) -> tuple:
    families = sorted({k[0] for k in values})
    measure = dict.fromkeys(families, "count")
    for p in props or {}:
        measure[p] = "proportion"
    layout = Layout(measure, dict(props or {}), (("all", tuple(types)),) if types else (), ())
    places = _Places("F", areas or {"A": ["d1", "d2"]}, orphans or [])
    vals = {k: ((v[0], v[1]) if isinstance(v, tuple) else (float(v), 0.0)) for k, v in values.items()}
    return month_table(vals, layout, places), layout


def _grid(per: dict[str, dict[str, int]], areas: dict[str, list[str]], force_extra: dict[str, int] | None = None):
    """Counts per family and district; areas and the force summed (plus records with no district)."""
    values: dict[tuple[str, str, str], int] = {}
    for fam, by_d in per.items():
        for d, v in by_d.items():
            values[(fam, "district", d)] = v
        for a, ds in areas.items():
            values[(fam, "area", a)] = sum(by_d[d] for d in ds)
        values[(fam, "force", "F")] = sum(by_d.values()) + (force_extra or {}).get(fam, 0)
    return values


def independent_bounds(table, status, limit: int, rounded: bool, cell: int) -> tuple[float, float]:
    """The interval an intruder can prove for one cell: integer programming written here, apart
    from the suppression code, from the published values and the rule as documented."""
    n = len(table.keys)
    v = table.value.astype(float)
    lb, ub = np.zeros(n), np.full(n, 1e7)  # finite: "unbounded" reads as 1e7
    shown = status == PUBLISHED
    derived = np.zeros(n, bool)
    if rounded:  # a total whose parts are all shown is their sum: it says nothing more
        for rel in table.relations:
            if shown[rel.total] and all(shown[p] for p in rel.parts):
                derived[rel.total] = True
    for i in range(n):
        role = table.role[i]
        if shown[i]:
            if role == 2:  # a shown percentage's complement: at least the limit, or none
                lb[i], ub[i] = (0, 0) if v[i] == 0 else (limit, 1e7)
            elif not rounded or v[i] == 0:
                lb[i] = ub[i] = v[i]
            elif not derived[i]:
                r = float(round5(v[i]))
                lb[i], ub[i] = max(limit, r - 2), r + 2
        elif role == 3:
            continue
        elif 1 <= v[i] < limit:
            lb[i], ub[i] = 1, limit - 1
        elif v[i] == 0:
            lb[i] = ub[i] = 0
        else:
            lb[i] = limit
    rows = np.zeros((len(table.relations), n))
    rhs = np.zeros(len(table.relations))
    for k, rel in enumerate(table.relations):
        rows[k, rel.total] += 1
        for p in rel.parts:
            rows[k, p] -= 1
        rhs[k] = rel.constant
    cons = [LinearConstraint(rows, rhs, rhs)] if len(rhs) else []
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(n)
        c[cell] = -sign
        res = milp(c, constraints=cons, bounds=Bounds(lb, ub), integrality=np.ones(n))
        assert res.x is not None, "the published figures must admit the true table"
        out.append(float(np.round(res.x[cell])))
    return out[1], out[0]


def assert_protected(table, decision, limit: int, rounded: bool) -> None:
    """Every withheld cell keeps what the rule promises (and, rounding, every rounded count),
    except where nothing can: the cell is fixed even with every cell withheld."""
    status = decision.status
    v = table.value
    everything = np.where(v > 0, SECONDARY, PUBLISHED)
    for i in range(len(table.keys)):
        if table.role[i] == 3 or (status[i] == PUBLISHED and not rounded) or v[i] == 0:
            continue
        lo, hi = independent_bounds(table, status, limit, rounded, i)
        # what the rule's own marks allow with every non-zero cell withheld: small cells that
        # sum to a small total narrow each other, and nothing published can undo that
        all_lo, all_hi = (1, limit - 1)
        if status[i] != PUBLISHED:
            all_lo, all_hi = independent_bounds(table, everything, limit, False, i)
            if all_lo == all_hi:
                continue  # fixed by zeros and the known records with no district
        if status[i] != PUBLISHED and 1 <= v[i] < limit:
            assert lo <= max(1, all_lo) and hi >= min(limit - 1, all_hi), (table.keys[i], v[i], lo, hi, all_lo, all_hi)
        elif status[i] != PUBLISHED and v[i] > 0:
            assert hi > lo, (table.keys[i], "pinned")
        elif rounded and status[i] == PUBLISHED and v[i] > 0 and table.role[i] != 2:
            r = float(round5(v[i]))
            derived = any(all(status[p] == PUBLISHED for p in table.relations[r_].parts) for r_ in table.total_of[i])
            if not derived:
                assert lo <= max(limit, r - 2) and hi >= r + 2, (table.keys[i], v[i], lo, hi)


def test_a_small_district_takes_a_partner_and_keeps_every_value_from_1_to_4() -> None:
    values = _grid({"x": {"d1": 3, "d2": 37}}, {"A": ["d1", "d2"]})
    table, _ = _table(values)
    dec = decide(table, 5)
    i = table.index[("x", "district:d1")]
    j = table.index[("x", "district:d2")]
    assert dec.status[i] == PRIMARY and dec.status[j] == SECONDARY
    assert np.isnan(dec.published[i]) and np.isnan(dec.published[j])
    assert dec.published[table.index[("x", "area:A")]] == 40
    # by hand: d1 + d2 = 40 with d2 >= 5 leaves d1 anything from 1 to 4 (brute force)
    fits = [d1 for d1 in range(0, 41) for d2 in range(0, 41) if d1 + d2 == 40 and 1 <= d1 <= 4 and d2 >= 5]
    assert fits == [1, 2, 3, 4]
    assert_protected(table, dec, 5, False)


def test_a_small_crime_type_needs_a_rectangle_of_partners() -> None:
    # two crime types in two districts: withholding only the pair in one district would give
    # the small cell away through the district's all-crime total
    per = {"a": {"d1": 2, "d2": 40}, "b": {"d1": 50, "d2": 60}}
    values = _grid(per, {"A": ["d1", "d2"]})
    for place in ("district:d1", "district:d2", "area:A", "force:F"):
        lvl, name = place.split(":")
        values[("all", lvl, name)] = sum(values[(f, lvl, name)] for f in ("a", "b"))
    table, _ = _table(values, types=["a", "b"])
    dec = decide(table, 5)
    hidden = {table.keys[i] for i in np.flatnonzero(dec.status != PUBLISHED)}
    assert hidden == {("a", "district:d1"), ("a", "district:d2"), ("b", "district:d1"), ("b", "district:d2")}
    assert_protected(table, dec, 5, False)


def test_records_with_no_district_are_treated_as_known() -> None:
    # the force total minus its districts is taken as public, so the force cannot protect a district
    values = _grid({"x": {"d1": 2, "d2": 30}}, {"A": ["d1"], "B": ["d2"]}, force_extra={"x": 7})
    table, _ = _table(values, areas={"A": ["d1"], "B": ["d2"]})
    dec = decide(table, 5)
    assert_protected(table, dec, 5, False)
    # A = d1 and both are small: the partner is found across areas
    assert dec.status[table.index[("x", "area:A")]] == PRIMARY


def test_a_percentage_is_withheld_with_its_small_count_and_its_sibling() -> None:
    # charged 3 of 120 crimes in d1: the percentage is withheld (its numerator is small),
    # and a sibling district's percentage too, or the area's would give it away
    values: dict = {}
    for d, (n, den) in {"d1": (3, 120), "d2": (30, 200)}.items():
        values[("p", "district", d)] = (float(n), float(den))
        values[("all", "district", d)] = den
    values[("p", "area", "A")] = (33.0, 320.0)
    values[("all", "area", "A")] = 320
    values[("p", "force", "F")] = (33.0, 320.0)
    values[("all", "force", "F")] = 320
    table, _ = _table(values, props={"p": "all"})
    dec = decide(table, 5)
    n1, n2 = table.index[("p|n", "district:d1")], table.index[("p|n", "district:d2")]
    assert dec.status[n1] == PRIMARY and dec.status[n2] == SECONDARY
    assert dec.status[table.index[("all", "district:d1")]] == PUBLISHED  # the base stays shown
    assert_protected(table, dec, 5, False)


def test_a_percentage_is_never_shown_without_its_denominator() -> None:
    values: dict = {("all", "district", "d1"): 3, ("all", "district", "d2"): 40, ("p", "district", "d2"): (20.0, 40.0),
                    ("p", "district", "d1"): (0.0, 3.0)}
    values[("all", "area", "A")] = 43
    values[("all", "force", "F")] = 43
    table, _ = _table(values, props={"p": "all"})
    dec = decide(table, 5)
    assert dec.status[table.index[("all", "district:d1")]] == PRIMARY
    assert dec.status[table.index[("p|n", "district:d1")]] != PUBLISHED
    assert_protected(table, dec, 5, False)


def test_rounding_totals_of_shown_parts_are_their_sums() -> None:
    values = _grid({"x": {"d1": 12, "d2": 22, "d3": 42}}, {"A": ["d1", "d2", "d3"]}, force_extra={"x": 3})
    table, _ = _table(values, areas={"A": ["d1", "d2", "d3"]})
    dec = decide(table, 10, rounded=True)
    assert (dec.status == PUBLISHED).all()
    pub = {table.keys[i]: dec.published[i] for i in range(len(table.keys))}
    assert (pub[("x", "district:d1")], pub[("x", "district:d2")], pub[("x", "district:d3")]) == (10, 20, 40)
    assert pub[("x", "area:A")] == 70  # the sum of the shown parts, not round5(76) = 75
    assert pub[("x", "force:F")] == round5(70 + 3)
    assert_protected(table, dec, 10, True)


def test_rounding_a_total_with_a_withheld_part_keeps_every_rounded_width() -> None:
    values = _grid({"x": {"d1": 4, "d2": 27, "d3": 31}}, {"A": ["d1", "d2", "d3"]}, force_extra={"x": 1})
    table, _ = _table(values, areas={"A": ["d1", "d2", "d3"]})
    dec = decide(table, 10, rounded=True)
    assert dec.status[table.index[("x", "district:d1")]] == PRIMARY
    assert_protected(table, dec, 10, True)


def test_brute_force_agrees_on_a_three_district_area() -> None:
    """Enumerate every table the published figures allow (no solver at all)."""
    values = _grid({"x": {"d1": 2, "d2": 9, "d3": 14}}, {"A": ["d1", "d2", "d3"]})
    table, _ = _table(values, areas={"A": ["d1", "d2", "d3"]})
    dec = decide(table, 5)
    hidden = [i for i in range(len(table.keys)) if dec.status[i] != PUBLISHED]
    v = table.value
    ranges = []
    for i in hidden:
        ranges.append(range(1, 5) if 1 <= v[i] < 5 else range(5, 60))
    feasible = []
    for combo in itertools.product(*ranges):
        x = v.astype(float).copy()
        x[hidden] = combo
        if all(x[r.total] == x[r.parts].sum() + r.constant for r in table.relations):
            feasible.append(combo)
    for k, i in enumerate(hidden):
        seen = {c[k] for c in feasible}
        if 1 <= v[i] < 5:
            assert seen == {1, 2, 3, 4}
        else:
            assert len(seen) > 1


counts = st.integers(min_value=0, max_value=40) | st.integers(min_value=1, max_value=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(st.lists(counts, min_size=4, max_size=4), min_size=3, max_size=3),
    extra=st.integers(min_value=0, max_value=3),
    rounded=st.booleans(),
)
def test_random_tables_are_protected(data: list[list[int]], extra: int, rounded: bool) -> None:
    """Three crime types in four districts (two areas), their totals, small and zero counts."""
    districts = ["d1", "d2", "d3", "d4"]
    areas = {"A": ["d1", "d2"], "B": ["d3", "d4"]}
    per = {f"t{k}": dict(zip(districts, row, strict=True)) for k, row in enumerate(data)}
    values = _grid(per, areas, force_extra=dict.fromkeys(per, extra))
    for place in [f"district:{d}" for d in districts] + ["area:A", "area:B", "force:F"]:
        lvl, name = place.split(":")
        values[("all", lvl, name)] = sum(values[(f, lvl, name)] for f in per)
    table, _ = _table(values, types=list(per), areas=areas)
    limit = 10 if rounded else 5
    dec = decide(table, limit, rounded)
    assert_protected(table, dec, limit, rounded)


def test_layout_finds_the_crime_type_partition_and_denominators() -> None:
    from thrv.indicators.definitions import expand, load_indicators

    values = {("crimes", "crime_type"): ["Anti-social behaviour", "Burglary", "Drugs", "Robbery"]}
    indicators = {i.id: i for i in expand(load_indicators(), values)}
    layout = layout_for(indicators)
    partitions = dict(layout.partitions)
    assert set(partitions["all_crime"]) >= {"burglary", "drugs", "robbery"}
    assert "asb" not in partitions["all_crime"]
    assert layout.denominator["prosecution_possible_rate"] == "all_crime"
    assert layout.denominator["stop_search_arrest_rate"] == "stop_search"


def test_rules() -> None:
    assert DisclosureRule().marker == "<5" and DisclosureRule("ons_10_5").marker == "<10"
    assert DisclosureRule("ons_10_5").publish(12.5) == 15 and DisclosureRule("ons_10_5").publish(12) == 10
    with pytest.raises(ValueError, match="threshold"):
        DisclosureRule("other")
    with pytest.raises(ValueError, match="at least 2"):
        DisclosureRule("threshold", 1)
    assert set(DisclosureRule().legend()) == {"<5", "[c]"}
    assert "Rounding" in DisclosureRule("ons_10_5").legend()


def test_the_unlocated_row_is_a_part_of_the_force_total() -> None:
    # the force = its areas + the Unlocated row: a small Unlocated count is withheld with a
    # partner, so "force - areas" does not give it away (the places come from the hierarchy)
    import pandas as pd

    from thrv.indicators.hierarchy import Hierarchy
    from thrv.indicators.rollup import UNLOCATED
    from thrv.report.disclosure import _places

    districts = pd.DataFrame({"force": ["F", "F"], "district": ["d1", "d2"], "district_code": ["E1", "E2"],
                              "area": ["A", "A"]})
    hierarchy = Hierarchy(districts=districts, lsoas=pd.DataFrame(), populations=pd.DataFrame(), regions={})
    places = _places(hierarchy)["F"]
    assert places.orphans == [UNLOCATED]
    values = {("x", "district", "d1"): 40, ("x", "district", "d2"): 37, ("x", "district", UNLOCATED): 3,
              ("x", "area", "A"): 77, ("x", "force", "F"): 80}
    layout = Layout({"x": "count"}, {}, (), ())
    table = month_table({k: (float(v), 0.0) for k, v in values.items()}, layout, places)
    force = [r for r in table.relations if table.keys[r.total] == ("x", "force:F")]
    assert len(force) == 1 and force[0].constant == 0
    assert {table.keys[p] for p in force[0].parts} == {("x", "area:A"), ("x", f"district:{UNLOCATED}")}
    dec = decide(table, 5)
    assert dec.status[table.index[("x", f"district:{UNLOCATED}")]] == PRIMARY
    assert dec.status[table.index[("x", "force:F")]] != PUBLISHED or dec.status[table.index[("x", "area:A")]] != PUBLISHED
    assert_protected(table, dec, 5, False)


def _two_types() -> tuple[dict[tuple[str, str, str], tuple[float, float]], Layout, _Places]:
    """Two crime types and their total in two areas (three districts and two): one small cell."""
    areas = {"A": ["d1", "d2", "d3"], "B": ["d4", "d5"]}
    per = {"t1": {"d1": 2, "d2": 40, "d3": 30, "d4": 50, "d5": 60},
           "t2": {"d1": 20, "d2": 45, "d3": 35, "d4": 55, "d5": 65}}
    per["all"] = {d: per["t1"][d] + per["t2"][d] for d in per["t1"]}
    values = {k: (float(v), 0.0) for k, v in _grid(per, areas).items()}
    layout = Layout(dict.fromkeys(per, "count"), {}, (("all", ("t1", "t2")),), ())
    return values, layout, _Places("F", areas, [])


def test_level_weights_decide_which_cells_protect_a_small_one() -> None:
    values, layout, places = _two_types()
    chosen = {}
    for weights in [(1.0, 3.0, 10.0), (100.0, 1.0, 1.0)]:
        rule = DisclosureRule(weights=weights)
        table = month_table(values, layout, places, rule)
        dec = decide(table, rule.limit, rule.rounded)
        assert_protected(table, dec, rule.limit, rule.rounded)
        chosen[weights] = {table.keys[i][1] for i in np.flatnonzero(dec.status == SECONDARY)}
    # the default withholds a neighbouring district before an area or the force; dear
    # districts turn it round: only the small cell's own district (its other crime type,
    # tied by the all-crime total there) and then the area and force figures
    assert chosen[(1.0, 3.0, 10.0)] == {"district:d1", "district:d2"}
    assert chosen[(100.0, 1.0, 1.0)] == {"district:d1", "area:A", "force:F"}
    assert np.array_equal(month_table(values, layout, places).weight,
                          month_table(values, layout, places, DisclosureRule()).weight)


def test_the_total_factor_prices_totals_of_other_indicators() -> None:
    values, layout, places = _two_types()
    for factor in (0.5, 3.0, 7.0):
        table = month_table(values, layout, places, DisclosureRule(total_factor=factor))
        base = np.array([(1.0, 3.0, 10.0)[int(lv)] for lv in table.level])
        totals = np.array([k[0] == "all" for k in table.keys])
        assert np.allclose(table.weight[totals], base[totals] * factor)
        assert np.allclose(table.weight[~totals], base[~totals])


def test_rule_from_settings() -> None:
    assert DisclosureRule.from_settings({}) == DisclosureRule()
    rule = DisclosureRule.from_settings({"rule": "ons_10_5", "weights": {"force": 50}, "total_factor": 2})
    assert rule == DisclosureRule("ons_10_5", 5, (1.0, 3.0, 50.0), 2.0)
    for bad, says in [({"treshold": 5}, "unknown disclosure setting"), ({"weights": {"lsoa": 1}}, "district, area and force"),
                      ({"weights": {"area": 0}}, "three positive numbers"), ({"weights": {"area": "x"}}, "could not convert"),
                      ({"total_factor": -1}, "positive number"), ({"threshold": 1}, "at least 2"), ({"rule": "x"}, "'threshold' or")]:
        with pytest.raises(ValueError, match=says):
            DisclosureRule.from_settings(bad)
