"""Every plan indicator resolved to its figures for one month: the pack's, a measure's or a survey split.

Nothing is recomputed that the pack computes: a thrv indicator's row is the pack's row
(:func:`thrv.indicators.pack.build_pack`, with the sentence of
:func:`thrv.report.model.pack_rows`). Generic measures and survey splits by crime type go
through the pack's comparison engine (:mod:`thrv.plan.series`) or, for measures reported
by quarter, year or snapshot, period against period (:mod:`thrv.plan.measures`). Then each
indicator gets its headline figure (as the plan asks: the month, the rolling 12 months or
the latest period), its target status and its comparator or benchmark test.

An indicator that cannot be resolved (an unknown id, a measure with no rows for the area,
a split of a non-survey indicator) is kept with ``resolved = False`` and a ``problem``, and
listed in ``unresolved``: the plan still renders, and ``thrv plan`` exits 1.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from thrv.indicators.compare import CompareOptions
from thrv.indicators.definitions import DEFAULT_INDICATORS, DEMAND_INDICATORS, Indicator
from thrv.indicators.hierarchy import build_hierarchy
from thrv.indicators.pack import Pack, build_pack
from thrv.plan import measures as msr
from thrv.plan.series import MonthlySeries, series_table
from thrv.plan.spec import Plan, PlanError, PlanIndicator, Target
from thrv.plan.surveys import ALL_VICTIMS, survey_by_crime_type
from thrv.reference import force_by_name
from thrv.report.model import pack_rows
from thrv.report.narrative import format_p, month_name, sentence

#: the columns of a figure row that reports and plan.json carry (the pack's seed format first)
ROW_FIELDS = [
    "month", "current", "current_num", "current_den", "prev_1y", "prev_2y", "prev_3y",
    "avg_1y", "avg_3y", "rolling_12m", "rolling_12m_num", "rolling_12m_den", "baseline",
    "baseline_period", "change_unit", "change_prev_1y", "change_avg_1y", "change_avg_3y",
    "change_baseline", "label", "test", "p_value", "label_1y", "test_1y", "p_value_1y",
    "label_3y", "test_3y", "p_value_3y", "label_prev_1y", "p_value_prev_1y",
    "current_ci_low", "current_ci_high", "rolling_12m_ci_low", "rolling_12m_ci_high",
    "spc_variation", "spc_mean", "spc_lcl", "spc_ucl", "history_months", "history_from",
    "rank_low", "rank_high", "series_max", "series_max_month",
    "period_type", "period_label", "period_end", "previous", "previous_label", "prev_1y_label",
    "label_previous", "p_value_previous", "test_previous", "label_against",
]


@dataclass
class PlanFigures:
    """A plan's indicators with their figures for one month and area."""

    plan: Plan
    month: dt.date
    area: str
    level: str
    force: str
    options: CompareOptions
    rows: dict[str, dict[str, Any]]
    splits: dict[str, list[dict[str, Any]]]
    unresolved: list[dict[str, str]]
    pack: Pack
    #: where generated figures come from: tables of generated extracts, "measures feed"
    generated_sources: list[str] = field(default_factory=list)
    generated_indicators: int = 0

    def source_of(self, key: str) -> str:
        """Where a row's figures come from, as the generated-data banner names it."""
        return _generated_source(self.rows[key])


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _clean(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (dt.date, pd.Timestamp)):
        return v.isoformat()[:10]
    return v


def indicator_files(plan: Plan) -> list[Any] | None:
    """The pack's own indicator files plus the plan's (None: the pack's defaults)."""
    if not plan.indicator_files:
        return None
    return [p for p in (DEFAULT_INDICATORS, DEMAND_INDICATORS) if p.exists()] + list(plan.indicator_files)


def _plan_area(plan: Plan, forces: list[str]) -> str:
    if plan.area:
        return plan.area
    if len(forces) == 1:
        return forces[0]
    raise PlanError([f"{plan.path}: [plan]: the store holds {len(forces)} forces ({', '.join(forces)}); set 'area' to the one the plan covers"])


def build_plan_figures(store: Any, plan: Plan, month: dt.date, options: CompareOptions | None = None) -> PlanFigures:
    """Resolve every indicator of ``plan`` for ``month`` from an open store."""
    options = options or CompareOptions()
    files = indicator_files(plan)
    probe = build_pack(store, month, levels=("force",), indicator_files=files, options=options)
    forces = list(probe.meta["forces_in_store"])
    wanted = _plan_area(plan, forces)
    hierarchy = build_hierarchy(forces)
    level, force, area = _locate(wanted, hierarchy, forces, plan)
    if level == "force":
        pack = probe
    else:
        pack = build_pack(store, month, area=area, levels=("force", "area", "district"), indicator_files=files, options=options)
    table = pack_rows(pack)
    mine = table[(table["area_level"] == level) & (table["force"] == force) & (table["area"] == area)]
    pack_by_id = {str(r["indicator"]): r for r in _records(mine)}
    districts = hierarchy.districts
    aliases = _aliases(level, force, area, districts)
    con = store.ibis()
    names = {ind.ref for _, ind in plan.all_indicators() if ind.source == "measure"}
    measures = msr.read_measures(con, names)

    rows: dict[str, dict[str, Any]] = {}
    splits: dict[str, list[dict[str, Any]]] = {}
    unresolved: list[dict[str, str]] = []
    monthly: list[tuple[PlanIndicator, MonthlySeries, pd.DataFrame]] = []
    survey_cache: dict[str, tuple[list[MonthlySeries], dict[str, Any]]] = {}
    district_codes = _district_codes(districts, level, force, area)

    for theme, ind in plan.all_indicators():
        base = {"key": ind.key, "theme": theme.name, "source": ind.source, "ref": ind.ref,
                "where": ind.where, "note": ind.note, "resolved": True, "problem": ""}
        if ind.source == "pack":
            definition = pack.indicators.get(ind.ref)
            if definition is None:
                rows[ind.key] = _unresolved(base, ind, _unknown_id(ind.ref, pack), unresolved)
                continue
            if ind.crime_type or ind.by_crime_type:
                if definition.table != "survey_responses":
                    rows[ind.key] = _unresolved(base, ind, f"crime_type / by_crime_type split survey indicators; {ind.ref} is computed from {definition.table}", unresolved)
                    continue
                if ind.ref not in survey_cache:
                    survey_cache[ind.ref] = survey_by_crime_type(con, definition, force, month, options, district_codes)
                series, facts = survey_cache[ind.ref]
                split = _split_rows(series, facts, definition, month, options)
                if ind.by_crime_type:
                    splits[ind.key] = split
                if ind.crime_type:
                    hit = [r for r in split if r["crime_type"].lower() == ind.crime_type.lower()]
                    if not hit:
                        known = ", ".join(facts["crime_types"]) or "none: no survey row links to a recorded crime"
                        rows[ind.key] = _unresolved(base, ind, f"no {ind.ref} responses from victims of {ind.crime_type!r} in the store; crime types found: {known}", unresolved)
                        continue
                    row = dict(hit[0])
                    row.update(base)
                    row["title"] = ind.title or f"{definition.title}: {ind.crime_type} victims"
                    row.update(_definition_fields(definition))
                    row["generated_data"] = bool(facts["generated"])
                    row["survey_split"] = True
                    rows[ind.key] = row
                    continue
            pack_row = pack_by_id.get(ind.ref)
            if pack_row is None:
                rows[ind.key] = _unresolved(base, ind, f"{ind.ref} has no figures for {area} in {month:%Y-%m}: the store holds no {definition.table} rows for it", unresolved)
                continue
            row = {k: pack_row.get(k) for k in ROW_FIELDS if k in pack_row}
            row.update(base)
            row.update(_definition_fields(definition))
            row["title"] = ind.title or definition.title
            row["sentence"] = pack_row.get("sentence", "")
            row["generated_data"] = bool(pack_row.get("generated_data"))
            row["history"] = _pack_history(pack, ind.ref, level, force, area)
            row["monthly"] = True
            rows[ind.key] = row
        else:
            found = msr.rows_for_area(measures, ind.ref, {msr.squash(ind.area)} if ind.area else aliases)
            if found.empty:
                rows[ind.key] = _unresolved(base, ind, _missing_measure(ind, measures, area), unresolved)
                continue
            direction = msr.direction_of(found, ind.direction)
            kind, mixed = msr.choose_period_type(found, month)
            if not kind:
                first = min(found["period_end"])
                rows[ind.key] = _unresolved(base, ind, f"measure {ind.ref!r} has no period ending by {month:%Y-%m} (its first ends {first:%Y-%m-%d})", unresolved)
                continue
            unit = _latest(found, "unit")
            row = {**base, "title": ind.title or _humanise(ind.ref), "unit": unit or "",
                   "direction": direction, "noun": ind.noun or _noun(unit), "generated_data": bool(found["generated"].fillna(False).any())}
            if kind == "month":
                upto = found[found["period_type"] == "month"]
                monthly.append((ind, msr.monthly_series(ind.key, upto, direction), upto))
                row["note"] = "; ".join(x for x in (ind.note, mixed) if x)
                row["monthly"] = True
            else:
                figures = msr.period_figures(found, month, direction, options)
                latest = figures.pop("comparator_row")
                row.update(figures)
                row["note"] = "; ".join(x for x in (ind.note, figures.get("note", "")) if x)
                row["monthly"] = False
                row["data_comparator"] = _row_comparator(latest)
            rows[ind.key] = row

    if monthly:
        table_m = series_table([s for _, s, _ in monthly], month, options)
        for (ind, s, upto), rec in zip(monthly, _records(table_m), strict=True):
            row = rows[ind.key]
            row.update({k: rec.get(k) for k in ROW_FIELDS if k in rec})
            row["figure_type"] = s.figure_type
            row["measure"] = "proportion" if s.figure_type == "proportion" else "count"
            row["history"] = rec["history"]
            end = upto[upto["month"] <= month]
            row["data_comparator"] = _row_comparator(end.iloc[-1]) if not end.empty else None
            row["sentence"] = ""

    for _theme, ind in plan.all_indicators():
        row = rows[ind.key]
        if not row.get("resolved"):
            continue
        _finish(row, ind, options, month)

    generated = sorted({_generated_source(r) for r in rows.values() if r.get("generated_data")})
    n_generated = sum(1 for r in rows.values() if r.get("generated_data"))
    return PlanFigures(plan, month, area, level, force, options, {k: _json_row(v) for k, v in rows.items()},
                       {k: [_json_row(r) for r in v] for k, v in splits.items()}, unresolved, pack, generated, n_generated)


def _generated_source(row: dict[str, Any]) -> str:
    if row.get("survey_split"):
        return "survey responses linked to force crimes"
    if row.get("source") == "measure":
        return "measures feed"
    return str(row.get("table") or "extracts").replace("_", " ")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    plain = frame.astype(object).where(frame.notna(), None)
    return [{str(k): _clean(v) for k, v in r.items()} for r in plain.to_dict("records")]


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (_json_row(v) if isinstance(v, dict) else v if isinstance(v, list) else _clean(v)) for k, v in row.items()}


def _locate(name: str, hierarchy: Any, forces: list[str], plan: Plan) -> tuple[str, str, str]:
    """(level, force, area name as stored) for the plan's area."""
    from thrv.indicators.hierarchy import AreaError
    from thrv.indicators.pack import resolve_area

    try:
        return resolve_area(name, hierarchy, forces)
    except AreaError as exc:
        raise PlanError([f"{plan.path}: [plan]: area: {exc}".replace("--area ", "")]) from exc


def _aliases(level: str, force: str, area: str, districts: pd.DataFrame) -> set[str]:
    """The names and codes a measures feed may use for the plan's area."""
    names = {area}
    if level == "force":
        found = force_by_name(force)
        if found:
            names |= {found.name, found.slug, found.pfa_code, found.pfa_name}
    elif level == "district":
        names |= set(districts.loc[(districts["force"] == force) & (districts["district"] == area), "district_code"])
    return {msr.squash(n) for n in names if n}


def _district_codes(districts: pd.DataFrame, level: str, force: str, area: str) -> list[str] | None:
    """The districts whose survey rows count for an area or district plan (None: the force)."""
    if level == "force":
        return None
    mine = districts[districts["force"] == force]
    hit = mine[mine["area"] == area] if level == "area" else mine[mine["district"] == area]
    return sorted(hit["district_code"])


def _definition_fields(d: Indicator) -> dict[str, Any]:
    return {"measure": d.measure, "figure_type": "proportion" if d.measure == "proportion" else d.measure,
            "direction": d.direction, "unit": d.unit, "noun": d.noun, "table": d.table, "group": d.group}


def _unresolved(base: dict[str, Any], ind: PlanIndicator, problem: str, out: list[dict[str, str]]) -> dict[str, Any]:
    out.append({"theme": base["theme"], "key": ind.key, "ref": ind.ref, "where": ind.where, "problem": problem})
    return {**base, "title": ind.title or ind.ref, "resolved": False, "problem": problem}


def _unknown_id(ref: str, pack: Pack) -> str:
    close = difflib.get_close_matches(ref, list(pack.indicators), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown indicator id {ref!r} (not in indicators.toml, demand_indicators.toml or the plan's indicator_files){hint}"


def _missing_measure(ind: PlanIndicator, measures: pd.DataFrame, area: str) -> str:
    if measures.empty or ind.ref not in set(measures["measure"]):
        return f"measure {ind.ref!r} is not in the store (ingest a measures file that has it)"
    rows = measures[measures["measure"] == ind.ref]
    names: dict[str, str] = {}
    for key, name in zip(rows["area_key"], rows["area"].fillna(""), strict=True):
        names.setdefault(key, name)
    areas = sorted(f"{k} ({n})" if n and n != k else k for k, n in names.items())
    return (f"measure {ind.ref!r} has no rows for {ind.area or area}; it has rows for: {', '.join(areas)} "
            "(give the indicator an 'area' to report another area's figures)")


def _latest(rows: pd.DataFrame, column: str) -> str:
    values = [v for v in rows.sort_values("period_end")[column].fillna("") if v]
    return str(values[-1]) if values else ""


def _humanise(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _noun(unit: str | None) -> str:
    if not unit or unit in {"count", "%"}:
        return "" if unit == "%" else "records"
    return unit


def _pack_history(pack: Pack, ref: str, level: str, force: str, area: str) -> list[dict[str, Any]]:
    h = pack.history
    mine = h[(h["indicator"] == ref) & (h["level"] == level) & (h["force"] == force) & (h["area"] == area)]
    return [{"month": m, "value": _clean(float(v))} for m, v in zip(mine["month"], mine["value"], strict=True)]


def _row_comparator(row: pd.Series) -> dict[str, Any] | None:
    value = row.get("comparator_value")
    if not _finite(value):
        return None
    return {"name": str(row.get("comparator") or "comparator"), "value": float(str(value)), "period": str(row.get("period_label", ""))}


def _split_rows(series: list[MonthlySeries], facts: dict[str, Any], definition: Indicator, month: dt.date, options: CompareOptions) -> list[dict[str, Any]]:
    """The split's rows (all respondents first), each with the pack's columns, n and a test against the others."""
    if not series:
        return []
    table = series_table(series, month, options)
    out = []
    records = _records(table)
    total = records[0]
    from thrv.stats import classify, two_proportion_test

    for s, rec in zip(series, records, strict=True):
        crime_type = s.key.split("|", 1)[1]
        row = {k: rec.get(k) for k in ROW_FIELDS if k in rec}
        row.update({"crime_type": crime_type, "history": rec["history"], "measure": "proportion", "figure_type": "proportion",
                    "direction": definition.direction, "unit": "%", "monthly": True, "resolved": True})
        row["sentence"] = sentence(row, f"{definition.title} ({crime_type})", "proportion", options.alpha)
        # this crime type's 12 months against every other respondent's
        if crime_type != ALL_VICTIMS and _finite(rec.get("rolling_12m_den")) and _finite(total.get("rolling_12m_den")):
            x1, n1 = rec["rolling_12m_num"], rec["rolling_12m_den"]
            x2, n2 = total["rolling_12m_num"] - x1, total["rolling_12m_den"] - n1
            if n1 > 0 and n2 > 0:
                res = two_proportion_test(x1, n1, x2, n2, options.confidence)
                row["label_vs_others"] = msr.against_word(classify(res, definition.direction, options.alpha))  # type: ignore[arg-type]
                row["p_value_vs_others"] = res.p_value
                row["others_12m"] = 100.0 * x2 / n2
                row["others_12m_n"] = n2
        out.append(row)
    return out


# -- headline, target, comparators, sentences --------------------------------------------------


def _headline(row: dict[str, Any], ind: PlanIndicator) -> dict[str, Any]:
    monthly = bool(row.get("monthly"))
    figure = ind.figure or ("rolling_12m" if monthly else "latest")
    note = ""
    if not monthly and figure != "latest":
        note = f"a {row.get('period_type')} measure has one figure per period: its latest is shown"
        figure = "latest"
    if monthly and figure == "latest":
        figure = "month"
    if figure == "rolling_12m":
        return {"figure": figure, "value": row.get("rolling_12m"), "label": row.get("label"), "p_value": row.get("p_value"),
                "num": row.get("rolling_12m_num"), "den": row.get("rolling_12m_den"),
                "period": f"12 months to {month_name(str(row.get('month')))}" if row.get("month") else "",
                "against": f"baseline ({row.get('baseline_period')})", "note": note}
    if figure == "month":
        return {"figure": figure, "value": row.get("current"), "label": row.get("label_1y"), "p_value": row.get("p_value_1y"),
                "num": row.get("current_num"), "den": row.get("current_den"),
                "period": month_name(str(row.get("month"))) if row.get("month") else "",
                "against": "1-year monthly average", "note": note}
    return {"figure": "latest", "value": row.get("current"), "label": row.get("label"), "p_value": row.get("p_value"),
            "num": row.get("current_num"), "den": row.get("current_den"), "period": row.get("period_label", ""),
            "against": row.get("label_against") or "", "note": note}


def _figure_value(row: dict[str, Any], figure: str, head: dict[str, Any]) -> Any:
    if figure == head["figure"]:
        return head["value"]
    return {"rolling_12m": row.get("rolling_12m"), "month": row.get("current"), "latest": row.get("current")}[figure]


def _target(row: dict[str, Any], target: Target | None, head: dict[str, Any]) -> dict[str, Any] | None:
    if target is None:
        return None
    rule = target.rule
    if rule is None:
        rule = {"higher_is_better": "at_least", "lower_is_better": "at_most"}.get(str(row.get("direction")))
    figure = target.figure or head["figure"]
    out: dict[str, Any] = {"value": target.value, "rule": rule, "figure": figure, "met": None, "gap": None, "note": ""}
    if rule is None:
        out["note"] = "no rule: the indicator has no better direction; give rule = \"at_least\" or \"at_most\""
        return out
    value = _figure_value(row, figure, head) if row.get("monthly") or figure == "latest" else head["value"]
    if _finite(value):
        v = float(value)
        out["met"] = bool(v >= target.value) if rule == "at_least" else bool(v <= target.value)
        out["gap"] = v - target.value
    else:
        out["note"] = "no figure to judge against the target"
    return out


def _finish(row: dict[str, Any], ind: PlanIndicator, options: CompareOptions, month: dt.date) -> None:
    head = _headline(row, ind)
    row["headline"] = head
    row["target"] = _target(row, ind.target, head)
    figure_type = str(row.get("figure_type") or row.get("measure"))
    direction = str(row.get("direction") or "none")
    comparisons = []
    data_comp = row.pop("data_comparator", None)
    wanted: list[tuple[dict[str, Any] | None, str]] = [(data_comp, "data")]
    if ind.benchmark:
        wanted.append(({"name": ind.benchmark.label, "value": ind.benchmark.value}, "plan"))
    for comp, source in wanted:
        if not comp or not _finite(head["value"]):
            continue
        num, den = head.get("num"), head.get("den")
        result = msr.comparator_result(
            float(head["value"]), num if _finite(num) else None, den if _finite(den) else None,
            figure_type, str(comp["name"]), float(comp["value"]), direction, options, source,
        )
        comparisons.append(result)
    row["comparators"] = comparisons
    if not row.get("sentence"):
        row["sentence"] = _sentence(row, options)
    for comp in comparisons:
        row["sentence"] += " " + _comparator_sentence(row, comp)
    if row.get("generated_data") and not row["sentence"].startswith("(Generated data)"):
        row["sentence"] = "(Generated data) " + row["sentence"]


def _fmt(v: Any, unit: str) -> str:
    if not _finite(v):
        return ""
    v = float(v)
    if unit == "%":
        return f"{v:.1f}%"
    text = f"{v:,.0f}" if v.is_integer() else f"{v:,.1f}"
    return f"{text} {unit}" if unit and unit != "count" else text


def _sentence(row: dict[str, Any], options: CompareOptions) -> str:
    title = str(row.get("title"))
    if row.get("monthly"):
        measure = "proportion" if row.get("figure_type") == "proportion" else "count"
        text = sentence(row, title, measure, options.alpha, str(row.get("noun") or "records"))
        if row.get("figure_type") != "proportion" and _finite(row.get("series_max")) and row.get("history_months", 0) >= 24:
            text += f" The highest month of the {row['history_months']} held (since {month_name(str(row['history_from']))}) is {month_name(str(row['series_max_month']))} ({_fmt(row['series_max'], '')})."
        if row.get("figure_type") == "proportion" and _finite(row.get("rolling_12m_den")):
            text += (f" 12-month n = {row['rolling_12m_den']:,.0f} ({_fmt(row['rolling_12m_ci_low'], '%')} to "
                     f"{_fmt(row['rolling_12m_ci_high'], '%')}, Wilson {options.confidence:.0%} interval).")
        return text
    unit = "%" if row.get("figure_type") == "proportion" else str(row.get("unit") or "")
    name = msr.period_name(str(row.get("period_type")), str(row.get("period_label")))
    text = f"{title}: {_fmt(row.get('current'), unit)} {'on' if row.get('period_type') == 'date' else 'in'} {name}"
    if row.get("figure_type") == "proportion" and _finite(row.get("current_den")):
        text += f" ({row['current_num']:,.0f} of {row['current_den']:,.0f})"
    said = set()
    for key, label_key, p_key in (("prev_1y", "prev_1y_label", "p_value_prev_1y"), ("previous", "previous_label", "p_value_previous")):
        if _finite(row.get(key)) and row.get(label_key) and row[label_key] not in said:
            said.add(row[label_key])
            diff = float(row["current"]) - float(row[key])
            if row.get("figure_type") == "proportion":
                change = "unchanged" if diff == 0 else f"{'up' if diff > 0 else 'down'} {abs(diff):.1f} percentage points"
            elif float(row[key]) > 0:
                change = "unchanged" if diff == 0 else f"{'up' if diff > 0 else 'down'} {abs(100 * diff / float(row[key])):.1f}%"
            else:
                change = f"against {_fmt(row[key], unit)}"
            earlier = msr.period_name(str(row.get("period_type")), str(row[label_key]))
            text += f", {change} on {earlier} ({_fmt(row[key], unit)})"
            if _finite(row.get(p_key)):
                word = "significant" if float(row[p_key]) < options.alpha else "not significant"
                text += f" ({word}, {format_p(float(row[p_key]))})"
    return text + "."


def _comparator_sentence(row: dict[str, Any], comp: dict[str, Any]) -> str:
    unit = "%" if row.get("figure_type") == "proportion" else str(row.get("unit") or "")
    text = f"Against {comp['name']} ({_fmt(comp['value'], unit)})"
    if comp.get("p_value") is not None:
        word = {"Better": "better", "Worse": "worse", "Higher": "higher", "Lower": "lower", "Similar": "not significantly different"}.get(comp["label"], comp["label"].lower())
        text += f": {word} ({format_p(float(comp['p_value']))}, exact binomial test)."
    else:
        diff = comp.get("difference")
        text += f": a difference of {_fmt(diff, unit)}, shown beside the figure (no test applies)." if _finite(diff) else "."
    return text
