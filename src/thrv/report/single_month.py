"""The superseded single-month public view: one pack model suppressed on its own.

It decides from one month's model alone, so it cannot see the months and views a public
user can also request; :mod:`thrv.report.disclosure` (``Release``, ``public_view``) decides
once for every month and level and replaces it. Kept only until every caller has moved.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

COUNT_COLUMNS = ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline")
DROPPED_COLUMNS = (
    "avg_1y", "avg_3y", "current_num", "current_den", "population", "spc_mean", "spc_lcl", "spc_ucl",
    "rate_ci_low", "rate_ci_high", "estimate", "ci_low", "ci_high", "estimate_1y", "ci_low_1y",
    "ci_high_1y", "estimate_3y", "ci_low_3y", "ci_high_3y", "estimate_prev_1y", "ci_low_prev_1y",
    "ci_high_prev_1y", "change_avg_1y", "change_avg_3y", "rank_low", "rank_high",
)
Cell = tuple[str, str, str, str, str]  # indicator, level, force, area, column


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _months_back(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    i = y * 12 + m - 1 - n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def collect_cells(model: dict[str, Any]) -> tuple[dict[Cell, float], list[tuple[Cell, list[Cell]]]]:
    """Every published count cell of a count indicator, and the additive relations among them.

    A relation (total, parts) says total = sum(parts) (or, for a force, total ≥ sum(parts),
    treated as equality to be safe).
    """
    measures = {i["id"]: i["measure"] for i in model["indicators"]}
    cells: dict[Cell, float] = {}
    for r in model["rows"]:
        if measures.get(r["indicator"]) != "count" or r["area_level"] == "lsoa":
            continue
        for col in COUNT_COLUMNS:
            if _finite(r.get(col)):
                cells[(r["indicator"], r["area_level"], r["force"], r["area"], col)] = float(r[col])
    for key, points in model.get("series", {}).items():
        indicator, level, force, area = key.split("|", 3)
        if measures.get(indicator) != "count" or level == "lsoa":
            continue
        for p in points:
            if _finite(p.get("value")):
                cells[(indicator, level, force, area, "m:" + p["month"])] = float(p["value"])

    relations: list[tuple[Cell, list[Cell]]] = []
    by_series: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for cell in cells:
        by_series[cell[:4]].add(cell[4])
    month = model["meta"]["month"]
    baseline_end = str(model["meta"].get("baseline_period", "")).split(" to ")[-1]
    columns = sorted({c[4] for c in cells})

    # within a series: rolling 12 months and baseline are sums of months; prev_ky is a month
    for series, cols in by_series.items():
        for summed, end in (("rolling_12m", month), ("baseline", baseline_end)):
            months = [(*series, "m:" + _months_back(end, k)) for k in range(12)] if end else []
            if summed in cols and months and all(m[4] in cols for m in months):
                relations.append(((*series, summed), months))
        for k in (1, 2, 3):
            m = "m:" + _months_back(month, 12 * k)
            if f"prev_{k}y" in cols and m in cols:
                relations.append(((*series, f"prev_{k}y"), [(*series, m)]))
        if "current" in cols and "m:" + month in cols:
            relations.append(((*series, "current"), [(*series, "m:" + month)]))

    # across areas: area = its districts; force >= its districts
    districts_of_area: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in model.get("meta", {}).get("area_districts", []):
        districts_of_area[(r["force"], r["area"])].append(r["district"])
    series_keys = set(by_series)
    indicators = {s[0] for s in series_keys}
    districts_of_force: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in series_keys:
        if s[1] == "district":
            districts_of_force[(s[0], s[2])].append(s[3])
    for col in columns:
        for (force, area), districts in districts_of_area.items():
            for indicator in indicators:
                total = (indicator, "area", force, area, col)
                parts = [(indicator, "district", force, d, col) for d in districts]
                if total in cells and all(p in cells for p in parts):
                    relations.append((total, parts))
        for (indicator, force), districts in districts_of_force.items():
            total = (indicator, "force", force, force, col)
            parts = [c for c in ((indicator, "district", force, d, col) for d in districts) if c in cells]
            if total in cells and parts:
                relations.append((total, parts))
    # across crime types: all crime = the crime types (per area and column)
    type_ids = model.get("meta", {}).get("crime_type_indicators", [])
    if type_ids and "all_crime" in {s[0] for s in series_keys}:
        for series in [s for s in series_keys if s[0] == "all_crime"]:
            for col in by_series[series]:
                total = (*series, col)
                parts = [(t, *series[1:], col) for t in type_ids]
                if all(p in cells for p in parts):
                    relations.append((total, parts))
    return cells, relations


def _determined(unknowns: list[Cell], relations: list[tuple[Cell, list[Cell]]], hidden: set[Cell]) -> list[Cell]:
    """Hidden cells whose value follows from the published ones (exact linear algebra).

    With the published cells moved to the right-hand side, the relations are A·x = b over
    the hidden cells x. A cell x_i is determined exactly when e_i lies in the row space of A,
    that is when every vector of A's null space has a zero i-th component: one SVD answers
    it for every cell of the group.
    """
    index = {c: i for i, c in enumerate(unknowns)}
    rows = []
    for total, parts in relations:
        if not any(c in index for c in (total, *parts)):
            continue
        row = np.zeros(len(unknowns))
        if total in index:
            row[index[total]] += 1.0
        for p in parts:
            if p in index:
                row[index[p]] -= 1.0
        rows.append(row)
    if not rows:
        return []
    a = np.array(rows)
    _, sing, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((sing > 1e-9 * max(1.0, float(sing.max(initial=0.0)))).sum())
    null = vt[rank:].T  # columns span the null space
    if null.shape[1] == 0:
        return list(unknowns)
    free = np.abs(null).max(axis=1) > 1e-9
    return [c for c, i in index.items() if not free[i]]


def _components(hidden: set[Cell], relations: list[tuple[Cell, list[Cell]]]) -> list[list[Cell]]:
    parent = {c: c for c in hidden}

    def find(c: Cell) -> Cell:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for total, parts in relations:
        members = [c for c in (total, *parts) if c in hidden]
        for c in members[1:]:
            parent[find(c)] = find(members[0])
    groups: dict[Cell, list[Cell]] = defaultdict(list)
    for c in hidden:
        groups[find(c)].append(c)
    return list(groups.values())


def secondary_suppression(
    cells: dict[Cell, float], relations: list[tuple[Cell, list[Cell]]], primary: Iterable[Cell]
) -> set[Cell]:
    """Grow the hidden set until no hidden cell can be recovered from published cells."""
    hidden: set[Cell] = set()
    by_cell: dict[Cell, list[int]] = defaultdict(list)
    for i, (total, parts) in enumerate(relations):
        for c in (total, *parts):
            by_cell[c].append(i)
    n_hidden = [0] * len(relations)
    queue: list[int] = []

    def hide(cell: Cell) -> None:
        if cell in hidden:
            return
        hidden.add(cell)
        for i in by_cell[cell]:
            n_hidden[i] += 1
            if n_hidden[i] == 1:
                queue.append(i)

    for cell in primary:
        hide(cell)
    for _ in range(100_000):
        # cheap pass: a relation with exactly one hidden cell gives it away
        while queue:
            i = queue.pop()
            if n_hidden[i] == 1:
                total, parts = relations[i]
                hide(_cheapest((total, *parts), hidden, cells))
        # exact pass: combinations of relations, per connected group of hidden cells
        exposed: list[Cell] = []
        for group in _components(hidden, relations):
            rels = [relations[i] for i in {i for c in group for i in by_cell[c]}]
            exposed.extend(_determined(group, rels, hidden))
        if not exposed:
            return hidden
        for cell in exposed:
            members = {c for i in by_cell[cell] for c in (relations[i][0], *relations[i][1])}
            candidates = members - hidden
            if candidates:
                hide(_cheapest(tuple(candidates), hidden, cells))
    raise RuntimeError("secondary suppression did not converge")  # pragma: no cover


def _cheapest(members: tuple[Cell, ...], hidden: set[Cell], cells: dict[Cell, float]) -> Cell:
    """The published cell whose hiding loses least: the smallest value (ties: stable order)."""
    candidates = sorted((c for c in members if c not in hidden), key=lambda c: (cells.get(c, 0.0), c))
    return candidates[0]


def public_model(model: dict[str, Any], rule: Any = None) -> dict[str, Any]:
    """A copy of a pack model safe to publish (see the module docstring)."""
    from thrv.report.disclosure import DisclosureRule

    rule = rule or DisclosureRule()
    out = copy.deepcopy(model)
    out["rows"] = [r for r in out["rows"] if r["area_level"] != "lsoa"]
    # monthly series are published for the force only: below it they would tie every
    # month of every district into one large system of small numbers
    out["series"] = {k: v for k, v in out.get("series", {}).items() if k.split("|")[1] == "force"}
    out.pop("similar", None)  # similar-area rates are outside the suppression checks, so not published
    cells, relations = collect_cells(out)
    primary = {c for c, v in cells.items() if rule.is_small(v)}
    hidden = secondary_suppression(cells, relations, primary)
    measures = {i["id"]: i["measure"] for i in out["indicators"]}

    for r in out["rows"]:
        key = (r["indicator"], r["area_level"], r["force"], r["area"])
        if measures.get(r["indicator"]) == "count":
            for col in COUNT_COLUMNS:
                if (*key, col) in hidden:
                    r[col] = rule.marker
                elif _finite(r.get(col)):
                    r[col] = rule.publish(float(r[col]))
            if (*key, "rolling_12m") in hidden or (*key, "current") in hidden:
                r["rate_per_1000"] = None
                r["rate_per_1000_month"] = None
        elif measures.get(r["indicator"]) == "proportion":
            for col in COUNT_COLUMNS:
                if _finite(r.get(col)):
                    r[col] = round(float(r[col]), 1)
            num, den = r.get("current_num"), r.get("current_den")
            if _finite(num) and _finite(den) and (rule.is_small(float(num)) or rule.is_small(float(den) - float(num))):
                r["current"] = rule.marker + " (small numbers)"
        for col in ("rate_per_1000", "rate_per_1000_month", "national_rate_per_1000", "regional_rate_per_1000"):
            if _finite(r.get(col)):
                r[col] = round(float(r[col]), 1)
        for col in DROPPED_COLUMNS:
            r.pop(col, None)
        if any(c[:4] == key for c in hidden):
            r["sentence"] = _public_sentence(r, rule)
    for key, points in out.get("series", {}).items():
        indicator, level, force, area = key.split("|", 3)
        for p in points:
            cell = (indicator, level, force, area, "m:" + p["month"])
            if cell in hidden:
                p["value"] = None
                p["suppressed"] = True
            elif measures.get(indicator) == "count" and _finite(p.get("value")):
                p["value"] = rule.publish(float(p["value"]))
    out["meta"]["disclosure"] = {
        "rule": rule.rule,
        "threshold": rule.limit,
        "marker": rule.marker,
        "suppressed_primary": len(primary),
        "suppressed_secondary": len(hidden) - len(primary),
        "dropped": ["LSOA rows", "monthly series below force level", *DROPPED_COLUMNS],
    }
    return out


def _public_sentence(row: dict[str, Any], rule: Any) -> str:
    from thrv.report.narrative import month_name

    return (
        f"{row.get('title', row['indicator'])}: figures for {row['area']} in {month_name(row['month'])} include "
        f"small numbers and are not published ({rule.marker} or withheld so a small number cannot be worked out)."
    )


def collect_cells_published(model: dict[str, Any]) -> tuple[dict[Cell, float | None], list[tuple[Cell, list[Cell]]]]:
    """Cells of a public model with suppressed ones as None (for checking)."""
    shadow = copy.deepcopy(model)
    marker = shadow["meta"].get("disclosure", {}).get("marker", "<")
    for r in shadow["rows"]:
        for col in COUNT_COLUMNS:
            if isinstance(r.get(col), str) and r[col].startswith(marker):
                r[col] = -1.0
    for points in shadow.get("series", {}).values():
        for p in points:
            if p.get("suppressed"):
                p["value"] = -1.0
    cells, relations = collect_cells(shadow)
    return {c: (None if v == -1.0 else v) for c, v in cells.items()}, relations
