"""Scenario generator: force extracts drawn to match published figures, labelled as generated.

No force publishes its calls, incidents or survey answers, yet the demand indicators, the
profile and the forecasts need them to be shown and tested. ``thrv simulate`` writes files in
the documented extract layouts (docs/schema.md) so that they go through exactly the same
ingest as a real extract, with ``generated = true`` on every row and a README saying so.

Every volume, cycle and distribution is data (``thrv/data/config/simulate.toml``) with its
source; docs/simulate.md and docs/demand.md explain the method. All randomness comes from one
``numpy.random.Generator`` seeded by the caller, so a seed always gives the same files.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from thrv import __version__
from thrv.reference import DATA, force_by_name, read_rows, reference_path

CALIBRATION = DATA / "config" / "simulate.toml"
LOCAL = "Europe/London"
HOURS = 24


def load_calibration(path: Path | None = None) -> dict[str, Any]:
    return tomllib.loads((path or CALIBRATION).read_text(encoding="utf-8"))


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def default_end(today: dt.date | None = None) -> dt.date:
    """The last complete calendar month before ``today``."""
    today = today or dt.date.today()
    return add_months(dt.date(today.year, today.month, 1), -1)


@dataclass(frozen=True)
class Geography:
    """The force's LSOAs (2021) with districts and weights for where demand happens."""

    lsoa: np.ndarray
    district: np.ndarray
    weight: np.ndarray  # sums to 1

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(len(self.lsoa), size=n, p=self.weight)


def force_geography(force: str, rng: np.random.Generator) -> Geography:
    """LSOAs of the force's area weighted by residents, with a seeded hot-spot factor.

    Demand is not simply proportional to residents (town centres draw far more), so each
    LSOA's weight is its population times a log-normal factor drawn once per seed.
    """
    found = force_by_name(force)
    if found is None or not found.pfa_code:
        raise ValueError(f"{force!r} is not a force of England and Wales that thrv has geography for")
    lsoa, district, residents = _force_lsoas(found.pfa_code)
    weight = residents * rng.lognormal(0.0, 0.6, len(lsoa))
    return Geography(lsoa, district, weight / weight.sum())


@cache
def _force_lsoas(pfa_code: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2021 LSOAs of a Police Force Area, their districts and residents (Census 2021)."""
    rows = [r for r in read_rows(reference_path("lsoa.csv.gz")) if r["pfa_code"] == pfa_code and r["vintage"] == "2021"]
    population = {r["code"]: float(r["population"]) for r in read_rows(reference_path("population.csv.gz")) if r["level"] == "lsoa"}
    lsoa = np.array([r["lsoa_code"] for r in rows])
    district = np.array([r["lad_name"] for r in rows])
    residents = np.array([population.get(code, 1500.0) for code in lsoa])
    for array in (lsoa, district, residents):
        array.setflags(write=False)  # shared by every call (cached)
    return lsoa, district, residents


def force_population(force: str) -> float:
    found = force_by_name(force)
    for row in read_rows(reference_path("population.csv.gz")):
        if found is not None and row["level"] == "force" and row["code"] == found.pfa_code:
            return float(row["population"])
    raise ValueError(f"no population for {force!r}")


@dataclass(frozen=True)
class Calendar:
    """Every local hour of the simulated period: when each starts (UTC) and its cycle keys."""

    first: dt.date
    last: dt.date  # first day of the last month

    @cached_property
    def hours(self) -> pd.DataFrame:
        end = add_months(self.last, 1)
        local = pd.date_range(self.first, end, freq="h", inclusive="left")
        utc = local.tz_localize(LOCAL, ambiguous=False, nonexistent="shift_forward").tz_convert("UTC")
        mid = self.first + (end - self.first) / 2
        return pd.DataFrame(
            {
                "start": utc.asi8 // 10**9,
                "moy": local.month.to_numpy() - 1,
                "weekday": local.dayofweek.to_numpy(),
                "hour": local.hour.to_numpy(),
                "month_index": (local.year.to_numpy() - self.first.year) * 12 + local.month.to_numpy() - self.first.month,
                "years": ((local - pd.Timestamp(mid)).days.to_numpy() / 365.25),
            }
        )

    @property
    def end_epoch(self) -> int:
        end = pd.Timestamp(add_months(self.last, 1)).tz_localize(LOCAL).tz_convert("UTC")
        return int(end.value // 10**9)


def cycle_weights(cal: Calendar, cycles: dict[str, Any], month: str, weekday: str, hour: str) -> np.ndarray:
    """Relative intensity of each calendar hour (mean 1 over a plain week) for one stream."""
    h = cal.hours
    hour_share = np.asarray(cycles["hour"][hour], float)
    hour_share = hour_share / hour_share.mean()
    w = (
        np.asarray(cycles["month"][month], float)[h["moy"]]
        * np.asarray(cycles["weekday"][weekday], float)[h["weekday"]]
        * hour_share[h["hour"]]
    )
    if weekday == "emergency":
        late = ((h["weekday"].isin([4, 5])) & (h["hour"] >= 22)) | ((h["weekday"].isin([5, 6])) & (h["hour"] < 3))
        w = np.where(late, w * float(cycles["hour"]["weekend_night"]), w)
    # mean 1 over the period, so the period's average month is the calibrated volume
    w = np.asarray(w, float)
    return w / w.mean()


def draw_times(rng: np.random.Generator, cal: Calendar, per_hour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts per calendar hour and uniform times within it: (UTC epoch s, hour row)."""
    counts = rng.poisson(per_hour)
    rows = np.repeat(np.arange(len(per_hour)), counts)
    times = cal.hours["start"].to_numpy()[rows] + rng.integers(0, 3600, len(rows))
    order = np.argsort(times, kind="stable")
    return times[order], rows[order]


def _last_sunday(year: int, month: int) -> dt.date:
    last = add_months(dt.date(year, month, 1), 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


@cache
def _uk_transitions() -> np.ndarray:
    """UTC epochs at which UK clocks change (01:00 UTC on the last Sundays of March and October)."""
    out = []
    for year in range(1996, 2101):  # the rule in force in the UK since 1996
        for month in (3, 10):
            moment = dt.datetime.combine(_last_sunday(year, month), dt.time(1), tzinfo=dt.UTC)
            out.append(int(moment.timestamp()))
    return np.array(out, dtype=np.int64)


def uk_offset(epoch: np.ndarray) -> np.ndarray:
    """Seconds UK local time is ahead of UTC at each instant (3600 in summer time, else 0)."""
    return np.where(np.searchsorted(_uk_transitions(), epoch, side="right") % 2 == 1, 3600, 0)


def iso_local(epoch: np.ndarray | pa.Array, valid: np.ndarray | None = None) -> pa.Array:
    """ISO 8601 UK local times with their offset, e.g. 2024-07-01T14:03:22+0100.

    The offset makes every time unambiguous, including the repeated hour when clocks go back.
    Built from integer arithmetic: formatting millions of times this way takes a fraction of
    a second, where a time-zone-aware strftime takes seconds.
    """
    utc = np.asarray(epoch, dtype=np.int64)
    offset = uk_offset(utc)
    local = utc + offset
    days = (local // 86400).astype("datetime64[D]")
    secs = local % 86400
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1

    def text(values: np.ndarray, width: int) -> pa.Array:
        return pc.utf8_lpad(pa.array(values).cast(pa.string()), width, "0")

    zone = pa.array(np.where(offset == 3600, "+0100", "+0000"))
    out = pc.binary_join_element_wise(
        text(year, 4), pa.scalar("-"), text(month, 2), pa.scalar("-"), text(day, 2), pa.scalar("T"),
        text(secs // 3600, 2), pa.scalar(":"), text(secs % 3600 // 60, 2), pa.scalar(":"), text(secs % 60, 2),
        zone, "",
    )
    if valid is not None:
        out = pc.if_else(pa.array(valid), out, pa.scalar(None, pa.string()))
    return out


def iso_local_date(epoch: np.ndarray) -> pa.Array:
    """UK local dates (YYYY-MM-DD) of UTC instants."""
    return pc.utf8_slice_codeunits(iso_local(epoch), 0, 10)


def force_tag(force: str) -> str:
    """A prefix that keeps generated identifiers of different forces apart (e.g. 'cambridgeshire-').

    Stores replace extract rows by identifier, so two forces' generated files must not share ids.
    """
    found = force_by_name(force)
    return f"{found.slug}-" if found else ""


def ids(prefix: str, n: int, width: int = 8) -> pa.Array:
    numbers = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), numbers, "")


def _lognormal(rng: np.random.Generator, median: float, spread: float, n: int) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, spread, n))


# -- calls -------------------------------------------------------------------------------

LINE_CYCLES = {
    "999": ("calls_999", "emergency", "emergency"),
    "101": ("calls_101", "non_emergency", "non_emergency"),
    "online": ("online", "non_emergency", "non_emergency"),
    "other": ("calls_101", "non_emergency", "non_emergency"),
}


def calibrate_waits(base: np.ndarray, seconds: float, within: float, abandoned: float) -> tuple[float, float]:
    """Scale ``c`` of waits and patience ``tau`` so that, in expectation, the share answered
    within ``seconds`` (of all calls offered) is ``within`` and the share abandoned is
    ``abandoned``, where a caller waiting W hangs up with probability 1 − exp(−W/tau).

    Solved by nested bisection on a subsample: longer waits mean more abandonment, so both
    targets are met together rather than one at the expense of the other.
    """
    def tau_for(c: float) -> float:
        lo, hi = -5.0, 15.0
        for _ in range(32):
            mid = (lo + hi) / 2
            rate = np.mean(1 - np.exp(-c * base / np.exp(mid)))
            lo, hi = (mid, hi) if rate > abandoned else (lo, mid)
        return float(np.exp((lo + hi) / 2))

    def share(c: float) -> float:
        tau = tau_for(c)
        w = c * base
        return float(np.mean(np.exp(-w / tau) * (w <= seconds)))

    lo, hi = -8.0, 8.0
    for _ in range(32):  # 16 / 2**32: far finer than any target is known
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if share(np.exp(mid)) > within else (lo, mid)
    c = float(np.exp((lo + hi) / 2))
    return c, tau_for(c)


def simulate_calls(rng: np.random.Generator, cal: Calendar, cfg: dict[str, Any], factor: float, force: str) -> pa.Table:
    parts = []
    for line, monthly in cfg["calls"]["monthly"].items():
        month_key, weekday_key, hour_key = LINE_CYCLES[line]
        weights = cycle_weights(cal, cfg["cycles"], month_key, weekday_key, hour_key)
        per_hour = float(monthly) * 12 / 365.25 / HOURS * factor * weights
        offered, rows = draw_times(rng, cal, per_hour)
        n = len(offered)
        answered = np.full(n, -1, dtype=np.int64)
        abandoned = np.zeros(n, dtype=bool)
        answer = cfg["calls"]["answer"].get(line)
        if answer is not None:
            load = (per_hour[rows] / per_hour.mean()) ** float(answer["load"])
            base = np.exp(rng.normal(0.0, float(answer["spread"]), n)) * load
            sample = base[rng.integers(0, n, min(n, 10_000))] if n else base
            c, tau = calibrate_waits(sample, float(answer["seconds"]), float(answer["within"]), float(answer["abandoned"]))
            wait = np.maximum(np.rint(c * base), 1).astype(np.int64)
            abandoned = rng.random(n) < 1 - np.exp(-wait / tau)
            answered = np.where(abandoned, -1, offered + wait)
        elif line == "other":
            answered = offered + np.maximum(np.rint(_lognormal(rng, 8.0, 0.6, n)), 1).astype(np.int64)
        parts.append(pd.DataFrame({"line": line, "offered": offered, "answered": answered, "abandoned": abandoned}))
    calls = pd.concat(parts, ignore_index=True).sort_values("offered", kind="stable").reset_index(drop=True)
    valid = calls["answered"].to_numpy() >= 0
    is_phone = calls["line"].isin(["999", "101"]).to_numpy()
    abandoned_text = np.where(is_phone, np.where(calls["abandoned"], "true", "false"), "")
    return pa.table(
        {
            "call_id": ids(force_tag(force) + "C", len(calls), 9),
            "line": pa.array(calls["line"].to_numpy(), pa.string()),
            "offered_at": iso_local(calls["offered"].to_numpy()),
            "answered_at": iso_local(calls["answered"].to_numpy(), valid),
            "abandoned": pa.array(abandoned_text, pa.string()),
            "force": pa.array(np.full(len(calls), force), pa.string()),
            "generated": pa.array(np.full(len(calls), "true"), pa.string()),
        }
    )


# -- incidents ---------------------------------------------------------------------------


def district_factors(cfg: dict[str, Any], districts: Iterable[str], rng: np.random.Generator) -> dict[str, float]:
    known = cfg["incidents"]["district_response"]
    return {d: float(known[d]) if d in known else float(rng.uniform(0.9, 1.15)) for d in sorted(set(districts))}


def simulate_incidents(
    rng: np.random.Generator, cal: Calendar, cfg: dict[str, Any], factor: float, force: str, geo: Geography
) -> pa.Table:
    inc = cfg["incidents"]
    cats = inc["categories"]
    names = list(cats)
    share = np.array([cats[c]["share"] for c in names], float)
    trend = np.array([cats[c]["trend"] for c in names], float)
    years = cal.hours["years"].to_numpy()
    mix = share[None, :] * (1 + trend[None, :]) ** years[:, None]  # per calendar hour
    level = mix.sum(axis=1)
    weights = cycle_weights(cal, cfg["cycles"], "incidents", "emergency", "emergency") * level
    per_hour = float(inc["per_day"]) / HOURS * factor * weights
    created, rows = draw_times(rng, cal, per_hour)
    n = len(created)
    probs = mix[rows] / level[rows, None]
    closing = (probs.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, len(names) - 1)
    recat = rng.random(n) < float(inc["recategorised"])
    other = rng.choice(len(names), size=n, p=share / share.sum())
    opening = np.where(recat & (other != closing), other, closing)

    grade_p = np.array([[cats[c]["immediate"], cats[c]["prompt"], cats[c]["scheduled"]] for c in names])[closing]
    grade_idx = (grade_p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    grades = np.array(["immediate", "prompt", "scheduled", "resolved_without_deployment"])[grade_idx]

    where = geo.draw(rng, n)
    district = geo.district[where]
    dfac = district_factors(cfg, geo.district, rng)
    travel = np.array([dfac[d] for d in district])
    hour_rows = cal.hours.iloc[rows]
    late = (hour_rows["hour"].to_numpy() >= 22) | (hour_rows["hour"].to_numpy() < 3)
    minutes = np.full(n, np.nan)
    for g, spec in inc["response"].items():
        mine = grades == g
        attended = mine & (rng.random(n) < float(spec["attended"]))
        raw = np.exp(rng.normal(0.0, float(spec["spread"]), n)) * travel * np.where(late, 1.1, 1.0)
        if attended.any():
            # scale so the force-wide median is the calibrated one whatever the district mix
            raw = raw * float(spec["median"]) / float(np.median(raw[attended]))
        minutes = np.where(attended, np.minimum(raw, 31 * 24 * 60 - 1), minutes)
    arrival = created + np.rint(np.nan_to_num(minutes) * 60).astype(np.int64)
    has_arrival = ~np.isnan(minutes)
    handling = np.rint(_lognormal(rng, 90 * 60, 0.8, n)).astype(np.int64)
    closed = np.where(has_arrival, arrival, created) + handling
    still_open = closed >= cal.end_epoch
    labels = np.array(names)
    return pa.table(
        {
            "incident_id": ids(force_tag(force) + "INC", n, 8),
            "created_at": iso_local(created),
            "grade": pa.array(grades, pa.string()),
            "opening_category": pa.array(labels[opening], pa.string()),
            "closing_category": pa.array(np.where(still_open, "", labels[closing]), pa.string()),
            "district": pa.array(district, pa.string()),
            "lsoa_code": pa.array(geo.lsoa[where], pa.string()),
            "first_arrival_at": iso_local(arrival, has_arrival & (arrival < cal.end_epoch)),
            "closed_at": iso_local(closed, ~still_open),
            "force": pa.array(np.full(n, force), pa.string()),
            "generated": pa.array(np.full(n, "true"), pa.string()),
        }
    )


# -- writing -----------------------------------------------------------------------------


def write_csv(table: pa.Table, path: Path) -> Path:
    """Write a CSV, quoting values only when some value needs it (smaller, faster to read)."""
    needs = any(
        pc.any(pc.match_substring_regex(col, r'[,"\r\n]')).as_py()
        for col in table.columns
        if pa.types.is_string(col.type)
    )
    pv.write_csv(table, path, write_options=pv.WriteOptions(quoting_style="needed" if needs else "none"))
    return path


README = """# GENERATED DATA — NOT REAL POLICE RECORDS

Every file in this folder was written by `thrv simulate` (thrv {version}) to stand in for force
extracts that no force publishes: calls, incidents (command and control), recorded crimes and
survey responses. They are drawn at random to match published figures; no row describes a
real call, incident, crime, victim, suspect or survey respondent. Every row carries
`generated = true`, and thrv's reports label any figure computed from them as generated.

- force: {force}
- period: {first:%Y-%m} to {last:%Y-%m} ({months} months)
- seed: {seed}; scale: {scale}
- rows: {rows}

Load them with `thrv ingest {folder}` (the same checks as a real extract).

## What they are calibrated to

{calibration}

The full calibration, with every source, is `calibration.toml` beside these files (a copy of
thrv's `data/config/simulate.toml`), and docs/simulate.md and docs/demand.md describe the method.
Figures marked ASSUMPTION there have no published source.
"""

CALIBRATION_SUMMARY = """- 999 calls about {c999:,.0f} a month, {w999:.0%} answered within 10 s, {a999:.0%} abandoned
  (Cambridgeshire demand hub figures 2018 and 2021; national standard 90% in 10 s);
- 101 calls about {c101:,.0f} a month, {w101:.0%} answered within 30 s (ASSUMPTION: no
  national 101 series is published);
- about {per_day:,.0f} incidents a day; immediate response median about {imm:.0f} minutes and
  prompt about {prompt:.0f} minutes (the calibration figures, consistent with force FOI answers);
- recorded crime by category at the monthly means of Cambridgeshire's 2024-2025
  data.police.uk records, with their month-of-year pattern;
- victim satisfaction (whole experience) about {vs:.0%} from about {vn} interviews a month;
  public confidence as the Crime Survey for England and Wales (year ending March 2025);
- month-of-year, day-of-week and hour-of-day cycles; volumes scaled by population for
  forces other than Cambridgeshire."""


def readme_text(cfg: dict[str, Any], meta: dict[str, Any]) -> str:
    calls = cfg["calls"]
    summary = CALIBRATION_SUMMARY.format(
        c999=calls["monthly"]["999"] * meta["factor"], w999=calls["answer"]["999"]["within"],
        a999=calls["answer"]["999"]["abandoned"], c101=calls["monthly"]["101"] * meta["factor"],
        w101=calls["answer"]["101"]["within"], per_day=cfg["incidents"]["per_day"] * meta["factor"],
        imm=cfg["incidents"]["response"]["immediate"]["median"],
        prompt=cfg["incidents"]["response"]["prompt"]["median"],
        vs=cfg["surveys"]["victim_satisfaction"]["questions"]["whole_experience"],
        vn=cfg["surveys"]["victim_satisfaction"]["respondents"],
    )
    rows = ", ".join(f"{name} {n:,}" for name, n in meta["rows"].items())
    return README.format(
        version=__version__, force=meta["force"], first=meta["first"], last=meta["last"], months=meta["months"],
        seed=meta["seed"], scale=meta["scale"], rows=rows, folder=meta["folder"], calibration=summary,
    )


def simulate(
    out: Path,
    seed: int = 0,
    months: int = 36,
    end: dt.date | None = None,
    force: str = "Cambridgeshire Constabulary",
    scale: float = 1.0,
) -> list[Path]:
    """Write generated calls, incidents, force_crimes and survey_responses CSVs (and a README).

    ``end`` is the last month (default: the last complete month); ``scale`` multiplies the
    volumes of calls, incidents and crimes (e.g. 0.1 for a quick demonstration), leaving survey
    sample sizes as published. The same seed always writes the same files.
    """
    from thrv.demand.simulate_records import link_victim_crimes, simulate_crimes, simulate_surveys

    if months < 1:
        raise ValueError("months must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    found = force_by_name(force)
    if found is None:
        raise ValueError(f"{force!r} is not a force thrv knows; use its published name, e.g. 'Cambridgeshire Constabulary'")
    force = found.name
    cfg = load_calibration()
    last = end.replace(day=1) if end else default_end()
    cal = Calendar(add_months(last, -(months - 1)), last)
    factor = force_population(force) / float(cfg["basis"]["population"]) * scale
    rng = np.random.default_rng(seed)
    geo = force_geography(force, rng)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "calls": simulate_calls(rng, cal, cfg, factor, force),
        "incidents": simulate_incidents(rng, cal, cfg, factor, force, geo),
        "force_crimes": simulate_crimes(rng, cal, cfg, factor, force, geo),
        "survey_responses": simulate_surveys(rng, cal, cfg, force, geo),
    }
    # victims' crimes drawn from their own stream, so the other files stay as they were
    tables["survey_responses"] = link_victim_crimes(tables["survey_responses"], tables["force_crimes"], np.random.default_rng([seed, 14]))
    written = [write_csv(table, out / f"{name}.csv") for name, table in tables.items()]
    meta = {
        "generated": True,
        "generator": f"thrv simulate {__version__}",
        "force": force, "first": cal.first, "last": cal.last, "months": months, "seed": seed, "scale": scale,
        "factor": factor, "rows": {name: t.num_rows for name, t in tables.items()}, "folder": str(out),
    }
    (out / "README.md").write_text(readme_text(cfg, meta), encoding="utf-8")
    (out / "calibration.toml").write_text(CALIBRATION.read_text(encoding="utf-8"), encoding="utf-8")
    manifest = {**meta, "first": f"{cal.first:%Y-%m}", "last": f"{cal.last:%Y-%m}", "files": [p.name for p in written]}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return [*written, out / "README.md"]
