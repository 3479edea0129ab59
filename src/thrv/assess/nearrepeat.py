"""Near repeats: after a crime, are more crimes of the same type nearby soon after than chance allows?

The Knox test (:mod:`thrv.stats.knox`) on the records the store holds, one crime type at a
time, with the bands and permutations of ``near_repeat.toml``. Two sources:

* **data.police.uk** (``crimes``): the month only, and every crime moved to one of a set of
  anonymous map points (a street's centre or a public place). Time bands are whole months
  between the months recorded — a "same month" pair may be 0–30 days apart, a "1 month"
  pair 1–61 days — and the shortest distances cannot be resolved: two crimes at one address
  share a point, while neighbours may sit at the same point or at points a few hundred
  metres apart. So the "same place" band mixes repeats with near repeats, and bands under
  about 200 m say little.
* **a force's recorded-crime extract** (``force_crimes``): the date each crime was committed
  (``committed_from``, else the date recorded) and the location the force holds, so bands
  can be in days. In the bundled demo this extract is generated, and results say so.

Coordinates are projected to the British National Grid (EPSG:27700), so distances are in
metres along the ground and Manhattan distance runs along the grid's axes.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thrv.assess.scope import Scope
from thrv.reference import DATA
from thrv.stats import benjamini_hochberg
from thrv.stats.knox import KnoxResult, knox_test

DEFAULT_CONFIG = DATA / "config" / "near_repeat.toml"
SOURCES = ("police-uk", "force-extract")
CAVEAT_SNAPPING = (
    "data.police.uk moves every crime to one of a limited set of anonymous map points (a street's centre or a "
    "public place), so distances are between those points: the shortest distances cannot be resolved, the "
    "'same place' band mixes repeats at one address with near repeats at neighbours sharing a point, and bands "
    "under about 200 m say little.")
CAVEAT_MONTHS = (
    "data.police.uk gives only the month of each crime, not the day, so time is counted in whole months between "
    "the months recorded: a 'same month' pair may be 0–30 days apart and a '1 month' pair 1–61 days. The usual "
    "near-repeat window of a few weeks falls inside the first one or two bands and cannot be narrowed further; "
    "days come only from a force's recorded-crime extract.")
CAVEAT_EXTRACT = (
    "Days are the date each crime was committed (committed_from), else the date it was recorded, from the force's "
    "recorded-crime extract; locations are those the force holds.")


class NearRepeatError(ValueError):
    """The analysis cannot run as asked; the message says why, in one line."""


@dataclass(frozen=True)
class NearRepeatConfig:
    """Bands and test settings (``near_repeat.toml``)."""

    distance_edges_police_uk: tuple[float, ...] = (0, 200, 400, 600, 800, 1000)
    time_edges_months: tuple[float, ...] = (0, 1, 2, 3, 6)
    distance_edges_extract: tuple[float, ...] = (0, 100, 200, 300, 400)
    time_edges_days: tuple[float, ...] = (7, 14, 21, 28)
    permutations: int = 999
    seed: int = 0
    metric: str = "euclidean"
    alpha: float = 0.05
    min_ratio: float = 1.2
    crime_types: tuple[str, ...] = ()
    assessment_permutations: int = 199
    path: str = ""


def load_config(path: Path | None = None) -> NearRepeatConfig:
    """Read a near_repeat.toml (the shipped one by default); a bad file gets a one-line error."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise NearRepeatError(f"{path}: cannot read the near-repeat configuration ({exc})") from exc
    test, pol, ext, asm = (doc.get(k, {}) for k in ("test", "police_uk", "force_extract", "assessment"))
    base = NearRepeatConfig()
    try:
        cfg = NearRepeatConfig(
            distance_edges_police_uk=tuple(float(v) for v in pol.get("distance_edges_m", base.distance_edges_police_uk)),
            time_edges_months=tuple(float(v) for v in pol.get("time_edges_months", base.time_edges_months)),
            distance_edges_extract=tuple(float(v) for v in ext.get("distance_edges_m", base.distance_edges_extract)),
            time_edges_days=tuple(float(v) for v in ext.get("time_edges_days", base.time_edges_days)),
            permutations=int(test.get("permutations", base.permutations)),
            seed=int(test.get("seed", base.seed)),
            metric=str(test.get("metric", base.metric)),
            alpha=float(test.get("alpha", base.alpha)),
            min_ratio=float(test.get("min_ratio", base.min_ratio)),
            crime_types=tuple(str(v) for v in asm.get("crime_types", ())),
            assessment_permutations=int(asm.get("permutations", base.assessment_permutations)),
            path=str(path),
        )
    except (TypeError, ValueError) as exc:
        raise NearRepeatError(f"{path}: {exc}") from exc
    if cfg.metric not in ("euclidean", "manhattan"):
        raise NearRepeatError(f"{path}: metric must be 'euclidean' or 'manhattan', got {cfg.metric!r}")
    if cfg.permutations < 1 or cfg.assessment_permutations < 1:
        raise NearRepeatError(f"{path}: permutations must be at least 1")
    from thrv.reference import crime_type_slugs

    unknown = [t for t in cfg.crime_types if t not in crime_type_slugs()]
    if unknown:
        raise NearRepeatError(f"{path}: unknown crime type(s) {', '.join(unknown)}")
    return cfg


@cache
def _transformer() -> Any:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def to_national_grid(longitude: Sequence[float] | np.ndarray, latitude: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude to British National Grid easting/northing, metres."""
    x, y = _transformer().transform(np.asarray(longitude, dtype=float), np.asarray(latitude, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def police_uk_events(con: Any, scope: Scope, crime_type: str | Sequence[str], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Located street-level crimes of the type(s) in the scope's districts: crime_type, longitude,
    latitude, month (one query for every type asked for)."""
    from thrv.assess.query import scoped_records

    types = [crime_type] if isinstance(crime_type, str) else list(crime_type)
    t = scoped_records(con, scope, first, last)
    t = t.filter(t.crime_type.isin(types) & t.latitude.notnull() & t.longitude.notnull()
                 & t.district_code.isin(scope.district_codes))
    frame = t.select("crime_type", "longitude", "latitude", "month").to_pandas()
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def extract_events(con: Any, scope: Scope, crime_type: str, first: dt.date, last: dt.date) -> tuple[pd.DataFrame, dict[str, int]]:
    """Located extract crimes of one type: longitude, latitude, day (committed, else recorded)."""
    from thrv.assess.vulnerability import scoped_force_crimes

    t = scoped_force_crimes(con, scope, first, last)
    if t is None:
        raise NearRepeatError("the store holds no force crime extract (force_crimes): load one, or use --source police-uk")
    t = t.filter((t.crime_type == crime_type) & t.latitude.notnull() & t.longitude.notnull())
    frame = t.select("longitude", "latitude", "committed_from", "recorded_at", "generated").to_pandas()
    when = pd.to_datetime(frame["committed_from"], utc=True).fillna(pd.to_datetime(frame["recorded_at"], utc=True))
    local = when.dt.tz_convert("Europe/London").dt.tz_localize(None).dt.normalize()
    counts = {"committed": int(frame["committed_from"].notna().sum()),
              "recorded": int(frame["committed_from"].isna().sum()),
              "generated": int(frame["generated"].fillna(False).astype(bool).sum())}
    return pd.DataFrame({"longitude": frame["longitude"], "latitude": frame["latitude"], "day": local}), counts


def knox_for(events: pd.DataFrame, source: str, config: NearRepeatConfig,
             permutations: int | None = None) -> KnoxResult:
    """The Knox table of one set of events, in months (police.uk) or days (extract)."""
    x, y = to_national_grid(events["longitude"].to_numpy(), events["latitude"].to_numpy())
    if source == "police-uk":
        m = events["month"]
        t = (m.dt.year * 12 + m.dt.month - 1).to_numpy(float)
        d_edges, t_edges, unit, zero = config.distance_edges_police_uk, config.time_edges_months, "months", "same month"
    else:
        t = (events["day"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy(float)
        d_edges, t_edges, unit, zero = config.distance_edges_extract, config.time_edges_days, "days", "same day"
    return knox_test(x, y, t, d_edges, t_edges, metric=config.metric,  # type: ignore[arg-type]
                     permutations=config.permutations if permutations is None else permutations,
                     seed=config.seed, time_unit=unit, time_zero_label=zero)


def summarise(result: KnoxResult, crime_type: str, config: NearRepeatConfig) -> dict[str, Any]:
    """The table with BH q-values and the cells flagged, and one sentence on what they show."""
    table = result.table()
    table["q_value"] = benjamini_hochberg(table["p_value"].to_numpy(float))
    last_d, last_t = result.distance_labels[-1], result.time_labels[-1]
    finite = (table["distance_band"] != last_d) & (table["time_band"] != last_t)
    flagged = table[finite & (table["p_value"] < config.alpha) & (table["knox_ratio"] >= config.min_ratio)]
    same_label = result.distance_labels[0] if result.distance_labels[0].startswith("same") else None
    near = flagged[flagged["distance_band"] != same_label]
    same = flagged[flagged["distance_band"] == same_label]

    def cells(rows: pd.DataFrame, where: bool) -> str:
        return "; ".join(
            (f"{r.distance_band} apart, " if where else "") + f"{r.time_band}: {r.knox_ratio:.2f}× the pairs expected "
            f"(p = {r.p_value:.3f})" for r in rows.head(4).itertuples(index=False))

    parts = []
    if len(near):
        parts.append(f"near repeats — {cells(near, True)}")
    if len(same):
        parts.append(f"{'Repeats' if parts else 'repeats'} at the same map point — {cells(same, False)}")
    sentence = f"{crime_type}: " + (". ".join(parts) if parts else "no space–time band holds significantly more pairs than chance") + "."
    return {
        "crime_type": crime_type, "events": result.events, "pairs": result.pairs, "close_pairs": result.close_pairs,
        "distance_bands": result.distance_labels, "time_bands": result.time_labels,
        "table": table.to_dict("records"), "flagged": flagged.to_dict("records"), "near_repeat": bool(len(near)),
        "summary": sentence, "method": result.method,
    }


def analyse(con: Any, scope: Scope, crime_types: Sequence[str], first: dt.date, last: dt.date,
            config: NearRepeatConfig, source: str = "police-uk") -> dict[str, Any]:
    """Knox tables for each crime type (those with at least two located records)."""
    if source not in SOURCES:
        raise NearRepeatError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    extra: dict[str, int] = {}
    located = police_uk_events(con, scope, crime_types, first, last) if source == "police-uk" else None
    for ct in crime_types:
        if located is not None:
            events = located[located["crime_type"] == ct]
        else:
            events, counts = extract_events(con, scope, ct, first, last)
            for k, v in counts.items():
                extra[k] = extra.get(k, 0) + v
        if len(events) < 2:
            skipped.append({"crime_type": ct, "reason": f"{len(events)} located record(s) in the period; the test needs two or more"})
            continue
        rows.append(summarise(knox_for(events, source, config), ct, config))
    caveats = [CAVEAT_SNAPPING, CAVEAT_MONTHS] if source == "police-uk" else [CAVEAT_EXTRACT]
    if source == "force-extract" and extra.get("generated"):
        caveats.append(f"{extra['generated']:,} of the extract's records used are generated (simulated), not real: the "
                       "results illustrate the method only.")
    return {
        "source": source, "time_unit": "months" if source == "police-uk" else "days",
        "metric": config.metric, "permutations": config.permutations, "seed": config.seed,
        "alpha": config.alpha, "min_ratio": config.min_ratio, "config": config.path,
        "projection": "British National Grid (EPSG:27700)",
        "max_distance_m": (config.distance_edges_police_uk if source == "police-uk" else config.distance_edges_extract)[-1],
        "types": rows, "skipped": skipped, "caveats": caveats,
        "days_from": extra if source == "force-extract" else None,
        "method": ("Knox test per crime type: every pair of crimes placed in a distance band and a time band; expected "
                   "pairs = exact mean over permutations of the times (S·T/P); one-sided Monte Carlo p-values from "
                   f"{config.permutations:,} seeded permutations of the times, (1 + #≥)/(1 + N); Benjamini–Hochberg "
                   f"q within each table. A cell is flagged when p < {config.alpha:g} and the Knox ratio is at least "
                   f"{config.min_ratio:g}."),
    }




def section(con: Any, scope: Scope, first: dt.date, last: dt.date, path: Path | None = None) -> dict[str, Any]:
    """The assessment's near-repeat section: the configured crime types, police.uk months."""
    from dataclasses import replace

    cfg = load_config(path)
    cfg = replace(cfg, permutations=cfg.assessment_permutations)
    out = analyse(con, scope, cfg.crime_types, first, last, cfg, "police-uk")
    out["command"] = ("thrv near-repeat --crime-type TYPE --from YYYY-MM --to YYYY-MM --out DIR "
                      "(any type, 999 permutations; --source force-extract for days)")
    return out


__all__ = ["NearRepeatConfig", "NearRepeatError", "analyse", "extract_events", "knox_for", "load_config",
           "police_uk_events", "section", "summarise", "to_national_grid"]
