"""The measured likelihood inputs of each priority theme, from the other sections.

Kept apart from :mod:`thrv.assess.priorities` (which only scores and ranks) so that the
ranking can be checked on a worked example with given inputs, and the inputs can be
checked against the sections they come from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from thrv.assess.config import AssessConfig
from thrv.assess.harm import HarmScheme
from thrv.assess.priorities import Matrix, Measure, Theme
from thrv.assess.text import pct, q_text
from thrv.assess.trends import SeriesSet
from thrv.stats import benjamini_hochberg, poisson_trend_test
from thrv.stats.concentration import generalised_gini


def _trend(series: SeriesSet, types: Sequence[str]) -> tuple[float | None, float | None, str]:
    keys = series.keys
    rows = keys.index[(keys["level"] == "scope") & keys["theme"].isin(list(types))].to_numpy()
    mask = series.in_period & series.held
    y = series.counts[np.ix_(rows, np.flatnonzero(mask))].sum(axis=0)
    months = [m for m, ok in zip(series.months, mask, strict=True) if ok]
    res = poisson_trend_test(y, np.array(months, dtype="datetime64[M]"))
    return res.estimate, res.p_value, res.note


def theme_measures(
    matrix: Matrix,
    by_type: pd.DataFrame,
    series: SeriesSet,
    lsoa_types: pd.DataFrame,
    schemes: Sequence[HarmScheme],
    vulnerability: Mapping[str, Any],
    config: AssessConfig,
) -> tuple[dict[str, dict[str, Measure]], dict[str, dict[str, dict[str, Measure]]], list[dict[str, str]]]:
    """Measures per theme, harm measures per scheme (for one-scheme rankings), and the themes
    that cannot be assessed with the reason.

    ``lsoa_types``: crime counts per LSOA (rows, zeros included) and crime type (columns).
    """
    total_records = float(by_type["records"].sum())
    harm_totals = {s.key: float(by_type[f"harm_{s.key}"].sum()) for s in schemes}
    flags = {r["flag"]: r for r in vulnerability.get("flags", [])} if vulnerability.get("available") else {}
    vuln_types = pd.DataFrame(vulnerability.get("by_crime_type", [])) if vulnerability.get("available") else pd.DataFrame()
    raw: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    trend_p: dict[str, float | None] = {}
    for theme in matrix.themes:
        if theme.flag:
            if theme.flag not in flags:
                skipped.append({"theme": theme.name, "reason": f"needs the '{theme.flag}' flag of a force extract; "
                                "data.police.uk does not publish it"})
                continue
            raw[theme.name] = _flag_theme(flags[theme.flag])
            trend_p[theme.name] = flags[theme.flag].get("trend_p")
            continue
        raw[theme.name] = _type_theme(theme, by_type, total_records, harm_totals, schemes, lsoa_types, vuln_types)
        est, p, note = _trend(series, theme.crime_types)
        raw[theme.name]["trend"] = {"value": est, "p": p, "note": note}
        trend_p[theme.name] = p
    names = list(trend_p)
    q = benjamini_hochberg(np.array([np.nan if trend_p[n] is None else trend_p[n] for n in names], dtype=float))
    qs = dict(zip(names, q, strict=True))
    measures: dict[str, dict[str, Measure]] = {}
    per_scheme: dict[str, dict[str, dict[str, Measure]]] = {s.key: {} for s in schemes}
    for name, values in raw.items():
        ms: dict[str, Measure] = {}
        for k, v in values.items():
            if k == "harm_by_scheme":
                continue
            if k == "trend":
                tq = qs.get(name)
                tq = None if tq is None or np.isnan(tq) else float(tq)
                value = v["value"]
                detail = (f"{pct(value, 1, True)} a year ({q_text(tq)})" if value is not None and tq is not None
                          else f"not available ({v.get('note') or 'too few months'})")
                ms[k] = Measure(value, matrix.rules[k].score(value, tq, config.fdr_alpha), detail, tq)
            else:
                ms[k] = Measure(v["value"], matrix.rules[k].score(v["value"]), v["detail"])
        measures[name] = ms
        for key, (value, detail) in values.get("harm_by_scheme", {}).items():
            per_scheme[key][name] = {"harm": Measure(value, matrix.rules["harm"].score(value), detail)}
    return measures, per_scheme, skipped


def _type_theme(theme: Theme, by_type: pd.DataFrame, total_records: float, harm_totals: Mapping[str, float],
                schemes: Sequence[HarmScheme], lsoa_types: pd.DataFrame, vuln_types: pd.DataFrame) -> dict[str, Any]:
    rows = by_type[by_type["crime_type"].isin(theme.crime_types)]
    records = float(rows["records"].sum())
    volume = records / total_records * 100 if total_records else None
    shares = {s.key: float(rows[f"harm_{s.key}"].sum()) / harm_totals[s.key] * 100 if harm_totals[s.key] else None
              for s in schemes}
    present = [v for v in shares.values() if v is not None]
    harm = float(np.mean(present)) if present else None
    detail = f"{pct(harm, 1)} of harm (" + ", ".join(f"{k.upper()} {pct(v, 1)}" for k, v in shares.items()) + ")"
    out: dict[str, Any] = {
        "volume": {"value": volume, "detail": f"{pct(volume, 1)} of records ({int(records):,})"},
        "harm": {"value": harm, "detail": detail},
        "harm_by_scheme": {k: (v, f"{pct(v, 1)} of {k.upper()} harm") for k, v in shares.items()},
    }
    cols = [t for t in theme.crime_types if t in lsoa_types.columns]
    if cols and lsoa_types[cols].to_numpy().sum() > 0:
        g = generalised_gini(lsoa_types[cols].sum(axis=1).to_numpy(float))
        out["concentration"] = {"value": g, "detail": f"generalised Gini {g:.2f} over {len(lsoa_types)} LSOAs"}
    if not vuln_types.empty:
        v = vuln_types[vuln_types["crime_type"].isin(theme.crime_types)]
        if len(v) and v["crimes"].sum() > 0:
            share = float(v["vulnerable"].sum() / v["crimes"].sum() * 100)
            out["vulnerability"] = {"value": share, "detail": f"{pct(share, 1)} with a vulnerable victim"}
    return out


def _flag_theme(flag: Mapping[str, Any]) -> dict[str, Any]:
    share = flag.get("share_pct")
    out: dict[str, Any] = {
        "volume": {"value": share, "detail": f"{pct(share, 1)} of force-recorded crimes ({flag.get('crimes', 0):,})"},
        "trend": {"value": flag.get("trend_pct_per_year"), "p": flag.get("trend_p"), "note": flag.get("trend_note", "")},
    }
    shares = {k: v for k, v in (flag.get("harm_share_pct") or {}).items() if v is not None}
    if shares:
        harm = float(np.mean(list(shares.values())))
        out["harm"] = {"value": harm, "detail": f"{pct(harm, 1)} of force-recorded harm ("
                       + ", ".join(f"{k.upper()} {pct(v, 1)}" for k, v in shares.items()) + ")"}
        out["harm_by_scheme"] = {k: (v, f"{pct(v, 1)} of {k.upper()} force-recorded harm") for k, v in shares.items()}
    return out


def lsoa_type_matrix(records: pd.DataFrame, lsoa_ids: Sequence[str]) -> pd.DataFrame:
    """Crimes per LSOA (rows, zeros included) and crime type (columns) in the period."""
    r = records[records["lsoa21_code"].isin(list(lsoa_ids))]
    wide = r.pivot_table(index="lsoa21_code", columns="crime_type", values="n", aggfunc="sum", fill_value=0)
    return wide.reindex(index=list(lsoa_ids), fill_value=0)


def months_text(months: Sequence[dt.date]) -> list[str]:
    return [m.strftime("%Y-%m") for m in months]
