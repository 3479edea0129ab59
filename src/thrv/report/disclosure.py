"""Disclosure control for everything a public user is given (``--public``, the public role).

One layer, decided once. A :class:`Release` holds what the store can publish and one
suppression decision for it: every month a pack can be built for, every level (force,
area, district), every indicator. A public pack is the ordinary pack built from the
*published* monthly figures (:func:`thrv.indicators.pack.build_pack` with ``publish=``),
so every derived figure — rolling 12 months, baseline, averages, changes, tests and their
p-values, labels, rates, ranks, SPC, sentences, chart data — is computed from published
figures only, and a figure any of whose inputs is withheld is withheld too. Views
(:func:`public_view`: one area, level or indicator) are cut from that model, never
decided again.

The decision is made per force and month on the table of that month's counts
(:mod:`thrv.report.suppression`): small counts are withheld (primary), and further cells
(secondary) until no withheld cell can be worked out from the sums that tie the table
(area = its districts, force = its districts and the records with no district, all crime =
the crime types, a denominator = numerator + complement). Figures that sum months are
published only when every month in them is, so months are independent and the decision
for a month does not change when later months arrive. docs/disclosure.md states exactly
what is guaranteed.

Rules: ``threshold`` (counts 1 to threshold-1 withheld, shown "<5"), ``ons_10_5`` (counts
1 to 9 withheld, shown "<10"; the rest rounded to the nearest 5, a total whose parts are
all published shown as the sum of the published parts). Zeros are published. Cells
withheld to protect others are shown "[c]"; so is every withheld percentage and every
figure computed from a withheld one, with the kind in the row's ``suppressed`` and
``suppressed_columns``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from thrv.indicators.compare import CompareOptions, SeriesMatrix, baseline_end_for, month_index
from thrv.indicators.definitions import Condition, Indicator
from thrv.indicators.hierarchy import Hierarchy
from thrv.indicators.rollup import UNLOCATED
from thrv.report.suppression import (
    AREA,
    COMPLEMENT,
    COUNT,
    DENOMINATOR,
    DISTRICT,
    FORCE,
    NUMERATOR,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    Relation,
    Table,
    decide,
)

#: the levels a public user can see (LSOA rows are never published)
PUBLIC_LEVELS = ("force", "area", "district")
SECONDARY_MARKER = "[c]"
KIND_NAMES = {PRIMARY: "primary", SECONDARY: "secondary"}
COUNT_COLUMNS = ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline")


@dataclass(frozen=True)
class DisclosureRule:
    """How small numbers are treated: ``threshold`` or ONS's ``ons_10_5``."""

    rule: str = "threshold"
    threshold: int = 5
    #: what withholding a cell costs, by level (district, area, force): secondary suppression
    #: picks the cheapest cells that protect the small ones, so by default it withholds a
    #: district before an area and an area before the force figure readers look for first
    weights: tuple[float, float, float] = (1.0, 3.0, 10.0)
    #: a total of other indicators (all crime, a denominator) costs this many times more
    total_factor: float = 3.0

    def __post_init__(self) -> None:
        if self.rule not in {"threshold", "ons_10_5"}:
            raise ValueError(f"disclosure rule must be 'threshold' or 'ons_10_5', got {self.rule!r}")
        if self.threshold < 2:
            raise ValueError("the suppression threshold must be at least 2")
        if len(self.weights) != 3 or not all(math.isfinite(w) and w > 0 for w in self.weights):
            raise ValueError(f"disclosure weights must be three positive numbers (district, area, force), got {self.weights!r}")
        if not (math.isfinite(self.total_factor) and self.total_factor > 0):
            raise ValueError(f"the disclosure total_factor must be a positive number, got {self.total_factor!r}")

    @classmethod
    def from_settings(cls, conf: Mapping[str, Any]) -> DisclosureRule:
        """The rule from a settings table (web.toml's ``[disclosure]``, a sharing agreement's
        ``[suppression]``): ``rule``, ``threshold``, ``weights = {district, area, force}`` and
        ``total_factor``, each optional. Unknown keys are refused, so a misspelt one is not
        silently ignored."""
        known = {"rule", "threshold", "weights", "total_factor"}
        unknown = sorted(set(conf) - known)
        if unknown:
            raise ValueError(f"unknown disclosure setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        default = cls()
        w = conf.get("weights") or {}
        if not isinstance(w, Mapping) or set(w) - {"district", "area", "force"}:
            raise ValueError("disclosure weights must be a table with keys district, area and force")
        try:
            weights = (float(w.get("district", default.weights[0])), float(w.get("area", default.weights[1])),
                       float(w.get("force", default.weights[2])))
            return cls(str(conf.get("rule", default.rule)), int(conf.get("threshold", default.threshold)),
                       weights, float(conf.get("total_factor", default.total_factor)))
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from exc

    @property
    def limit(self) -> int:
        """The smallest count published: counts from 1 to limit - 1 are withheld."""
        return 10 if self.rule == "ons_10_5" else self.threshold

    @property
    def rounded(self) -> bool:
        return self.rule == "ons_10_5"

    @property
    def marker(self) -> str:
        return f"<{self.limit}"

    def is_small(self, value: float) -> bool:
        return 0 < value < self.limit

    def publish(self, value: float) -> float:
        if self.rounded:
            return float(5 * math.floor(value / 5 + 0.5))
        return value

    def legend(self) -> dict[str, str]:
        """What each mark means, for the renderers (mark -> meaning)."""
        out = {
            self.marker: f"a count from 1 to {self.limit - 1}, withheld (zeros are shown)",
            SECONDARY_MARKER: "withheld: a figure from which a withheld count could be worked out, a percentage "
            "of such a count, or a figure computed from a withheld one (the row's suppressed_columns says which)",
        }
        if self.rounded:
            out["Rounding"] = ("counts are rounded to the nearest 5; a total whose parts are all shown is the sum of "
                               "the shown parts, and rates, changes and tests are computed from the rounded figures")
        return out


# ---------------------------------------------------------------------------------------
# how the indicators tie together


@dataclass(frozen=True)
class Layout:
    """The sums among indicators that the tables model."""

    measure: dict[str, str]
    #: proportion -> the count indicator counting its denominator (None: not published as a count)
    denominator: dict[str, str | None]
    #: count total -> counts that partition it (e.g. all crime -> the crime types)
    partitions: tuple[tuple[str, tuple[str, ...]], ...]
    #: denominator count -> proportions whose numerators partition it (shares by category)
    shares: tuple[tuple[str, tuple[str, ...]], ...]


def _one_value(conds: tuple[Condition, ...]) -> tuple[frozenset[Condition], str, Any] | None:
    """(the other conditions, column, value) when exactly one condition is `column = value`."""
    singles = [c for c in conds if not c.negate and len(c.values) == 1]
    for c in singles:
        rest = frozenset(x for x in conds if x is not c)
        return rest, c.column, c.values[0]
    return None


def layout_for(indicators: Mapping[str, Indicator]) -> Layout:
    measure = {i.id: i.measure for i in indicators.values()}
    counts = [i for i in indicators.values() if i.measure == "count"]
    denominator: dict[str, str | None] = {}
    for p in indicators.values():
        if p.measure == "proportion":
            same = [c.id for c in counts if c.table == p.table and frozenset(c.where) == frozenset(p.where)]
            denominator[p.id] = same[0] if same else None
    # partitions: counts `column = value` over the same base, and the count of that base
    groups: dict[tuple[str, frozenset[Condition], str], list[tuple[str, Any]]] = defaultdict(list)
    for c in counts:
        one = _one_value(c.where)
        if one is not None:
            rest, column, value = one
            groups[(c.table, rest, column)].append((c.id, value))
    partitions = []
    for (table, rest, column), members in groups.items():
        for total in counts:
            if total.table != table or total.id in {m for m, _ in members}:
                continue
            where = frozenset(total.where)
            extra = where - rest
            if not rest <= where:
                continue
            if not extra:
                parts = [m for m, _ in members]
            elif len(extra) == 1 and next(iter(extra)).column == column and next(iter(extra)).negate:
                left_out = {str(v) for v in next(iter(extra)).values}
                parts = [m for m, v in members if str(v) not in left_out]
            else:
                continue
            if len(parts) >= 2:
                partitions.append((total.id, tuple(parts)))
    shares_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p_id, d in denominator.items():
        one = _one_value(indicators[p_id].numerator)
        if d is not None and one is not None and not one[0]:
            shares_of[(d, one[1])].append(p_id)
    shares = tuple((d, tuple(ps)) for (d, _col), ps in shares_of.items() if len(ps) >= 2)
    return Layout(measure, denominator, tuple(partitions), shares)


@dataclass(frozen=True)
class _Places:
    """One force's places: its areas with their districts, and districts in no area."""

    force: str
    areas: dict[str, list[str]]
    orphans: list[str]  # districts in no area, and the force's Unlocated row (records in no district)


def _places(hierarchy: Hierarchy) -> dict[str, _Places]:
    out = {}
    d = hierarchy.districts
    for force, group in d.groupby("force"):
        areas: dict[str, list[str]] = defaultdict(list)
        orphans = []
        for district, area in zip(group["district"], group["area"], strict=True):
            if isinstance(area, str):
                areas[area].append(str(district))
            else:
                orphans.append(str(district))
        # the Unlocated row is one more part of the force total, so a hidden one cannot be
        # worked out as the force less its districts
        out[str(force)] = _Places(str(force), {a: sorted(ds) for a, ds in sorted(areas.items())},
                                  [*sorted(orphans), UNLOCATED])
    return out


LEVEL_CODE = {"district": DISTRICT, "area": AREA, "force": FORCE}


def month_table(values: Mapping[tuple[str, str, str], tuple[float, float]], layout: Layout, places: _Places,
                rule: DisclosureRule | None = None) -> Table:
    """The table of one force and month: ``values[(indicator, level, area)] = (num, den)``.

    ``rule`` gives the cost of withholding each cell (its ``weights`` by level and
    ``total_factor`` for totals); the default rule's when not given.

    Cells are keyed (family, "level:area"): a count's family is its indicator; a
    proportion has a numerator ``id|n`` and complement ``id|c`` (and ``id|d`` when its
    denominator is not itself a published count), published or withheld together.
    """
    keys: list[tuple[str, str]] = []
    vals: list[float] = []
    level: list[int] = []
    role: list[int] = []
    unit: list[int] = []

    def add(family: str, place: str, value: float, r: int, u: int) -> None:
        keys.append((family, place))
        vals.append(value)
        level.append(LEVEL_CODE[place.split(":", 1)[0]])
        role.append(r)
        unit.append(u)

    by_prop: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for (ind, lvl, area), (num, den) in sorted(values.items()):
        m = layout.measure.get(ind)
        place = f"{lvl}:{area}"
        if m == "count":
            add(ind, place, float(num), COUNT, len(keys))
        elif m == "proportion":
            by_prop[ind].append((place, float(num), float(den)))
    counts = {(f, p): v for (f, p), v in zip(keys, vals, strict=True)}
    own_den: set[str] = set()
    for ind, items in by_prop.items():
        d = layout.denominator.get(ind)
        if d is None or any(counts.get((d, place)) != den for place, _n, den in items):
            own_den.add(ind)
        for place, num, den in items:
            u = len(keys)
            add(f"{ind}|n", place, num, NUMERATOR, u)
            add(f"{ind}|c", place, den - num, COMPLEMENT, u)
            if ind in own_den:
                add(f"{ind}|d", place, den, DENOMINATOR, u)
    index = {k: i for i, k in enumerate(keys)}
    v = np.array(vals, dtype=float)
    relations: list[Relation] = []

    def relate(total: tuple[str, str], parts: Iterable[tuple[str, str]], kind: str) -> None:
        t = index.get(total)
        ps = [index[p] for p in parts if p in index]
        if t is None or not ps:
            return
        constant = float(v[t] - v[ps].sum())
        if constant < 0:
            return  # not a partition in these figures: no sum to model
        relations.append(Relation(t, ps, constant, kind))

    families = sorted({f for f, _ in keys})
    f_name = places.force
    for fam in families:
        for area, districts in places.areas.items():
            relate((fam, f"area:{area}"), [(fam, f"district:{d}") for d in districts], "geo")
        tops = [(fam, f"area:{a}") for a in places.areas if (fam, f"area:{a}") in index]
        covered = {d for a in places.areas if (fam, f"area:{a}") in index for d in places.areas[a]}
        all_districts = [d for ds in places.areas.values() for d in ds] + places.orphans
        tops += [(fam, f"district:{d}") for d in all_districts if d not in covered]
        relate((fam, f"force:{f_name}"), tops, "geo")
    place_set = sorted({p for _, p in keys})
    for place in place_set:
        for total, parts in layout.partitions:
            relate((total, place), [(p, place) for p in parts], "family")
        for ind in by_prop:
            d = f"{ind}|d" if ind in own_den else layout.denominator[ind]
            assert d is not None
            relate((d, place), [(f"{ind}|n", place), (f"{ind}|c", place)], "family")
        for d, props in layout.shares:
            members = [p for p in props if p not in own_den]
            if len(members) >= 2:
                relate((d, place), [(f"{p}|n", place) for p in members], "family")
    rule = rule or DisclosureRule()
    level_weight = dict(zip((DISTRICT, AREA, FORCE), rule.weights, strict=True))
    weight = np.array([level_weight[lv] for lv in level], dtype=float)
    totals = {r.total for r in relations if r.kind == "family"}
    for t in totals:
        weight[t] *= rule.total_factor
    requires: dict[int, list[int]] = {}
    for ind in by_prop:
        d = layout.denominator[ind]
        if ind in own_den or d is None:
            continue
        for place, _n, _d in by_prop[ind]:
            n_cell, d_cell = index[(f"{ind}|n", place)], index.get((d, place))
            if d_cell is not None:
                requires[unit[n_cell]] = [d_cell]
    return Table(keys, v, np.array(level), np.array(role), np.array(unit), relations, weight, requires)


# ---------------------------------------------------------------------------------------
# the release: one decision, every public month and view


@dataclass
class _MonthDecision:
    fingerprint: int
    status: dict[tuple[str, str], int]
    published: dict[tuple[str, str], float]
    certificates: dict[str, int]


@dataclass
class Release:
    """What a public user can be given, decided once: use :func:`build_release`.

    ``model(month)`` is the public pack of a month (all levels), ``public_view`` cuts views
    from it. Decisions are made per force and month (cached here) from that month's table
    alone, so they are the same in every pack and view that shows the month.
    """

    inputs: Any  # thrv.indicators.pack.PackInputs
    rule: DisclosureRule
    options: CompareOptions
    months: list[str]
    layout: Layout
    _decisions: dict[tuple[str, str], _MonthDecision] = field(default_factory=dict)
    _models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def model(self, month: str) -> dict[str, Any]:
        """The public pack model of ``month`` (every public level), built once."""
        if month not in self._models:
            if month not in self.months:
                raise ValueError(f"no public pack for {month}; months held: {', '.join(self.months)}")
            self._models[month] = _public_pack_model(self, month)
        return self._models[month]

    def decision(self, force: str, month: str, values: Mapping[tuple[str, str, str], tuple[float, float]],
                 places: _Places) -> _MonthDecision:
        # zeros are published as they are and tie nothing: leave them out, so a month reads
        # the same whether or not a pack's window holds a series that is zero throughout
        values = {k: (n, d) for k, (n, d) in values.items() if n != 0 or (d == d and d != 0)}
        fingerprint = hash(tuple(sorted((k, float(n), float(d) if d == d else -1.0) for k, (n, d) in values.items())))
        key = (force, month)
        found = self._decisions.get(key)
        if found is not None:
            if found.fingerprint != fingerprint:
                raise RuntimeError(f"the figures of {force} {month} differ between packs of one release")
            return found
        table = month_table(values, self.layout, places, self.rule)
        dec = decide(table, self.rule.limit, self.rule.rounded)
        status = {k: int(s) for k, s in zip(table.keys, dec.status, strict=True)}
        published = {k: float(p) for k, p in zip(table.keys, dec.published, strict=True)}
        found = _MonthDecision(fingerprint, status, published, dec.certificates)
        self._decisions[key] = found
        return found

    def decisions(self) -> dict[tuple[str, str], _MonthDecision]:
        return dict(self._decisions)


def build_release(
    store: Any,
    rule: DisclosureRule | None = None,
    indicator_files: Iterable[Any] | None = None,
    areas_file: Any = None,
    options: CompareOptions | None = None,
    inputs: Any = None,
) -> Release:
    """Read everything the public packs need from an open store (once) for ``rule``.

    ``inputs`` (another release's ``inputs``) reuses what was read: the store is not read again.
    """
    from thrv.indicators.pack import load_inputs

    if inputs is None:
        inputs = load_inputs(store, dt.date(1000, 1, 1), dt.date(9999, 12, 1), PUBLIC_LEVELS,
                             list(indicator_files) if indicator_files else None, areas_file)
    cov = inputs.figures.coverage
    held = sorted({m for m, rows in zip(cov["month"], cov["rows"], strict=True) if rows > 0})
    if not held:
        raise ValueError("the store holds no records: run `thrv ingest` first")
    inputs = replace(inputs, last=max(held))
    return Release(inputs, rule or DisclosureRule(), options or CompareOptions(),
                   [f"{m:%Y-%m}" for m in held], layout_for(inputs.indicators))


@dataclass
class _Published:
    """The publish step of one pack: replaces its matrix's figures and keeps what it hid."""

    release: Release
    keys: pd.DataFrame | None = None
    months: list[str] = field(default_factory=list)
    kinds: dict[tuple[str, str, str, str], np.ndarray] = field(default_factory=dict)

    def __call__(self, matrix: SeriesMatrix, indicators: dict[str, Indicator], hierarchy: Hierarchy,
                 assigned: pd.DataFrame) -> SeriesMatrix:
        rel = self.release
        keys = matrix.keys
        months = [f"{m:%Y-%m}" for m in matrix.months]
        num = np.full(matrix.num.shape, np.nan)
        den = np.full(matrix.den.shape, np.nan)
        kinds = np.zeros(matrix.num.shape, dtype=np.int8)
        places = _places(hierarchy)
        levels = keys["level"].astype(str).tolist()
        measures = keys["measure"].astype(str).tolist()
        inds = keys["indicator"].astype(str).tolist()
        areas = keys["area"].astype(str).tolist()
        forces = keys["force"].astype(str).tolist()
        by_force: dict[str, list[int]] = defaultdict(list)
        for i, (lvl, m) in enumerate(zip(levels, measures, strict=True)):
            if lvl in PUBLIC_LEVELS and m in ("count", "proportion"):
                by_force[forces[i]].append(i)
        finite = np.isfinite(matrix.num)
        for force, idx in by_force.items():
            f_places = places.get(force, _Places(force, {}, []))
            for col, month in enumerate(months):
                rows = [i for i in idx if finite[i, col]]
                if not rows:
                    continue
                values = {(inds[i], levels[i], areas[i]): (float(matrix.num[i, col]), float(matrix.den[i, col])) for i in rows}
                dec = rel.decision(force, month, values, f_places)
                for i in rows:
                    place = f"{levels[i]}:{areas[i]}"
                    ind = inds[i]
                    if (ind if measures[i] == "count" else f"{ind}|n", place) not in dec.status:  # a zero
                        num[i, col], den[i, col] = matrix.num[i, col], matrix.den[i, col]
                        continue
                    if measures[i] == "count":
                        s = dec.status[(ind, place)]
                        if s == PUBLISHED:
                            num[i, col] = dec.published[(ind, place)]
                            den[i, col] = matrix.den[i, col]
                        kinds[i, col] = s
                    else:
                        s = dec.status[(f"{ind}|n", place)]
                        own = (f"{ind}|d", place) in dec.status
                        d_key = (f"{ind}|d", place) if own else (str(rel.layout.denominator[ind]), place)
                        if s == PUBLISHED:
                            num[i, col] = dec.published[(f"{ind}|n", place)]
                            den[i, col] = dec.published[d_key]
                        kinds[i, col] = s
        # medians and percentiles: shown where at least `limit` values lie behind them
        med = [i for i, (lvl, m) in enumerate(zip(levels, measures, strict=True))
               if lvl in PUBLIC_LEVELS and m in ("median", "p90")]
        if len(med):
            counts = _value_counts(assigned, months)
            for i in med:
                k = (inds[i], levels[i], forces[i], areas[i])
                n = counts.get(k, np.zeros(len(months)))
                shown = np.isfinite(matrix.num[i]) & (n >= rel.rule.limit)
                num[i] = np.where(shown, matrix.num[i], np.nan)
                kinds[i] = np.where(np.isfinite(matrix.num[i]) & ~shown, PRIMARY, 0)
        self.keys = keys
        self.months = months
        for i in range(len(keys)):
            self.kinds[(inds[i], levels[i], forces[i], areas[i])] = kinds[i]
        return SeriesMatrix(keys, matrix.months, num, den)


def _value_counts(assigned: pd.DataFrame, months: list[str]) -> dict[tuple[str, str, str, str], np.ndarray]:
    out: dict[tuple[str, str, str, str], np.ndarray] = {}
    if assigned.empty:
        return out
    col = {m: j for j, m in enumerate(months)}
    month_text = pd.to_datetime(assigned["month"]).dt.strftime("%Y-%m")
    grouped = assigned.assign(_m=month_text).groupby(["indicator", "level", "force", "area", "_m"]).size()
    for key, n in grouped.items():
        ind, lvl, force, area, m = (str(x) for x in cast(tuple, key))
        if m in col:
            out.setdefault((ind, lvl, force, area), np.zeros(len(months)))[col[m]] = n
    return out


# ---------------------------------------------------------------------------------------
# the public model: the pack built from published figures, every derived figure masked


#: months (offsets from the pack month, inclusive) each column is computed from
_ALL = (-10_000, 0)
_CUR, _P1, _P2, _P3 = (0, 0), (-12, -12), (-24, -24), (-36, -36)
_ROLL, _AVG1, _AVG3, _SPC = (-11, 0), (-12, -1), (-36, -1), (-35, 0)
_BASE = "baseline"
WINDOWS: dict[str, tuple[Any, ...]] = {
    "current": (_CUR,), "current_num": (_CUR,), "current_den": (_CUR,), "rate_per_1000_month": (_CUR,),
    "prev_1y": (_P1,), "prev_2y": (_P2,), "prev_3y": (_P3,),
    "rolling_12m": (_ROLL,), "rate_per_1000": (_ROLL,), "rate_ci_low": (_ROLL,), "rate_ci_high": (_ROLL,),
    "label_national": (_ROLL,), "p_value_national": (_ROLL,), "rolling_12m_num": (_ROLL,),
    "rolling_12m_den": (_ROLL,), "force_rank": (_ROLL,), "force_rank_of": (_ROLL,),
    "baseline": (_BASE,), "avg_1y": (_AVG1,), "avg_3y": (_AVG3,),
    **{f"{k}": (_ROLL, _BASE) for k in ("label", "p_value", "estimate", "ci_low", "ci_high", "change_baseline")},
    **{f"{k}_1y": (_CUR, _AVG1) for k in ("label", "p_value", "estimate", "ci_low", "ci_high")},
    "change_avg_1y": (_CUR, _AVG1),
    **{f"{k}_3y": (_CUR, _AVG3) for k in ("label", "p_value", "estimate", "ci_low", "ci_high")},
    "change_avg_3y": (_CUR, _AVG3),
    **{f"{k}_prev_1y": (_CUR, _P1) for k in ("label", "p_value", "estimate", "ci_low", "ci_high")},
    "change_prev_1y": (_CUR, _P1),
    **dict.fromkeys(("spc_variation", "spc_rules", "spc_mean", "spc_lcl", "spc_ucl", "spc_points"), (_SPC,)),
    **dict.fromkeys(("history_months", "history_from", "rank_low", "rank_high"), (_ALL,)),
    # the tests' names, q-values and expectations go with the test they describe
    "test": (_ROLL, _BASE), "q_value": (_ROLL, _BASE),
    "test_1y": (_CUR, _AVG1), "q_value_1y": (_CUR, _AVG1), "expectation": (_CUR, _AVG1),
    "test_3y": (_CUR, _AVG3), "q_value_3y": (_CUR, _AVG3),
    "test_prev_1y": (_CUR, _P1), "test_national": (_ROLL,),
    "expected_1y": (_AVG1,), "expected_3y": (_AVG3,),
    # φ is estimated over the 36 months to the pack month, as the SPC limits are
    "dispersion": (_SPC,),
    "current_ci_low": (_CUR,), "current_ci_high": (_CUR,),
    "rolling_12m_ci_low": (_ROLL,), "rolling_12m_ci_high": (_ROLL,),
}
#: withheld columns a reader sees a mark in ("<5" or "[c]"); other withheld columns are empty
MARKED = {
    "current", "prev_1y", "prev_2y", "prev_3y", "avg_1y", "avg_3y", "rolling_12m", "baseline",
    "label", "label_1y", "label_3y", "label_prev_1y", "label_national", "rate_per_1000", "rate_per_1000_month",
    "spc_variation",
}
#: columns that describe a row, not a figure from its months (never withheld)
PLAIN = {
    "indicator", "area", "area_level", "month", "title", "group", "force", "area_code", "measure",
    "baseline_period", "change_unit", "avg_1y_months", "avg_3y_months", "direction", "unit", "generated_data",
    "maturity", "population", "sentence", "suppressed", "suppressed_columns",
    "national_forces_rolling_12m", "national_rate_per_1000", "national_forces_current_num",
    "national_rate_per_1000_month", "regional_forces_rolling_12m", "regional_rate_per_1000",
    "regional_forces_current_num", "regional_rate_per_1000_month",
}


class _Windows:
    """Kinds of a row's months with O(1) look-ups of "any primary / any secondary in a span"."""

    def __init__(self, row_kinds: np.ndarray) -> None:
        self.n = len(row_kinds)
        self.p = np.concatenate([[0], np.cumsum(row_kinds == PRIMARY)])
        self.s = np.concatenate([[0], np.cumsum(row_kinds == SECONDARY)])

    def kind(self, lo: int, hi: int) -> int:
        lo, hi = max(lo, 0), min(hi, self.n - 1)
        if hi < lo:
            return 0
        if self.p[hi + 1] - self.p[lo]:
            return PRIMARY
        return SECONDARY if self.s[hi + 1] - self.s[lo] else 0


def _public_pack_model(release: Release, month: str) -> dict[str, Any]:
    from thrv.indicators.pack import build_pack, parse_month
    from thrv.report.model import pack_model

    when = parse_month(month)
    published = _Published(release)
    # labels by p here; q-values (and labels by q) follow once the withheld p-values are out
    pack = build_pack(None, when, levels=PUBLIC_LEVELS, options=replace(release.options, fdr=False),
                      inputs=release.inputs, publish=published)
    pack = replace(pack, peers=_shown_peers(pack.peers, published, when))
    model = pack_model(pack)
    # similar-area rates pool districts and forces outside the tables decided here: not published
    model.pop("similar", None)
    _mask(model, published, release.rule, when, release.options)
    _q_values(model["rows"], release.options)
    return model


def _shown_peers(peers: pd.DataFrame, published: _Published, when: dt.date) -> pd.DataFrame:
    """The forces' rolling 12 months behind the funnels: only those published in full.

    They come from the published figures already (a withheld month leaves the rolling 12
    months empty); this keeps a funnel from ever pooling a withheld one.
    """
    if peers is None or peers.empty:
        return peers
    c = published.months.index(f"{when:%Y-%m}")
    keep = []
    for ind, force in zip(peers["indicator"], peers["force"], strict=True):
        rk = published.kinds.get((str(ind), "force", str(force), str(force)))
        keep.append(rk is None or not rk[max(c - 11, 0):c + 1].any())
    return peers[np.array(keep, dtype=bool)].reset_index(drop=True)


def _q_values(rows: list[dict[str, Any]], options: CompareOptions) -> None:
    """Benjamini–Hochberg q-values over the p-values shown (every level of the month), so a
    q-value follows from published p-values alone; with ``options.fdr`` labels follow them."""
    from thrv.indicators.compare import LABEL_SUFFIXES, SIGNIFICANT
    from thrv.stats.fdr import bh_qvalues

    def p_of(row: dict[str, Any], suffix: str) -> float:
        v = row.get(f"p_value{suffix}")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan

    present = [x for x in LABEL_SUFFIXES if any(f"q_value{x}" in r for r in rows)]
    if not present or not rows:
        return
    q = bh_qvalues(np.array([p_of(r, x) for x in present for r in rows]))
    n = len(rows)
    for k, suffix in enumerate(present):
        for row, qv in zip(rows, q[k * n:(k + 1) * n], strict=True):
            if f"q_value{suffix}" not in row:
                continue
            row[f"q_value{suffix}"] = None if math.isnan(qv) else float(qv)
            if options.fdr and row.get(f"label{suffix}") in SIGNIFICANT and not qv < options.alpha:
                row[f"label{suffix}"] = "Comparable"


def _mask(model: dict[str, Any], published: _Published, rule: DisclosureRule, when: dt.date, options: CompareOptions) -> None:
    """Withhold every figure with a withheld input; mark cells; rebuild affected sentences."""
    from thrv.report.narrative import sentence

    months = published.months
    c = months.index(f"{when:%Y-%m}")
    b_end = baseline_end_for(when, options)
    cb = c + month_index(b_end) - month_index(when)
    windows = {"baseline": (cb - 11, cb)}
    nouns = {i["id"]: i.get("noun", "records") for i in model["indicators"]}
    alpha = float(model["meta"].get("alpha", 0.05))
    counts = {"primary": 0, "secondary": 0}
    for row in model["rows"]:
        key = (row["indicator"], row["area_level"], row["force"], row["area"])
        rk = published.kinds.get(key)
        hidden: dict[str, int] = {}
        if rk is not None and rk.any():
            win = _Windows(rk)
            by_span: dict[Any, int] = {}
            for col in list(row):
                if col in PLAIN:
                    continue
                kind = 0
                for span in WINDOWS.get(col, (_ALL,)):
                    if span not in by_span:
                        lo, hi = windows[span] if span == _BASE else (c + span[0], c + span[1])
                        by_span[span] = win.kind(lo, hi)
                    k = by_span[span]
                    kind = PRIMARY if PRIMARY in (kind, k) else max(kind, k)
                if kind:
                    hidden[col] = kind
        if rule.rounded and row.get("measure") in {"median", "p90"}:
            row["current_num"] = None  # the number behind a median is an exact count
        measure = row.get("measure")
        for col, kind in hidden.items():
            small_count = measure == "count" and col in {"current", "prev_1y", "prev_2y", "prev_3y"} and kind == PRIMARY
            row[col] = rule.marker if small_count else SECONDARY_MARKER if col in MARKED else None
        if "current" in hidden:  # this month's cells withheld, by kind
            counts[KIND_NAMES[hidden["current"]]] += 1
        row["suppressed"] = (KIND_NAMES[PRIMARY] if PRIMARY in hidden.values()
                             else KIND_NAMES[SECONDARY] if hidden else "")
        row["suppressed_columns"] = "; ".join(f"{k}:{KIND_NAMES[v]}" for k, v in hidden.items())
        if hidden:
            row["sentence"] = _sentence(row, hidden, rule, sentence, alpha, nouns.get(row["indicator"], "records"))
    for key, points in model.get("series", {}).items():
        indicator, level, force, area = key.split("|", 3)
        rk = published.kinds.get((indicator, level, force, area))
        if rk is None:
            continue
        col_of = {m: j for j, m in enumerate(months)}
        for p in points:
            j = col_of.get(p["month"])
            if j is not None and rk[j]:
                p["value"] = None
                p["suppressed"] = KIND_NAMES[int(rk[j])]
    model["meta"]["levels"] = list(PUBLIC_LEVELS)
    model["meta"]["disclosure"] = {
        "rule": rule.rule,
        "threshold": rule.limit,
        "marker": rule.marker,
        "markers": {"primary": rule.marker, "secondary": SECONDARY_MARKER},
        "legend": rule.legend(),
        "suppressed_primary": counts["primary"],
        "suppressed_secondary": counts["secondary"],
        "rounded": rule.rounded,
        "dropped": ["LSOA rows"] + (["the number of values behind medians"] if rule.rounded else []),
        "method": "docs/disclosure.md",
    }


def _sentence(row: dict[str, Any], hidden: Mapping[str, int], rule: DisclosureRule, sentence: Any,
              alpha: float, noun: str) -> str:
    from thrv.report.narrative import month_name

    prefix = "(Generated data) " if row.get("generated_data") else ""
    title = row.get("title", row["indicator"])
    if "current" in hidden:
        why = (f"it is a small number (fewer than {rule.limit})" if hidden["current"] == PRIMARY and row.get("measure") == "count"
               else "it involves a small number" if hidden["current"] == PRIMARY
               else "a small number elsewhere could otherwise be worked out from it")
        return f"{prefix}{title}: the figure for {row['area']} in {month_name(row['month'])} is not published: {why}."
    masked = {k: (None if k in hidden else v) for k, v in row.items()}
    text: str = sentence(masked, title, row.get("measure", "count"), alpha, noun)
    return prefix + text


def public_view(
    release: Release,
    month: str,
    area: str | None = None,
    indicator: str | None = None,
    level: str | None = None,
) -> dict[str, Any]:
    """A view cut from the release's public model of ``month`` (slicing only, no new decision).

    ``area``: a force (its rows at every level), an area (the area and its districts) or a
    district; ``indicator``: one indicator id; ``level``: force, area or district.
    """
    model = release.model(month)
    rows = model["rows"]
    meta = dict(model["meta"])
    if area:
        wanted = area.strip().lower()
        forces = {r["force"] for r in rows if r["area_level"] == "force" and r["area"].lower() == wanted}
        if forces:
            rows = [r for r in rows if r["force"] in forces]
        else:
            areas = {(r["force"], r["area"]) for r in rows if r["area_level"] == "area" and r["area"].lower() == wanted}
            districts = {(d["force"], d["district"]) for d in meta.get("area_districts", [])
                         if (d["force"], d["area"]) in areas}
            rows = [r for r in rows if (r["area_level"] == "area" and (r["force"], r["area"]) in areas)
                    or (r["area_level"] == "district" and ((r["force"], r["area"]) in districts or r["area"].lower() == wanted))]
            if rows:
                meta["area"] = next(r["area"] for r in rows if r["area"].lower() == wanted)
        if not rows:
            raise ValueError(f"no area called {area!r} in the public pack for {month}")
    if indicator:
        rows = [r for r in rows if r["indicator"] == indicator]
        if not rows:
            raise ValueError(f"no indicator {indicator!r} in the public pack for {month}")
    if level:
        rows = [r for r in rows if r["area_level"] == level]
    keys = {f"{r['indicator']}|{r['area_level']}|{r['force']}|{r['area']}" for r in rows}
    ids = {r["indicator"] for r in rows}
    return {**model, "meta": meta, "rows": rows,
            "series": {k: v for k, v in model.get("series", {}).items() if k in keys},
            "indicators": [i for i in model["indicators"] if i["id"] in ids]}


def public_pack(
    store: Any,
    month: str,
    rule: DisclosureRule | None = None,
    area: str | None = None,
    levels: Iterable[str] | None = None,
    indicator_files: Iterable[Any] | None = None,
    areas_file: Any = None,
    options: CompareOptions | None = None,
) -> dict[str, Any]:
    """The public pack model of one month from an open store: a view of the release.

    ``area`` and ``levels`` narrow the view (LSOA rows are never published).
    """
    release = build_release(store, rule, indicator_files, areas_file, options)
    model = public_view(release, month, area)
    if levels is not None:
        wanted = set(levels) & set(PUBLIC_LEVELS)
        rows = [r for r in model["rows"] if r["area_level"] in wanted]
        keys = {f"{r['indicator']}|{r['area_level']}|{r['force']}|{r['area']}" for r in rows}
        model = {**model, "rows": rows, "series": {k: v for k, v in model["series"].items() if k in keys}}
    return model


def is_marker(value: Any) -> bool:
    return isinstance(value, str) and (value == SECONDARY_MARKER or (value.startswith("<") and value[1:].isdigit()))


def csv_rows(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows for pack.csv: a withheld cell is empty (its kind is in ``suppressed_columns``)."""
    return [{k: (None if is_marker(v) else v) for k, v in r.items()} for r in model["rows"]]


def secondary_suppression(cells: Mapping[Any, float], relations: Iterable[tuple[Any, list[Any]]], primary: Iterable[Any],
                          rule: DisclosureRule | None = None) -> set[Any]:
    """Withheld cells for any small table of counts: ``cells`` by key, ``relations`` as
    (total, parts) with total = sum(parts), ``primary`` the small cells. Decided by the same
    engine as the packs (every primary cell keeps 1 to limit-1, no withheld cell pinned),
    against exact published values."""
    rule = rule or DisclosureRule()
    keys = list(cells)
    index = {k: i for i, k in enumerate(keys)}
    rels = []
    for total, parts in relations:
        ps = [index[p] for p in parts if p in index]
        if total in index and ps:
            rels.append(Relation(index[total], ps, float(cells[total]) - sum(float(cells[p]) for p in parts if p in index), "family"))
    n = len(keys)
    table = Table([(str(k), "") for k in keys], np.array([float(cells[k]) for k in keys]), np.zeros(n, dtype=int),
                  np.zeros(n, dtype=int), np.arange(n), rels, np.ones(n))
    limit = max([rule.limit, *(int(cells[k]) + 1 for k in primary)])
    dec = decide(table, limit, False)
    return {k for k, s in zip(keys, dec.status, strict=True) if s != PUBLISHED}


def public_model(model: dict[str, Any], rule: DisclosureRule | None = None) -> dict[str, Any]:
    """Superseded single-month view (decides from one model alone): use :func:`public_view`."""
    from thrv.report.single_month import public_model as single

    return single(model, rule)
