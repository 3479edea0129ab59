"""An intruder who holds everything a public user is given, written apart from the suppression code.

It reads public pack models (every month, every view), collects each month's published
counts, checks that every derived figure is reproducible from published counts alone (so
it carries nothing more), and then bounds every withheld cell with integer programming
(scipy's ``milp``) under every sum it knows: area = its districts, force = its districts +
the records with no district (given to the intruder as side knowledge, as if read from the
raw files), all crime = the crime types, a percentage's denominator = the count with the
same definition. It uses the rules as docs/disclosure.md states them: a primary cell is 1
to limit-1, a secondary cell at least the limit, a rounded count within 2 of its shown
value (and at least the limit), a total whose parts are all shown is their sum.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

BIG = 10_000_000.0  # no bound (a count the intruder cannot bound from above)
BASE = ("current", "prev_1y", "prev_2y", "prev_3y")
OFFSET = {"current": 0, "prev_1y": -12, "prev_2y": -24, "prev_3y": -36}


def shift(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    i = y * 12 + m - 1 + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def span(first: str, last: str) -> list[str]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = shift(m, 1)
    return out


def is_marker(v: Any) -> bool:
    return isinstance(v, str) and (v == "[c]" or re.fullmatch(r"<\d+", v) is not None)


def kinds_of(row: Mapping[str, Any]) -> dict[str, str]:
    text = row.get("suppressed_columns") or ""
    return dict(part.strip().split(":") for part in text.split(";") if part.strip())


@dataclass
class Seen:
    """What was published about one base cell: a value, or withheld with a kind."""

    value: float | None = None
    kind: str | None = None
    num: float | None = None  # a percentage's numerator and denominator, as shown
    den: float | None = None


@dataclass
class Knowledge:
    limit: int
    rounded: bool
    measures: dict[str, str]
    cells: dict[tuple[str, str, str, str, str], Seen] = field(default_factory=dict)  # month, indicator, level, force, area
    conflicts: list[str] = field(default_factory=list)

    def months_of(self) -> dict[tuple[str, str, str, str], list[str]]:
        if getattr(self, "_months", None) is None:
            out: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
            for k in sorted(self.cells):
                out[k[1:]].append(k[0])
            self._months = dict(out)
        return self._months

    def see(self, key: tuple[str, str, str, str, str], seen: Seen) -> None:
        old = self.cells.get(key)
        if old is None:
            self.cells[key] = seen
            return
        for attr in ("value", "kind", "num", "den"):
            a, b = getattr(old, attr), getattr(seen, attr)
            if a is None:
                setattr(old, attr, b)
            elif b is not None and (a != b if isinstance(a, str) else not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)):
                self.conflicts.append(f"{key} {attr}: {a} vs {b}")


def collect(models: Iterable[Mapping[str, Any]]) -> Knowledge:
    """Every published count of every month, from every model and view given."""
    models = list(models)
    disc = models[0]["meta"]["disclosure"]
    measures = {i["id"]: i["measure"] for m in models for i in m["indicators"]}
    k = Knowledge(int(disc["threshold"]), bool(disc.get("rounded")), measures)
    for model in models:
        for row in model["rows"]:
            kinds = kinds_of(row)
            measure = measures[row["indicator"]]
            if measure not in {"count", "proportion"}:
                continue
            for col in BASE:
                month = shift(row["month"], OFFSET[col])
                key = (month, row["indicator"], row["area_level"], row["force"], row["area"])
                v = row.get(col)
                if is_marker(v):
                    k.see(key, Seen(kind=kinds.get(col, "unknown")))
                elif v is not None:
                    seen = Seen(value=float(v))
                    if col == "current" and measure == "proportion":
                        seen.num = None if row.get("current_num") is None else float(row["current_num"])
                        seen.den = None if row.get("current_den") is None else float(row["current_den"])
                    k.see(key, seen)
        for key, points in model.get("series", {}).items():
            ind, level, force, area = key.split("|", 3)
            if measures.get(ind) not in {"count", "proportion"}:
                continue
            for p in points:
                cell = (p["month"], ind, level, force, area)
                if p.get("suppressed"):
                    k.see(cell, Seen(kind=p["suppressed"]))
                elif p.get("value") is not None:
                    k.see(cell, Seen(value=float(p["value"])))
    return k


# ---------------------------------------------------------------------------------------
# derived figures must follow from published counts


@dataclass(frozen=True)
class Layout:
    forces: list[str]
    areas: dict[tuple[str, str], list[str]]  # (force, area) -> districts
    districts: dict[str, list[str]]  # force -> all districts
    types: list[str]
    denominator: dict[str, str | None]  # proportion -> count with the same definition


def layout_of(model: Mapping[str, Any]) -> Layout:
    meta = model["meta"]
    areas: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d in meta.get("area_districts", []):
        areas[(d["force"], d["area"])].append(d["district"])
    districts: dict[str, list[str]] = defaultdict(list)
    for r in model["rows"]:
        if r["area_level"] == "district" and r["area"] not in districts[r["force"]]:
            districts[r["force"]].append(r["area"])
    counts = [i for i in model["indicators"] if i["measure"] == "count"]
    den = {}
    for p in model["indicators"]:
        if p["measure"] == "proportion":
            same = [c["id"] for c in counts if c["table"] == p["table"] and
                    sorted(map(str, c["where"])) == sorted(map(str, p["where"]))]
            den[p["id"]] = same[0] if same else None
    forces = sorted({r["force"] for r in model["rows"]})
    return Layout(forces, dict(areas), dict(districts), list(meta.get("crime_type_indicators", [])), den)


def derived_problems(model: Mapping[str, Any], know: Knowledge, populations: Mapping[tuple[str, str, str], float]) -> list[str]:
    """Published derived figures that do not follow from published counts of the right months."""
    from thrv.stats import poisson_exact_test_many, two_proportion_test_many

    out: list[str] = []
    pending: dict[tuple[str, float], list[Any]] = defaultdict(list)
    month = model["meta"]["month"]
    b_first, b_last = model["meta"]["baseline_period"].split(" to ")
    windows = {
        "rolling_12m": span(shift(month, -11), month), "baseline": span(b_first, b_last),
        "avg_1y": span(shift(month, -12), shift(month, -1)), "avg_3y": span(shift(month, -36), shift(month, -1)),
    }
    tests = {
        "p_value": ("rolling_12m", "baseline"), "p_value_prev_1y": ("current", "prev_1y"),
        "p_value_1y": ("current", "avg_1y"), "p_value_3y": ("current", "avg_3y"),
        "change_prev_1y": ("current", "prev_1y"), "change_baseline": ("rolling_12m", "baseline"),
        "rate_per_1000": ("rolling_12m",), "rate_per_1000_month": ("current",),
    }
    history = know.months_of()
    for row in model["rows"]:
        measure = know.measures[row["indicator"]]
        if measure not in {"count", "proportion"}:
            continue
        key = (row["indicator"], row["area_level"], row["force"], row["area"])

        def cell(m: str, key: tuple[str, str, str, str] = key) -> Seen | None:
            return know.cells.get((m, *key))

        def months_of(col: str) -> list[str]:
            if col in windows:
                return windows[col]
            return [shift(month, OFFSET[col])]

        def hidden(col: str) -> bool:
            return any((c := cell(m)) is not None and c.kind is not None for m in months_of(col))

        def held(col: str) -> list[Seen]:
            return [c for m in months_of(col) if (c := cell(m)) is not None and c.value is not None]

        def pooled(col: str, measure: str = measure) -> tuple[float, float, int] | None:
            cs = held(col)
            if not cs:
                return None
            if measure == "count":
                return sum(c.value for c in cs), 0.0, len(cs)  # type: ignore[misc]
            if any(c.num is None or c.den is None for c in cs):
                return None
            return sum(c.num for c in cs), sum(c.den for c in cs), len(cs)  # type: ignore[misc]

        # 1. nothing computed from a withheld month is shown
        inputs = {"rolling_12m": ("rolling_12m",), "baseline": ("baseline",), "avg_1y": ("avg_1y",),
                  "avg_3y": ("avg_3y",), **tests,
                  "label": ("rolling_12m", "baseline"), "label_1y": ("current", "avg_1y"),
                  "label_3y": ("current", "avg_3y"), "label_prev_1y": ("current", "prev_1y"),
                  "rank_low": ("current",), "spc_mean": ("current",), "dispersion": ("current",),
                  "q_value": ("rolling_12m", "baseline"), "q_value_1y": ("current", "avg_1y"),
                  "q_value_3y": ("current", "avg_3y"), "test": ("rolling_12m", "baseline"),
                  "test_1y": ("current", "avg_1y"), "test_3y": ("current", "avg_3y"),
                  "test_prev_1y": ("current", "prev_1y"), "test_national": ("rolling_12m",),
                  "expected_1y": ("avg_1y",), "expected_3y": ("avg_3y",),
                  "current_ci_low": ("current",), "current_ci_high": ("current",),
                  "rolling_12m_ci_low": ("rolling_12m",), "rolling_12m_ci_high": ("rolling_12m",)}
        for col, needs in inputs.items():
            v = row.get(col)
            if v is None or is_marker(v) or (isinstance(v, float) and math.isnan(v)) or v in ("Insufficient data", ""):
                continue
            extra: list[str] = []
            if col in ("rank_low",):
                extra = [m for m in history.get(key, []) if m <= month]
            if col in ("spc_mean", "dispersion"):  # both from the 36 months to the pack month
                extra = span(shift(month, -35), month)
            if any(hidden(n) for n in needs) or any((c := cell(m)) is not None and c.kind for m in extra):
                out.append(f"{month} {key} {col}={v} is shown but an input month is withheld")
        # 2. the shown figures equal their computation from shown counts
        for col in ("rolling_12m", "baseline", "avg_1y"):
            v = row.get(col)
            if v is None or is_marker(v):
                continue
            p = pooled(col)
            if p is None:
                out.append(f"{month} {key} {col}={v} has no shown months behind it")
                continue
            if measure == "count":
                want = p[0] if col != "avg_1y" else p[0] / p[2]
            else:
                want = 100.0 * p[0] / p[1]
            if not math.isclose(float(v), want, rel_tol=1e-9, abs_tol=1e-6):
                out.append(f"{month} {key} {col}={v} but the shown months give {want}")
        cur = row.get("current")
        if measure == "proportion" and cur is not None and not is_marker(cur):
            n, d = row.get("current_num"), row.get("current_den")
            if n is None or d is None or not math.isclose(float(cur), 100.0 * float(n) / float(d), rel_tol=1e-9):
                out.append(f"{month} {key} current={cur} is not its shown numerator over its shown denominator")
        out.extend(_test_problems(row, model, know, key, measure, pending))
        rate = row.get("rate_per_1000")
        pop = populations.get((row["area_level"], row["force"], row["area"]))
        if measure == "count" and rate is not None and not is_marker(rate) and pop:
            roll = pooled("rolling_12m")
            if roll is None or not math.isclose(float(rate), roll[0] / pop * 1000.0, rel_tol=1e-9):
                out.append(f"{month} {key} rate_per_1000={rate} does not follow from the shown rolling 12 months")
        out.extend(_sentence_problems(row, month, key, know.limit))
    out.extend(_q_value_problems(model))
    for (measure, _), items in pending.items():  # the plain tests, one call per kind
        arr = np.array([x[:4] for x in items], dtype=float)
        if measure == "count":  # (a, exposure a, b, exposure b): the plain exact Poisson test
            res = poisson_exact_test_many(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], 0.95, intervals=False)
        else:  # (num a, den a, num b, den b): the two-proportion z-test
            res = two_proportion_test_many(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], 0.95)
        for (*_n, shown, what), p in zip(items, res.p_value, strict=True):
            if not math.isclose(shown, float(p), rel_tol=1e-7, abs_tol=1e-12):
                out.append(f"{what} but the shown inputs give {float(p)}")
    return out


def _test_problems(row: Mapping[str, Any], model: Mapping[str, Any], know: Knowledge, key: tuple[str, str, str, str],
                   measure: str, pending: dict[tuple[str, float], list[Any]]) -> list[str]:
    """Every shown p-value, φ and expectation of a row recomputed from the row's shown months
    (tests/reference_stats: statsmodels for φ and the seasonal factors, scipy for the tails).

    A month counts as held when its figure is shown: a withheld month is no data to the
    tests, as it is to the intruder.
    """
    from tests import reference_stats as ref

    month = model["meta"]["month"]
    out: list[str] = []
    shown = {m: c for m in know.months_of().get(key, []) if (c := know.cells[(m, *key)]).value is not None}

    def date(m: str) -> dt.date:
        return dt.date(int(m[:4]), int(m[5:7]), 1)

    def num(v: Any) -> float | None:
        return None if v is None or is_marker(v) or (isinstance(v, float) and math.isnan(v)) else float(v)

    when = date(month)
    ind = next(i for i in model["indicators"] if i["id"] == row["indicator"])
    latest = model["meta"].get("latest_months", {}).get(f"{ind['table']}|{row['force']}")
    k = int(ind.get("immature_months", 0))

    def immature(m: str) -> bool:
        return bool(k and latest and ref_index(m) > ref_index(latest) - k)

    r_only, b_only = model["meta"]["baseline_test_months"]
    dropped = {int(m[5:7]) for m in r_only + b_only if immature(m)}
    a_months = [m for m in r_only if int(m[5:7]) not in dropped]
    b_months = [m for m in b_only if int(m[5:7]) not in dropped]
    if measure == "count":
        withheld = any(know.cells[(m, *key)].kind for m in know.months_of().get(key, []))
        if not withheld and zlib.crc32(repr((month, key)).encode()) % 8:
            # no withheld month behind the row: nothing hidden can be in its figures, and the
            # engine's agreement with the reference is the verdict tests' job; one row in 8
            # is still recomputed (the statsmodels fits are what the time goes on)
            return out
        monthly = pd.Series({date(m): c.value for m, c in shown.items()}, dtype=float)
        held = {date(m) for m in shown}
        phi = ref.dispersion(monthly, held, when)
        v = num(row.get("dispersion"))
        if v is not None and not math.isclose(v, phi, rel_tol=1e-6):
            out.append(f"{month} {key} dispersion={v} but the shown months give {phi}")

        def count_p(a: float, ea: float, b: float, eb: float, phi: float) -> float | tuple[float, ...]:
            # the plain exact test is batched below (scipy's binomtest one call at a time is slow)
            return (a, ea, b, eb) if math.isnan(phi) and a + b > 0 else ref.count_p(a, ea, b, eb, phi)

        def total(ms: list[str]) -> float:
            return sum(shown[m].value for m in ms if m in shown)  # type: ignore[misc]

        want: dict[str, float | tuple[float, ...]] = {}
        if all(m in shown for m in a_months + b_months) and a_months:
            want["p_value"] = count_p(total(a_months), len(a_months), total(b_months), len(b_months), phi)
        if month in shown and shift(month, -12) in shown:
            want["p_value_prev_1y"] = count_p(total([month]), 1, total([shift(month, -12)]), 1, phi)
        for suffix, n in (("1y", 12), ("3y", 36)):
            refs = [date(m) for m in span(shift(month, -n), shift(month, -1)) if m in shown]
            if month in shown and refs:  # as ref.month_vs_average, with φ fitted once
                p: float | tuple[float, ...]
                cur, tot = float(monthly[when]), float(sum(monthly[r] for r in refs))
                weight, log_var = ref.seasonal(monthly, held, when, refs) if not math.isnan(phi) else (math.nan, math.nan)
                if math.isnan(weight):
                    p, expected = count_p(cur, 1, tot, len(refs), phi), tot / len(refs)
                else:
                    pi0 = 1 / (1 + weight)
                    p = count_p(cur, 1, tot, weight, phi * (1 + (cur + tot) * pi0 * (1 - pi0) * log_var))
                    expected = tot / weight
                want[f"p_value_{suffix}"] = p
                e = num(row.get(f"expected_{suffix}"))
                if e is not None and not math.isclose(e, expected, rel_tol=1e-6):
                    out.append(f"{month} {key} expected_{suffix}={e} but the shown months give {expected}")
        for col in ("p_value", "p_value_prev_1y", "p_value_1y", "p_value_3y"):
            v = num(row.get(col))
            if v is None:
                continue
            if col not in want:
                out.append(f"{month} {key} {col}={v} without shown inputs")
            elif isinstance(w := want[col], tuple):
                pending[("count", 0.0)].append((*w, v, f"{month} {key} {col}={v}"))
            elif not math.isclose(v, w, rel_tol=1e-6, abs_tol=1e-12):
                out.append(f"{month} {key} {col}={v} but the shown inputs give {want[col]}")
        return out
    # proportions: pooled numerators and denominators of the shown months
    def pooled(ms: list[str]) -> tuple[float, float] | None:
        cs = [shown.get(m) for m in ms]
        if not ms or any(c is None or c.num is None or c.den is None for c in cs):
            return None
        return sum(c.num for c in cs), sum(c.den for c in cs)  # type: ignore[misc,union-attr]

    pairs = {"p_value": (a_months, b_months), "p_value_prev_1y": ([month], [shift(month, -12)]),
             "p_value_1y": ([month], span(shift(month, -12), shift(month, -1))),
             "p_value_3y": ([month], span(shift(month, -36), shift(month, -1)))}
    for col, (a_ms, b_ms) in pairs.items():
        v = num(row.get(col))
        if v is None:
            continue
        if col in ("p_value_1y", "p_value_3y"):
            b_ms = [m for m in b_ms if m in shown]
        a, b = pooled(a_ms), pooled(b_ms)
        if a is None or b is None:
            out.append(f"{month} {key} {col}={v} without shown inputs")
            continue
        pending[(measure, 0.0)].append((a[0], a[1], b[0], b[1], v, f"{month} {key} {col}={v}"))
    return out


def _q_value_problems(model: Mapping[str, Any]) -> list[str]:
    """q-values are Benjamini–Hochberg (statsmodels) over the p-values shown, and shown only beside one."""
    from statsmodels.stats.multitest import multipletests

    def num(v: Any) -> float | None:
        return None if v is None or is_marker(v) or (isinstance(v, float) and math.isnan(v)) else float(v)

    month = model["meta"]["month"]
    out: list[str] = []
    cells = [(r, x) for x in ("", "_1y", "_3y") for r in model["rows"] if f"q_value{x}" in r]
    ps = [(r, x, p) for r, x in cells if (p := num(r.get(f"p_value{x}"))) is not None]
    want = multipletests([p for *_, p in ps], method="fdr_bh")[1] if ps else []
    by_cell = {(id(r), x): float(q) for (r, x, _), q in zip(ps, want, strict=True)}
    for r, x in cells:
        q = num(r.get(f"q_value{x}"))
        w = by_cell.get((id(r), x))
        if q is None and w is None:
            continue
        if q is None or w is None or not math.isclose(q, w, rel_tol=1e-9):
            out.append(f"{month} {r['indicator']} {r['area_level']} {r['area']} q_value{x}={q} but the shown p-values give {w}")
    return out


def ref_index(m: str) -> int:
    return int(m[:4]) * 12 + int(m[5:7]) - 1


_NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def _sentence_problems(row: Mapping[str, Any], month: str, key: tuple[str, ...], limit: int) -> list[str]:
    """Every number in a sentence is a year, the rule's limit or a shown figure of the row."""
    text = row.get("sentence") or ""
    spc = text.find("The SPC chart shows")
    if spc >= 0:  # the chart's rule is named with its constants ("2 of 3 points near a limit")
        if is_marker(row.get("spc_variation")) or not row.get("spc_variation"):
            return [f"{month} {key} sentence names an SPC signal that is not shown: {text!r}"]
        text = text[:spc]
    shown: list[float] = [float(limit), 0.001]  # the limit, and "p < 0.001"
    for k, v in row.items():
        if k in ("sentence", "suppressed_columns") or is_marker(v) or isinstance(v, bool):
            continue
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            shown += [float(v), abs(float(v))]
    cur, prev = row.get("current"), row.get("prev_1y")
    if all(isinstance(x, (int, float)) for x in (cur, prev)) and prev:
        shown += [abs(100.0 * (cur - prev) / prev), abs(cur - prev)]  # type: ignore[operator]
    bad = []
    for token in _NUMBER.findall(re.sub(r"\d{4}-\d{2}", "", text)):
        x = float(token.replace(",", ""))
        if token.isdigit() and 1990 <= x <= 2100:
            continue  # a year
        tol = 0.05 if "." in token and len(token.split(".")[1]) == 1 else 0.0005 if "." in token else 0.5
        if not any(abs(x - s) <= tol + 1e-9 for s in shown):
            bad.append(token)
    return [f"{month} {key} sentence states {', '.join(bad)} that is not shown: {text!r}"] if bad else []


# ---------------------------------------------------------------------------------------
# bounding withheld cells


@dataclass
class Problem:
    """One month's integer programme: variables, equalities, bounds, disjunctions."""

    names: list[tuple[str, str]] = field(default_factory=list)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)  # coef, low, high
    binaries: list[int] = field(default_factory=list)

    def var(self, name: tuple[str, str], lb: float = 0.0, ub: float = BIG) -> int:
        self.names.append(name)
        self.lb.append(lb)
        self.ub.append(ub)
        return len(self.names) - 1

    def solve(self, objective: Mapping[int, float]) -> tuple[str, np.ndarray | None]:
        n = len(self.names)
        c = np.zeros(n)
        for j, w in objective.items():
            c[j] = -w
        if getattr(self, "_built", None) != (n, len(self.rows)):
            r, cc, vv, lo, hi = [], [], [], [], []
            for i, (coef, a, b) in enumerate(self.rows):
                for j, w in coef.items():
                    r.append(i)
                    cc.append(j)
                    vv.append(w)
                lo.append(a)
                hi.append(b)
            self._cons = ([LinearConstraint(coo_matrix((vv, (r, cc)), shape=(len(self.rows), n)).tocsr(), lo, hi)]
                          if self.rows else [])
            self._bounds = Bounds(self.lb, self.ub)
            self._built = (n, len(self.rows))
        res = milp(c, constraints=self._cons, bounds=self._bounds, integrality=np.ones(n))
        if res.status == 3:  # pragma: no cover - every variable is bounded (BIG stands for "no bound")
            return "unbounded", None
        if res.x is None:
            return "infeasible", None
        return "ok", np.round(res.x)


def attack(know: Knowledge, layout: Layout, side: Mapping[tuple[str, str, str], float]) -> list[str]:
    """Findings: withheld cells pinned or narrowed, rounded counts narrowed, totals that lie.

    ``side[(month, family, force)]`` = records with no district (family: a count id, or
    ``<proportion>|n`` for a numerator).
    """
    months = sorted({k[0] for k in know.cells})
    findings: list[str] = []
    for month in months:
        findings += _attack_month(know, layout, side, month)
    return findings


def _attack_month(know: Knowledge, layout: Layout, side: Mapping[tuple[str, str, str], float], month: str) -> list[str]:
    built = _programme(know, layout, side, month, rule_only=False)
    cache: list[Built] = []

    def rule_only() -> Problem:
        """The same month with every non-zero count withheld: what the rule's marks alone say."""
        if not cache:
            cache.append(_programme(know, layout, side, month, rule_only=True))
        return cache[0].prob

    return built.lies + _bounds(built, rule_only, know.limit, month)


@dataclass
class Built:
    prob: Problem
    targets: list[tuple[str, int, float, float]]  # (what, variable, must reach low, must reach high)
    pinned: list[tuple[str, int]]
    shares: list[tuple[str, int, int]]  # withheld primary percentages: (what, numerator, denominator)
    lies: list[str]


def _programme(know: Knowledge, layout: Layout, side: Mapping[tuple[str, str, str], float], month: str,
               rule_only: bool) -> Built:
    lim = know.limit
    prob = Problem()
    cells = {k[1:]: v for k, v in know.cells.items() if k[0] == month}  # (ind, level, force, area) -> Seen
    var: dict[tuple[str, str, str, str], int] = {}
    targets: list[tuple[str, int, float, float]] = []  # (what, variable, must reach low, must reach high)
    pinned_checks: list[tuple[str, int]] = []
    small_shares: list[tuple[str, int, int]] = []  # withheld primary percentages: (what, numerator, denominator)
    lies: list[str] = []
    for (ind, level, force, area) in sorted(cells):
        m = know.measures[ind]
        if m == "count":
            var[(ind, level, force, area)] = prob.var((ind, f"{level}:{area}"))
        elif m == "proportion":
            var[(f"{ind}|n", level, force, area)] = prob.var((f"{ind}|n", f"{level}:{area}"))
            if layout.denominator.get(ind) is None:
                var[(f"{ind}|d", level, force, area)] = prob.var((f"{ind}|d", f"{level}:{area}"))

    def den_var(ind: str, level: str, force: str, area: str) -> int | None:
        d = layout.denominator.get(ind)
        return var.get((d, level, force, area)) if d else var.get((f"{ind}|d", level, force, area))

    families = sorted({k[0] for k in var})
    # sums the intruder knows
    for force in layout.forces:
        for fam in families:
            for (f, area), districts in layout.areas.items():
                if f != force or (fam, "area", force, area) not in var:
                    continue
                parts = [var[(fam, "district", force, d)] for d in districts if (fam, "district", force, d) in var]
                if parts:
                    coef = {var[(fam, "area", force, area)]: 1.0, **dict.fromkeys(parts, -1.0)}
                    prob.rows.append((coef, 0.0, 0.0))
            top = var.get((fam, "force", force, force))
            parts = [var[(fam, "district", force, d)] for d in layout.districts.get(force, []) if (fam, "district", force, d) in var]
            u = side.get((month, fam, force))
            if top is not None and parts and u is not None:
                prob.rows.append(({top: 1.0, **dict.fromkeys(parts, -1.0)}, u, u))
        places = {(lv, a) for (_i, lv, f, a) in var if f == force}
        for lv, a in places:
            tot = var.get(("all_crime", lv, force, a))
            parts = [var[(t, lv, force, a)] for t in layout.types if (t, lv, force, a) in var]
            if tot is not None and parts and len(parts) == len(layout.types):
                prob.rows.append(({tot: 1.0, **dict.fromkeys(parts, -1.0)}, 0.0, 0.0))
    # what each published or withheld cell says
    for (ind, level, force, area), seen in sorted(cells.items()):
        m = know.measures[ind]
        name = f"{month} {ind} {level} {area}"
        if m == "count":
            j = var[(ind, level, force, area)]
            if seen.kind is not None:
                _withheld(prob, j, seen.kind, lim)
                if seen.kind == "primary":
                    targets.append((name, j, 1.0, lim - 1.0))
                else:
                    pinned_checks.append((name, j))
            elif seen.value is not None and rule_only:
                prob.lb[j], prob.ub[j] = (0.0, 0.0) if seen.value == 0 else (float(lim), BIG)
            elif seen.value is not None:
                _shown(prob, know, j, seen.value, _derived(know, layout, side, month, ind, level, force, area, cells), targets, name, lies)
        elif m == "proportion":
            n = var[(f"{ind}|n", level, force, area)]
            d = den_var(ind, level, force, area)
            if d is None:
                continue
            prob.rows.append(({d: 1.0, n: -1.0}, 0.0, math.inf))  # the complement is not negative
            if seen.kind == "secondary":
                prob.rows.append(({n: 1.0}, lim, math.inf))
                prob.rows.append(({d: 1.0, n: -1.0}, lim, math.inf))
                pinned_checks.append((name + " numerator", n))
            elif seen.kind is not None:
                z = prob.var(("z", name), 0.0, 1.0)
                prob.binaries.append(z)
                # the numerator is 1..lim-1, or the complement is
                prob.rows.append(({n: 1.0, z: BIG}, 1.0, math.inf))
                prob.rows.append(({n: 1.0, z: -BIG}, -math.inf, lim - 1.0))
                prob.rows.append(({d: 1.0, n: -1.0, z: -BIG}, 1.0 - BIG, math.inf))
                prob.rows.append(({d: 1.0, n: -1.0, z: BIG}, -math.inf, lim - 1.0 + BIG))
                pinned_checks.append((name + " numerator", n))
                small_shares.append((name, n, d))
            elif seen.num is not None and seen.den is not None:
                if rule_only:
                    prob.rows.append(({n: 1.0}, *((0.0, 0.0) if seen.num == 0 else (lim, math.inf))))
                    prob.rows.append(({d: 1.0, n: -1.0}, *((0.0, 0.0) if seen.num == seen.den else (lim, math.inf))))
                elif not know.rounded:
                    prob.lb[n] = prob.ub[n] = seen.num
                    prob.rows.append(({d: 1.0}, seen.den, seen.den))
                else:
                    derived = _derived(know, layout, side, month, f"{ind}|n", level, force, area, cells)
                    _shown(prob, know, n, seen.num, derived, targets, name + " numerator", lies)
                    if seen.num < seen.den:
                        prob.rows.append(({d: 1.0, n: -1.0}, lim, math.inf))
    return Built(prob, targets, pinned_checks, small_shares, lies)


def _withheld(prob: Problem, j: int, kind: str, lim: int) -> None:
    if kind == "primary":
        prob.lb[j], prob.ub[j] = 1.0, lim - 1.0
    else:
        prob.lb[j], prob.ub[j] = float(lim), BIG


def _shown(prob: Problem, know: Knowledge, j: int, value: float, derived: bool | None,
           targets: list[tuple[str, int, float, float]], name: str, lies: list[str]) -> None:
    if not know.rounded or value == 0:
        prob.lb[j] = prob.ub[j] = value
        return
    if derived:
        return  # the sum of shown parts: says nothing of its own
    if derived is None:
        lies.append(f"{name}: a total whose parts are all shown but which is not their sum")
    lo = max(float(know.limit), value - 2.0)
    prob.lb[j], prob.ub[j] = lo, value + 2.0
    targets.append((name + f" rounded {value:g}", j, lo, value + 2.0))


def _derived(know: Knowledge, layout: Layout, side: Mapping[tuple[str, str, str], float], month: str, fam: str,
             level: str, force: str, area: str, cells: Mapping[tuple[str, str, str, str], Seen]) -> bool | None:
    """Under rounding: True when the cell is the sum of its shown parts (by the documented rule),
    False when it is a rounded count, None when its parts are all shown but it is not their sum."""
    ind, _, part = fam.partition("|")

    def shown(level_: str, area_: str, of: str = ind) -> float | None:
        s = cells.get((of, level_, force, area_))
        if s is None or s.kind is not None:
            return None
        if part == "n":
            return s.num
        return s.value

    me = shown(level, area)
    options: list[list[float | None]] = []
    constants: list[float] = []
    if level == "area":
        options.append([shown("district", d) for d in layout.areas.get((force, area), [])])
        constants.append(0.0)
    if level == "force":
        in_area = {d for (f, _a), ds in layout.areas.items() if f == force for d in ds}
        parts = [shown("area", a) for (f, a) in layout.areas if f == force]
        parts += [shown("district", d) for d in layout.districts.get(force, []) if d not in in_area]
        options.append(parts)
        constants.append(side.get((month, fam, force), math.nan))
    if ind == "all_crime" and not part:
        options.append([shown(level, area, t) for t in layout.types])
        constants.append(0.0)
    complete = [(p, k) for p, k in zip(options, constants, strict=True) if p and all(x is not None for x in p)]
    if not complete:
        return False
    for parts, k in complete:
        want = 5.0 * math.floor((sum(parts) + k) / 5.0 + 0.5)  # type: ignore[arg-type]
        if me is not None and math.isclose(me, want):
            return True
    return None


def _extreme(prob: Problem, coef: Mapping[int, float]) -> float:
    _status, x = prob.solve(coef)
    if x is None:  # pragma: no cover - the programme was feasible before
        return math.nan
    return float(sum(w * x[j] for j, w in coef.items()))


def _bounds(built: Built, rule_only: Any, lim: int, month: str) -> list[str]:
    prob = built.prob
    if not prob.names:
        return []
    findings: list[str] = []
    status, x0 = prob.solve({})
    if x0 is None:
        return [f"{month}: the published figures admit no table at all ({status})"]
    points = [x0]
    # batch: push every open bound at once and keep the points found; then one by one
    for direction in (1.0, -1.0):
        open_ = {j for _n, j, _a, _b in built.targets}
        for _ in range(50):
            if not open_:
                break
            status, x = prob.solve(dict.fromkeys(open_, direction))
            if x is None:
                break
            points.append(x)
            reached = {j for _n, j, a, b in built.targets
                       if j in open_ and ((direction > 0 and x[j] >= b) or (direction < 0 and x[j] <= a))}
            if not reached:
                break
            open_ -= reached
    arr = np.array(points)
    for name, j, a, b in built.targets:
        hi, lo = arr[:, j].max(), arr[:, j].min()
        if hi < b:
            hi = _extreme(prob, {j: 1.0})
        if lo > a:
            lo = -_extreme(prob, {j: -1.0})
        if (hi < b or lo > a) and "rounded" not in name:
            # small cells summing to a small total narrow each other by the rule's own marks
            a = max(a, -_extreme(rule_only(), {j: -1.0}))
            b = min(b, _extreme(rule_only(), {j: 1.0}))
        if hi < b or lo > a:
            findings.append(f"{name}: bounded to {lo:g}..{hi:g}, the rule allows {a:g}..{b:g}")
    for name, j in built.pinned:
        if len(np.unique(arr[:, j])) > 1:
            continue
        pinned = _extreme(prob, {j: 1.0}) <= -_extreme(prob, {j: -1.0})
        if pinned and _extreme(rule_only(), {j: 1.0}) > -_extreme(rule_only(), {j: -1.0}):
            findings.append(f"{name}: pinned")
    for name, n, d in built.shares:
        ranges = [(-_extreme(q, {n: -1.0}), _extreme(q, {n: 1.0}), -_extreme(q, {d: -1.0, n: 1.0}),
                   _extreme(q, {d: 1.0, n: -1.0})) for q in (prob, rule_only())]
        (n_lo, n_hi, c_lo, c_hi), (rn_lo, rn_hi, rc_lo, rc_hi) = ranges
        ok = ((n_lo <= max(1, rn_lo) and n_hi >= min(lim - 1, rn_hi)) or
              (c_lo <= max(1, rc_lo) and c_hi >= min(lim - 1, rc_hi)))
        if not ok:
            findings.append(f"{name}: numerator {n_lo:g}..{n_hi:g}, complement {c_lo:g}..{c_hi:g}; "
                            f"neither keeps 1..{lim - 1}")
    return findings
