"""MoRiLE-style priorities: impact scores (judgement, as data) × likelihood (measured).

The matrix lives in a TOML file (``src/thrv/data/config/priorities.toml``): weights for the
five impact dimensions and five likelihood measures, the rule that turns each measured
value into a 0–4 score, and per theme (a crime type, several types, or a force-extract
flag) the analysts' impact scores with their rationale.

For each theme: impact I = weighted mean of the dimension scores; likelihood L = weighted
mean of the scores of the measures that could be computed (a measure the data cannot give
is left out and the weights of the rest are used, and the output says so); priority score
= I × L on 0–16, as MoRiLE multiplies impact by likelihood. Ties rank by harm share, then
volume. Every priority carries its inputs, and the ranking is recomputed with each weight
moved by ±``sensitivity`` (and with each harm scheme alone) to show how stable it is.

This follows the structure of the NPCC's MoRiLE (Management of Risk in Law Enforcement)
method; it is not the licensed MoRiLE tool and its default scores are a starting point for
local judgement, not a published standard.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy import stats

IMPACT = ("physical", "psychological", "financial", "community", "societal")
LIKELIHOOD = ("volume", "trend", "harm", "concentration", "vulnerability")
SCORE_MAX = 4.0


class PriorityError(ValueError):
    """A priorities file that cannot be used."""


@dataclass(frozen=True)
class Rule:
    """How one measured value becomes a 0–4 score.

    Threshold rules: score = number of ``thresholds`` the value reaches. The trend rule:
    2 when the change is not significant (q ≥ alpha); a significant rise scores 3, or 4 at
    ``fast`` % a year or more; a significant fall scores 1, or 0 at −``fast`` % or less.
    """

    measure: str
    description: str
    unit: str = ""
    thresholds: tuple[float, ...] = ()
    fast: float = 10.0

    def score(self, value: float | None, q: float | None = None, alpha: float = 0.05) -> float | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.measure == "trend":
            if q is None or (isinstance(q, float) and math.isnan(q)):
                return None
            if q >= alpha:
                return 2.0
            if value > 0:
                return 4.0 if value >= self.fast else 3.0
            return 0.0 if value <= -self.fast else 1.0
        return float(sum(value >= t for t in self.thresholds))

    def text(self) -> str:
        if self.measure == "trend":
            return (f"2 if not significant; significant rise 3 (4 at ≥ {self.fast:g}% a year); "
                    f"significant fall 1 (0 at ≤ −{self.fast:g}% a year)")
        return "score = thresholds reached of " + ", ".join(f"{t:g}" for t in self.thresholds)


@dataclass(frozen=True)
class Theme:
    name: str
    crime_types: tuple[str, ...]
    flag: str | None
    impact: dict[str, float] = field(hash=False)
    rationale: str = ""


@dataclass(frozen=True)
class Matrix:
    name: str
    version: str
    source: str
    impact_weights: dict[str, float] = field(hash=False)
    likelihood_weights: dict[str, float] = field(hash=False)
    rules: dict[str, Rule] = field(hash=False)
    themes: tuple[Theme, ...] = ()


@dataclass(frozen=True)
class Measure:
    """A theme's value on one likelihood measure, with its score (None: not available)."""

    value: float | None
    score: float | None
    detail: str = ""
    q: float | None = None


def _weights(doc: Mapping[str, Any], section: str, names: Sequence[str], path: Path) -> dict[str, float]:
    given = doc.get("weights", {}).get(section, {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise PriorityError(f"{path}: unknown {section} weight(s) {unknown}; use {', '.join(names)}")
    out = {n: float(given.get(n, 1.0)) for n in names}
    if any(v < 0 for v in out.values()) or sum(out.values()) <= 0:
        raise PriorityError(f"{path}: {section} weights must be non-negative and not all zero")
    return out


def _theme(raw: Mapping[str, Any], path: Path) -> Theme:
    name = str(raw.get("name", "")).strip()
    if not name:
        raise PriorityError(f"{path}: every [[theme]] needs a name")
    types = tuple(str(t) for t in raw.get("crime_types", ()))
    flag = raw.get("flag")
    if bool(types) == bool(flag):
        raise PriorityError(f"{path}: theme {name!r} needs either crime_types or flag (not both)")
    impact = {}
    for d in IMPACT:
        if d not in raw:
            raise PriorityError(f"{path}: theme {name!r} has no {d} score")
        v = float(raw[d])
        if not 0 <= v <= SCORE_MAX:
            raise PriorityError(f"{path}: theme {name!r} {d} = {v:g}; scores run 0 to {SCORE_MAX:g}")
        impact[d] = v
    return Theme(name, types, str(flag) if flag else None, impact, str(raw.get("rationale", "")))


def parse_matrix(doc: Mapping[str, Any], path: Path) -> Matrix:
    rules = {}
    for m in LIKELIHOOD:
        raw = doc.get("likelihood", {}).get(m, {})
        thresholds = tuple(float(t) for t in raw.get("thresholds", ()))
        if m != "trend" and len(thresholds) != 4:
            raise PriorityError(f"{path}: likelihood.{m} needs four thresholds (scores 1 to 4)")
        if list(thresholds) != sorted(thresholds):
            raise PriorityError(f"{path}: likelihood.{m} thresholds must rise")
        rules[m] = Rule(m, str(raw.get("description", m)), str(raw.get("unit", "")), thresholds, float(raw.get("fast", 10.0)))
    themes = tuple(_theme(t, path) for t in doc.get("theme", []))
    if not themes:
        raise PriorityError(f"{path}: no [[theme]] entries")
    names = [t.name for t in themes]
    if len(set(names)) != len(names):
        raise PriorityError(f"{path}: theme names must be unique")
    meta = doc.get("meta", {})
    return Matrix(str(meta.get("name", path.stem)), str(meta.get("version", "")), str(path),
                  _weights(doc, "impact", IMPACT, path), _weights(doc, "likelihood", LIKELIHOOD, path), rules, themes)


def load_matrix(path: Path) -> Matrix:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PriorityError(f"{path}: cannot read the priorities matrix ({exc})") from exc
    return parse_matrix(doc, Path(path))


def _mean(scores: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    used = {k: v for k, v in scores.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in used)
    return sum(weights[k] * v for k, v in used.items()) / total if total > 0 else None


def score_themes(matrix: Matrix, measures: Mapping[str, Mapping[str, Measure]],
                 impact_weights: Mapping[str, float] | None = None,
                 likelihood_weights: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Score and rank the themes that have measures; every row keeps its inputs."""
    iw = dict(impact_weights or matrix.impact_weights)
    lw = dict(likelihood_weights or matrix.likelihood_weights)
    rows: list[dict[str, Any]] = []
    ties: dict[str, tuple[float, float]] = {}
    for theme in matrix.themes:
        if theme.name not in measures:
            continue
        m = measures[theme.name]
        impact = _mean(theme.impact, iw)
        likelihood = _mean({k: m[k].score if k in m else None for k in LIKELIHOOD}, lw)
        # rounded to 9 dp so that float noise (4.3999… vs 4.4) never beats the tie-break
        score = round(impact * likelihood, 9) if impact is not None and likelihood is not None else None
        harm = m["harm"].value if "harm" in m else None
        volume = m["volume"].value if "volume" in m else None
        rows.append({"theme": theme.name, "score": score, "impact_score": impact, "likelihood_score": likelihood})
        ties[theme.name] = (-(harm or 0.0), -(volume or 0.0))

    def order(r: dict[str, Any]) -> tuple[float, tuple[float, float], str]:
        return (-(r["score"] if r["score"] is not None else -1.0), ties[r["theme"]], str(r["theme"]))

    ranked = sorted(rows, key=order)
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    return ranked


def _ranks(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {str(r["theme"]): int(r["rank"]) for r in rows}


def sensitivity(matrix: Matrix, measures: Mapping[str, Mapping[str, Measure]], change: float,
                top: int = 5) -> dict[str, Any]:
    """Re-rank with each weight multiplied by (1 − change) and (1 + change)."""
    base = _ranks(score_themes(matrix, measures))
    runs: list[dict[str, Any]] = []
    span: dict[str, list[int]] = {t: [r] for t, r in base.items()}
    for group, weights in (("impact", matrix.impact_weights), ("likelihood", matrix.likelihood_weights)):
        for name in weights:
            for factor in (1 - change, 1 + change):
                w = dict(weights)
                w[name] = w[name] * factor
                kw = {"impact_weights": w} if group == "impact" else {"likelihood_weights": w}
                ranks = _ranks(score_themes(matrix, measures, **kw))
                for t, r in ranks.items():
                    span[t].append(r)
                moves = sorted((base[t], r, t) for t, r in ranks.items() if r != base[t])
                order = sorted(base)
                tau = float(stats.kendalltau([base[t] for t in order], [ranks[t] for t in order]).statistic) if len(order) > 1 else 1.0
                top_base = {t for t, r in base.items() if r <= top}
                top_new = {t for t, r in ranks.items() if r <= top}
                runs.append({"group": group, "weight": name, "factor": round(factor, 6), "kendall_tau": tau,
                             "top_unchanged": top_base == top_new,
                             "moves": [{"theme": t, "from": a, "to": b} for a, b, t in moves]})
    return {
        "change": change,
        "method": f"Each of the {len(runs) // 2} weights multiplied by {1 - change:g} and {1 + change:g} in turn, "
                  "the others held; Kendall's tau compares each re-ranking with the base ranking.",
        "runs": runs,
        "rank_range": {t: {"min": min(v), "max": max(v)} for t, v in span.items()},
        "top_n": top,
        "top_stable": all(r["top_unchanged"] for r in runs),
    }


def with_harm(measures: Mapping[str, Mapping[str, Measure]], harm_by_scheme: Mapping[str, Mapping[str, Measure]]) -> dict[str, dict[str, Measure]]:
    """The measures with the harm measure replaced (to rank under one scheme alone)."""
    out = {t: dict(m) for t, m in measures.items()}
    for t, h in harm_by_scheme.items():
        if t in out and "harm" in h:
            out[t]["harm"] = h["harm"]
    return out


def explain(theme: Theme, row: Mapping[str, Any], m: Mapping[str, Measure], matrix: Matrix) -> str:
    """One sentence saying why a theme ranks where it does."""
    dims = ", ".join(f"{d} {theme.impact[d]:g}" for d in IMPACT)
    parts = [f"{k} {m[k].detail} → {m[k].score:g}"
             for k in LIKELIHOOD if k in m and m[k].score is not None]
    missing = [k for k in LIKELIHOOD if k not in m or m[k].score is None]
    text = (f"Impact {row['impact_score']:.2f} of 4 ({dims}) × likelihood {row['likelihood_score']:.2f} of 4 "
            f"({'; '.join(parts)}) = {row['score']:.2f}.")
    if missing:
        text += f" Not available: {', '.join(missing)}."
    return text


def inputs(theme: Theme, m: Mapping[str, Measure], matrix: Matrix) -> dict[str, Any]:
    return {
        "impact": {d: {"score": theme.impact[d], "weight": matrix.impact_weights[d]} for d in IMPACT},
        "likelihood": {
            k: {"value": m[k].value if k in m else None, "score": m[k].score if k in m else None,
                "detail": m[k].detail if k in m else "not available", "q": m[k].q if k in m else None,
                "weight": matrix.likelihood_weights[k], "rule": matrix.rules[k].text(),
                "measure": matrix.rules[k].description, "available": k in m and m[k].score is not None}
            for k in LIKELIHOOD
        },
        "crime_types": list(theme.crime_types),
        "flag": theme.flag,
        "rationale": theme.rationale,
    }


def rescore(matrix: Matrix, values: Mapping[str, Mapping[str, Any]], alpha: float) -> dict[str, dict[str, Measure]]:
    """Measures from raw values: {theme: {measure: value or {"value": v, "q": q, "detail": s}}}."""
    out: dict[str, dict[str, Measure]] = {}
    for theme, raw in values.items():
        ms = {}
        for k, v in raw.items():
            if k not in matrix.rules:
                raise PriorityError(f"unknown likelihood measure {k!r}")
            value, q, detail = (v.get("value"), v.get("q"), v.get("detail", "")) if isinstance(v, Mapping) else (v, None, "")
            value = None if value is None else float(value)
            ms[k] = Measure(value, matrix.rules[k].score(value, q, alpha), detail or ("" if value is None else f"{value:g}"), q)
        out[theme] = ms
    return out


