"""Generated plan measures: workforce, volunteers, call handling, surveys and hate crime.

No force publishes these month by month, yet a Police and Crime Plan reports them. This
writes a measures file (the generic format of :mod:`thrv.sources.measures`) that stands in
for the feeds a force would send, so the plan reports can be run and tested. Every row says
``generated = true`` and carries a note starting "GENERATED"; the README beside it says
what each figure is calibrated to. docs/plan.md lists each figure with its source.

Calibration is exact where a published figure exists: the 12 months to the last month
reproduce "999 calls answered within 10 seconds: 92.1% of 123,498", "95.8% feel safe",
"71.2% feel the police deal with the issues that concern them" and 52,000 Special
Constable hours; the latest snapshot shows 242 Special Constables and 2.6% BME officers
against a 9.7% BME population; the latest financial year a Special Constable turnover of
20.9% against 25.9% nationally; the last two quarters victim-care contracts overdue 16.5%
then 13.9%; and hate crime's highest month is June 2017 with 131. Everything around those
figures is drawn at random (seeded) and marked ASSUMPTION in the README and docs.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thrv import __version__
from thrv.demand.simulate import add_months, default_end, load_calibration
from thrv.reference import force_by_name

HEADER = [
    "measure", "area_code", "area", "period", "value", "numerator", "denominator", "n",
    "comparator", "comparator_value", "unit", "direction", "note", "generated",
]


@dataclass(frozen=True)
class Calibration:
    """One published figure a generated measure reproduces."""

    measure: str
    figure: str
    source: str


#: what the generated file reproduces; "ASSUMPTION" where no figure was published
CALIBRATION = (
    Calibration("calls_999_answered_10s", "92.1% of 123,498 999 calls answered within 10 seconds in the 12 months to the last month", "seed plan performance report"),
    Calibration("feel_safe", "95.8% of residents feel safe (rolling 12 months); about 250 interviews a month (ASSUMPTION)", "seed plan performance report"),
    Calibration("police_deal_with_concerns", "71.2% feel the police deal with the issues that concern them (rolling 12 months)", "seed plan performance report"),
    Calibration("special_constables", "242 Special Constables at the last month (earlier months a random walk from about 260: ASSUMPTION)", "seed plan performance report"),
    Calibration("special_constables_hours", "52,000 hours of duty in the 12 months to the last month", "seed plan performance report"),
    Calibration("special_constables_turnover", "turnover 20.9% in the latest financial year against 25.9% nationally (earlier years ASSUMPTION)", "seed plan performance report"),
    Calibration("bme_officers", "2.6% of officers Black and minority ethnic at the latest 31 March, against a 9.7% BME population", "seed plan performance report"),
    Calibration("victim_care_contracts_overdue", "16.5% then 13.9% of victim-care contracts overdue in the last two quarters", "seed plan performance report"),
    Calibration("hate_crimes", "hate crimes by month since April 2015, the highest 131 in June 2017 (other months ASSUMPTION, about 85 a month)", "seed plan performance report"),
    Calibration("police_support_volunteers", "Police Support Volunteers by quarter, about 170 (ASSUMPTION: no published figure)", "ASSUMPTION"),
    Calibration("volunteer_police_cadets", "Volunteer Police Cadets by quarter, about 115 (ASSUMPTION)", "ASSUMPTION"),
    Calibration("neighbourhood_watch_members", "Neighbourhood Watch members by quarter, about 16,500 (ASSUMPTION)", "ASSUMPTION"),
)

README = """# GENERATED DATA — NOT REAL POLICE RECORDS

`measures.csv` was written by `thrv simulate --measures` (thrv {version}) to stand in for the
workforce, volunteer, call-handling and survey feeds a force sends its Police and Crime
Commissioner. No force publishes these month by month. Every row has `generated = true`
and a note starting "GENERATED"; thrv's reports label every figure computed from them as
generated.

- force: {force}
- period: {first:%Y-%m} to {last:%Y-%m} (hate crime from 2015-04)
- seed: {seed}
- rows: {rows:,}

Load it with `thrv ingest {folder}/measures.csv` (the generic measures format, docs/plan.md).

## What each measure reproduces

| measure | calibrated to | source |
|---|---|---|
{table}

Figures around the calibrated ones are drawn at random from the seed; those marked
ASSUMPTION have no published source.
"""


def _months(last: dt.date, n: int) -> list[dt.date]:
    return [add_months(last, -(n - 1 - k)) for k in range(n)]


def _split(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` spread over the months in proportion to ``weights`` (multinomial: exact sum)."""
    p = np.asarray(weights, float)
    return rng.multinomial(int(total), p / p.sum())


def _successes(rng: np.random.Generator, trials: np.ndarray, total: int) -> np.ndarray:
    """``total`` successes spread over months with ``trials`` each (exact sum, none above n)."""
    return rng.multivariate_hypergeometric(trials.astype(np.int64), int(total))


def _years(months: list[dt.date]) -> Iterator[tuple[int, list[int]]]:
    """Blocks of 12 months counted back from the last (k = 0 is the latest 12 months)."""
    n = len(months)
    k = 0
    while n - 12 * k > 0:
        lo = max(0, n - 12 * (k + 1))
        yield k, list(range(lo, n - 12 * k))
        k += 1


def simulate_measures(
    out: Path,
    seed: int = 0,
    months: int = 36,
    end: dt.date | None = None,
    force: str = "Cambridgeshire Constabulary",
) -> list[Path]:
    """Write ``measures.csv`` and a README (both marked GENERATED) into ``out``."""
    if months < 12:
        raise ValueError("months must be at least 12 (the calibrated figures are 12-month figures)")
    found = force_by_name(force)
    if found is None:
        raise ValueError(f"{force!r} is not a force thrv knows; use its published name, e.g. 'Cambridgeshire Constabulary'")
    last = end.replace(day=1) if end else default_end()
    rng = np.random.default_rng(seed)
    span = _months(last, months)
    rows: list[dict[str, object]] = []
    code, name = found.pfa_code, found.name

    def row(measure: str, period: str, note: str, **values: object) -> None:
        rows.append({"measure": measure, "area_code": code, "area": name, "period": period,
                     "note": "GENERATED: " + note, "generated": "true", **values})

    season = np.array(load_calibration()["cycles"]["month"]["calls_999"], float)
    weights = np.array([season[m.month - 1] for m in span])

    # 999 calls answered within 10 s: the latest 12 months exactly 92.1% of 123,498
    for k, idx in _years(span):
        total = round(123_498 * 0.97**k * len(idx) / 12)
        rate = 0.921 - 0.011 * k
        offered = _split(rng, total, weights[idx])
        answered = _successes(rng, offered, round(rate * total))
        for i, o, a in zip(idx, offered, answered, strict=True):
            row("calls_999_answered_10s", f"{span[i]:%Y-%m}", "999 calls answered within 10 s (telephony system)",
                numerator=int(a), denominator=int(o), unit="%", direction="higher_is_better")

    # residents' survey: about 250 interviews a month
    for measure, rate0, step, with_n in (("feel_safe", 0.958, 0.006, False), ("police_deal_with_concerns", 0.712, 0.015, True)):
        for k, idx in _years(span):
            n = _split(rng, 250 * len(idx), np.ones(len(idx)))
            positive = _successes(rng, n, round((rate0 - step * k) * n.sum()))
            for i, t, x in zip(idx, n, positive, strict=True):
                if with_n:  # a contractor's percentage and sample size
                    row(measure, f"{span[i]:%Y-%m}", "residents' survey (contractor's % and n)",
                        value=f"{100 * x / t:.1f}", n=int(t), unit="%", direction="higher_is_better")
                else:
                    row(measure, f"{span[i]:%Y-%m}", "residents' survey",
                        numerator=int(x), denominator=int(t), unit="%", direction="higher_is_better")

    # Special Constables: headcount (242 at the end), hours (52,000 in the last 12 months)
    steps = rng.integers(-3, 3, len(span))
    steps[-1] = 0
    head = 242 - np.concatenate([np.cumsum(steps[::-1])[::-1][1:], [0]])
    for m, h in zip(span, head, strict=True):
        row("special_constables", f"{m:%Y-%m}", "Special Constables headcount at month end (duty system)",
            value=int(h), unit="officers", direction="higher_is_better")
    for k, idx in _years(span):
        hours = _split(rng, round(52_000 * 0.95**k * len(idx) / 12), np.ones(len(idx)) + 0.1 * rng.random(len(idx)))
        for i, h in zip(idx, hours, strict=True):
            row("special_constables_hours", f"{span[i]:%Y-%m}", "hours of duty by Special Constables (duty system)",
                value=int(h), unit="hours", direction="higher_is_better")

    # the latest complete financial years (April-March) ending by the last month
    fy_end = last.year if last.month >= 3 else last.year - 1
    for k, (leavers, strength, national) in enumerate(((50, 239, 25.9), (58, 262, 24.9), (61, 270, 23.7))):
        y = fy_end - 1 - k
        row("special_constables_turnover", f"{y}/{(y + 1) % 100:02d}",
            "Special Constable leavers as % of average headcount; national figure for the latest year from the seed plan, earlier years ASSUMPTION",
            numerator=leavers, denominator=strength, comparator="England and Wales", comparator_value=national,
            unit="%", direction="lower_is_better")
    for k, (bme, officers) in enumerate(((43, 1654), (39, 1630), (37, 1601))):
        day = dt.date(fy_end - k, 3, 31)
        row("bme_officers", day.isoformat(), "officers who are Black or minority ethnic, 31 March snapshot (HR system)",
            numerator=bme, denominator=officers, comparator="BME population (Census)", comparator_value=9.7,
            unit="%", direction="higher_is_better")

    # quarters ending by the last month: the last two are 16.5% and 13.9% overdue
    q_end = add_months(last, -(last.month % 3)) if last.month % 3 else last
    quarters = [add_months(q_end, -3 * k) for k in range(max(4, months // 3))][::-1]
    for j, qm in enumerate(quarters):
        label = f"{qm.year}-Q{(qm.month - 1) // 3 + 1}"
        if j == len(quarters) - 1:
            over, total = 56, 403
        elif j == len(quarters) - 2:
            over, total = 66, 400
        else:
            total = int(rng.integers(380, 420))
            over = int(rng.binomial(total, 0.16 + 0.02 * rng.random()))
        row("victim_care_contracts_overdue", label, "victim-care contract reviews overdue (commissioning system)",
            numerator=over, denominator=total, unit="%", direction="lower_is_better")
        for measure, level, spread in (("police_support_volunteers", 170, 6), ("volunteer_police_cadets", 115, 5), ("neighbourhood_watch_members", 16_500, 250)):
            value = int(level + spread * (j - len(quarters) / 2) / 2 + rng.normal(0, spread))
            row(measure, label, "ASSUMPTION: no published figure", value=value, unit="people", direction="higher_is_better")

    # hate crime by month since April 2015: highest 131 in June 2017
    hate_months = _months(last, (last.year - 2015) * 12 + last.month - 4 + 1)
    peak = dt.date(2017, 6, 1)
    for m in hate_months:
        if m == peak:
            value = 131
        else:
            value = min(int(rng.poisson(85 * (1.08 if m.month in (6, 7, 8) else 1.0))), 125)
        row("hate_crimes", f"{m:%Y-%m}", "hate crimes recorded (force crime system, long history)",
            value=value, unit="count", direction="none")

    from thrv.sources.measures import parse_period

    order = {c.measure: i for i, c in enumerate(CALIBRATION)}
    starts = {p: parse_period(p) for p in {str(r["period"]) for r in rows}}
    rows.sort(key=lambda r: (order[str(r["measure"])], starts[str(r["period"])].start))  # type: ignore[union-attr]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "measures.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in HEADER})
    table = "\n".join(f"| `{c.measure}` | {c.figure} | {c.source} |" for c in CALIBRATION)
    (out / "README.md").write_text(
        README.format(version=__version__, force=name, first=span[0], last=last, seed=seed, rows=len(rows),
                      folder=out, table=table),
        encoding="utf-8",
    )
    return [path, out / "README.md"]
