"""Similar areas: which forces and districts are most like this one, and how its crime compares.

"National" in a pack means the forces the store happens to hold; a fairer comparison is with
areas of like size, density, deprivation and age structure, as HMICFRS's most similar
groups of forces and the Home Office's most similar CSP groups do. The groups here are
computed from public figures shipped with thrv (``area_profiles.csv``: Census 2021 residents,
age and household deprivation, Census 2011 land area) by a documented rule, or read from an
official list:

1. each variable of ``similar.toml`` is transformed (log for residents and density, whose
   spread is multiplicative) and turned into a z-score over every area of its level in
   England and Wales (43 force areas, 318 districts);
2. the distance between two areas is the standardised Euclidean distance
   √(Σ wᵥ (zᵥ(a) − zᵥ(b))²), weights wᵥ from the file;
3. an area's group is the k areas nearest to it (7 forces, 15 districts by default; ties
   to the lower code). Groups are not symmetric: B may be in A's group and not A in B's.

Rates (crimes per 1,000 residents a year) can only be compared with group members whose
records the store holds; the funnel plot of the area and those members has Spiegelhalter's
over-dispersion-aware limits (:mod:`thrv.stats.funnel`). With one force in the store the
group is still shown, and what cannot be compared is said.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ibis import _

from thrv.assess.harm import ASB
from thrv.assess.scope import Scope
from thrv.indicators.rollup import UNLOCATED
from thrv.reference import DATA, REFERENCE

DEFAULT_CONFIG = DATA / "config" / "similar.toml"
PROFILES = REFERENCE / "area_profiles.csv"
LEVELS = ("force", "district")
ALL_CRIME = "All crime (excluding ASB)"
VARIABLE_TITLES = {
    "population": "Residents (Census 2021)",
    "density_per_ha": "Residents per hectare",
    "deprived_2plus_pct": "Households deprived in 2+ dimensions, %",
    "aged_16_24_pct": "Aged 16–24, %",
    "aged_65_plus_pct": "Aged 65 and over, %",
    "area_ha": "Area, hectares",
    "households": "Households",
}
SHORT_TITLES = {
    "population": "residents", "density_per_ha": "residents per hectare",
    "deprived_2plus_pct": "% of households deprived in 2+ dimensions", "aged_16_24_pct": "% aged 16–24",
    "aged_65_plus_pct": "% aged 65+", "area_ha": "area", "households": "households",
}
TRANSFORMS = ("log", "none")


class SimilarError(ValueError):
    """A bad configuration or official list; the message says why, in one line."""


@dataclass(frozen=True)
class Variable:
    column: str
    transform: str = "none"
    weight: float = 1.0


@dataclass(frozen=True)
class SimilarConfig:
    variables: tuple[Variable, ...]
    k_force: int = 7
    k_district: int = 15
    official: Path | None = None
    path: str = ""

    def k(self, level: str) -> int:
        return self.k_force if level == "force" else self.k_district


@cache
def load_profiles() -> pd.DataFrame:
    """The shipped area profiles: one row per force area and district of England and Wales."""
    return pd.read_csv(PROFILES, dtype={"code": str, "pfa_code": str}, keep_default_na=False,
                       na_values={"population": [""]})


def load_config(path: Path | None = None) -> SimilarConfig:
    """Read similar.toml (the shipped one by default); a bad file gets a one-line error."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SimilarError(f"{path}: cannot read the similar-area configuration ({exc})") from exc
    columns = set(load_profiles().columns) - {"level", "code", "name", "pfa_code", "pfa_name"}
    variables = []
    for raw in doc.get("variable", []):
        column = str(raw.get("column", ""))
        if column not in columns:
            raise SimilarError(f"{path}: variable column {column!r} is not in area_profiles.csv; choose from {', '.join(sorted(columns))}")
        transform = str(raw.get("transform", "none"))
        if transform not in TRANSFORMS:
            raise SimilarError(f"{path}: transform of {column} must be one of {', '.join(TRANSFORMS)}, got {transform!r}")
        weight = float(raw.get("weight", 1.0))
        if not math.isfinite(weight) or weight < 0:
            raise SimilarError(f"{path}: weight of {column} must be 0 or more, got {weight}")
        variables.append(Variable(column, transform, weight))
    if not variables or not any(v.weight > 0 for v in variables):
        raise SimilarError(f"{path}: at least one [[variable]] with a positive weight is needed")
    groups = doc.get("groups", {})
    k_force, k_district = int(groups.get("force", 7)), int(groups.get("district", 15))
    if k_force < 1 or k_district < 1:
        raise SimilarError(f"{path}: group sizes must be at least 1")
    official = groups.get("official")
    official_path = (path.parent / official) if official and not Path(official).is_absolute() else (Path(official) if official else None)
    return SimilarConfig(tuple(variables), k_force, k_district, official_path, str(path))


def standardised(profiles: pd.DataFrame, level: str, variables: Sequence[Variable]) -> pd.DataFrame:
    """Weighted z-scores (√w · z) of the transformed variables, one row per area (index: code)."""
    rows = profiles[profiles["level"] == level].set_index("code")
    out = {}
    for v in variables:
        x = rows[v.column].to_numpy(float)
        if v.transform == "log":
            x = np.log(x)
        sd = float(x.std())
        z = (x - x.mean()) / sd if sd > 0 else x * 0.0
        out[v.column] = z * math.sqrt(v.weight)
    return pd.DataFrame(out, index=rows.index)


@cache
def _shipped_distances(level: str, variables: tuple[Variable, ...]) -> pd.DataFrame:
    return distance_matrix(load_profiles(), level, variables)


def distance_matrix(profiles: pd.DataFrame, level: str, variables: Sequence[Variable]) -> pd.DataFrame:
    """Standardised Euclidean distance between every pair of areas of one level."""
    z = standardised(profiles, level, variables)
    a = z.to_numpy(float)
    d = np.sqrt(np.maximum(((a[:, None, :] - a[None, :, :]) ** 2).sum(axis=2), 0.0))
    return pd.DataFrame(d, index=z.index, columns=z.index)


def computed_groups(profiles: pd.DataFrame, level: str, config: SimilarConfig) -> pd.DataFrame:
    """area_code, rank, member_code, distance: each area's k nearest (ties to the lower code)."""
    if profiles is load_profiles():  # the shipped profiles: computed once per configuration
        return _shipped_groups(level, config)
    return _groups(profiles, level, config)


@cache
def _shipped_groups(level: str, config: SimilarConfig) -> pd.DataFrame:
    return _groups(load_profiles(), level, config)


def _groups(profiles: pd.DataFrame, level: str, config: SimilarConfig) -> pd.DataFrame:
    d = distance_matrix(profiles, level, config.variables)
    codes = d.index.to_numpy()
    k = min(config.k(level), len(codes) - 1)
    rows: list[tuple[str, int, str, float]] = []
    for i, code in enumerate(codes):
        dist = d.iloc[i].to_numpy(float)
        nearest = [int(j) for j in np.lexsort((codes, dist)) if j != i][:k]
        rows.extend((str(code), r + 1, str(codes[j]), float(dist[j])) for r, j in enumerate(nearest))
    return pd.DataFrame(rows, columns=["area_code", "rank", "member_code", "distance"])


def _resolver(profiles: pd.DataFrame, level: str) -> dict[str, str]:
    """Names and codes (any case) of one level's areas → code; forces also by published force name."""
    rows = profiles[profiles["level"] == level]
    out = {str(c).lower(): str(c) for c in rows["code"]}
    out.update({str(n).lower(): str(c) for n, c in zip(rows["name"], rows["code"], strict=True)})
    if level == "force":
        from thrv.reference import forces

        by_pfa = {str(n).lower(): str(c) for n, c in zip(rows["name"], rows["code"], strict=True)}
        for f in forces():
            if f.pfa_code:
                out[f.name.lower()] = f.pfa_code
                out[f.slug.lower()] = f.pfa_code
                out.setdefault(f.pfa_name.lower(), by_pfa.get(f.pfa_name.lower(), f.pfa_code))
    return out


def official_groups(path: Path, profiles: pd.DataFrame) -> pd.DataFrame:
    """An official list (CSV: level, area, member), as (level, area_code, rank, member_code, distance)."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SimilarError(f"{path}: cannot read the official groups ({exc})") from exc
    cols = {c.strip().lower(): c for c in raw.columns}
    missing = [c for c in ("level", "area", "member") if c not in cols]
    if missing:
        raise SimilarError(f"{path}: needs columns level, area, member; missing {', '.join(missing)}")
    rows = []
    for n, r in enumerate(raw.to_dict("records"), start=2):
        level = str(r[cols["level"]]).strip().lower()
        if level not in LEVELS:
            raise SimilarError(f"{path}, line {n}: level must be force or district, got {r[cols['level']]!r}")
        names = _resolver(profiles, level)
        area, member = (names.get(str(r[cols[c]]).strip().lower()) for c in ("area", "member"))
        if area is None or member is None:
            bad = r[cols["area"]] if area is None else r[cols["member"]]
            raise SimilarError(f"{path}, line {n}: {bad!r} is not a {level} of England and Wales")
        rows.append((level, area, member))
    frame = pd.DataFrame(rows, columns=["level", "area_code", "member_code"]).drop_duplicates()
    frame["rank"] = frame.groupby(["level", "area_code"]).cumcount() + 1
    frame["distance"] = np.nan
    return frame


def group_of(code: str, level: str, config: SimilarConfig, profiles: pd.DataFrame | None = None) -> dict[str, Any]:
    """The area's group: its members, their distances and profiles, and how it was made."""
    return groups_of([code], level, config, profiles)[0]


def groups_of(codes: Sequence[str], level: str, config: SimilarConfig,
              profiles: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """:func:`group_of` for many areas of one level, reading the profiles and groups once."""
    profiles = load_profiles() if profiles is None else profiles
    rows = profiles[profiles["level"] == level].set_index("code")
    for code in codes:
        if code not in rows.index:
            raise SimilarError(f"{code!r} is not a {level} in area_profiles.csv")
    d = _shipped_distances(level, config.variables) if profiles is load_profiles() else distance_matrix(profiles, level, config.variables)
    if config.official is not None:
        official = official_groups(config.official, profiles)
        g = official[official["level"] == level]
        method = f"official list ({config.official.name}); distances shown for reference"
    else:
        g = computed_groups(profiles, level, config)
        method = ("the {k} nearest {level}s by standardised Euclidean distance on z-scores of {vars} (over all {n} "
                  "{level}s of England and Wales)").format(
            k=config.k(level), level="force area" if level == "force" else "district", n=len(rows),
            vars=", ".join(f"{'log ' if v.transform == 'log' else ''}{SHORT_TITLES.get(v.column, v.column)}"
                           + (f" (weight {v.weight:g})" if v.weight != 1 else "") for v in config.variables))
    members_of: dict[str, list[tuple[str, int]]] = {}
    for area, member, rank in zip(g["area_code"], g["member_code"], g["rank"], strict=True):
        members_of.setdefault(area, []).append((member, int(rank)))
    columns = [v.column for v in config.variables]
    names = dict(zip(rows.index, (str(n) for n in rows["name"]), strict=True))
    values = dict(zip(rows.index, zip(*(rows[col].to_numpy(float).tolist() for col in columns), strict=True), strict=True))
    at = {c: i for i, c in enumerate(d.index)}
    dist = d.to_numpy(float)

    def profile(c: str) -> dict[str, Any]:
        return {"code": c, "name": names[c], **dict(zip(columns, values[c], strict=True))}

    variables = [{"column": v.column, "title": VARIABLE_TITLES.get(v.column, v.column), "transform": v.transform,
                  "weight": v.weight} for v in config.variables]
    return [{
        "level": level, "code": code, "name": names[code], "method": method,
        "variables": [dict(v) for v in variables],
        "self": profile(code),
        "members": [{**profile(m), "rank": rank, "distance": float(dist[at[code], at[m]])}
                    for m, rank in members_of.get(code, [])],
    } for code in codes]


# -- comparison with what the store holds -------------------------------------------------


def _force_codes(con: Any) -> dict[str, str]:
    """Published force name → PFA code, for the forces of the store's reference table."""
    t = con.table("ref_forces")
    frame = t.filter(t.pfa_code.notnull()).select("name", "pfa_code").to_pandas()
    return {str(n): str(c) for n, c in zip(frame["name"], frame["pfa_code"], strict=True)}


def _counts(con: Any, level: str, forces: Sequence[str], months: Sequence[dt.date], pfa: dict[str, str]) -> pd.DataFrame:
    """Records by unit (PFA or district code), force, crime type and month, for the months given."""
    t = con.table("crimes")
    t = t.filter(t.force.isin(list(forces)) & t.month.isin(list(months)))
    if level == "district":
        ref = con.table("ref_lsoa")
        ref = ref.select(_lsoa=ref.lsoa_code, unit=ref.lad_code)
        t = t.left_join(ref, t.lsoa_code == ref._lsoa)
    else:
        t = t.mutate(unit=t.force)
    frame = t.group_by(["unit", "force", "crime_type", "month"]).aggregate(n=_.count()).to_pandas()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    if level == "force":
        frame["unit"] = frame["force"].map(pfa)
    return frame


def _funnel(units: pd.DataFrame, theme: str, years: float) -> dict[str, Any]:
    """Rates per 1,000 a year of the units, with the pack's funnel limits when three or more.

    The same fit and contours as the pack's comparison of all forces
    (:func:`thrv.stats.funnel.funnel_plot`: Spiegelhalter's limits, widened for
    over-dispersion among the units when it is significant).
    """
    return _funnels([_Units(theme, units["code"].tolist(), units["name"].tolist(), units["population"].to_numpy(float),
                            units["crimes"].to_numpy(float), units["is_area"].tolist())], years)[0]


@dataclass(frozen=True)
class _Units:
    """One funnel's units: an area and the members of its group compared with it."""

    theme: str
    codes: list[str]
    names: list[str]
    population: np.ndarray
    crimes: np.ndarray
    is_area: list[bool]


def _funnels(many: Sequence[_Units], years: float) -> list[dict[str, Any]]:
    """:func:`_funnel` of many sets of units, their limits computed together."""
    from thrv.stats.funnel import funnel_plots

    if not many:
        return []
    # every unit of every set in one array: the rates in one division, the values listed once
    crimes = np.concatenate([u.crimes for u in many])
    population = np.concatenate([u.population for u in many])
    exposure = population * years
    rates = (crimes / exposure * 1000).tolist()
    ends = np.cumsum([len(u.codes) for u in many]).tolist()
    starts = [0, *ends[:-1]]
    fitted = [i for i, (u, a, b) in enumerate(zip(many, starts, ends, strict=True))
              if len(u.codes) >= 3 and not crimes[a:b].sum() <= 0]
    plots = dict(zip(fitted, funnel_plots([(crimes[starts[i]:ends[i]], exposure[starts[i]:ends[i]]) for i in fitted],
                                          points=40, years=years), strict=True))
    crimes_, population_ = crimes.tolist(), population.tolist()
    out: list[dict[str, Any]] = []
    for i, (u, a, b) in enumerate(zip(many, starts, ends, strict=True)):
        entry: dict[str, Any] = {"theme": u.theme, "title": f"{u.theme}: per 1,000 residents a year"}
        rows = [{"force": str(n), "code": str(c), "crimes": k, "population": p, "rate_per_1000": r, "is_area": bool(x)}
                for n, c, k, p, r, x in zip(u.names, u.codes, crimes_[a:b], population_[a:b], rates[a:b], u.is_area, strict=True)]
        plot = plots.get(i)
        if plot is None:
            entry.update({"forces": rows, "target": None, "limits": [], "method": "too few areas for a funnel (three needed)"})
        else:
            f = plot.fit
            for row, z, place in zip(rows, f.z.tolist(), plot.position, strict=True):
                row.update({"z": z if math.isfinite(z) else None, "position": place})
            entry.update({"forces": rows, "target": f.target, "phi": f.phi, "overdispersed": f.overdispersed,
                          "method": f.method, "limits": plot.limits})
        out.append(entry)
    return out


def compare(con: Any, scope: Scope, period: Sequence[dt.date], config: SimilarConfig,
            themes: Sequence[str] = (ALL_CRIME,), with_districts: bool = True) -> dict[str, Any]:
    """The scope's similar group (force or district), and its rates against the members the store holds."""
    from thrv.assess.scope import crime_forces

    profiles = load_profiles()
    held_forces = crime_forces(con)
    pfa = _force_codes(con)
    out: dict[str, Any] = {"config": config.path, "official": str(config.official) if config.official else None}
    if scope.level == "force":
        code = pfa.get(scope.forces[0])
        out["groups"] = [_compare_one(con, "force", code, scope.name, period, config, profiles, held_forces, pfa, themes)] if code else []
        districts = scope.districts if with_districts else scope.districts.iloc[0:0]
    elif scope.level == "district":
        out["groups"] = []
        districts = scope.districts
    else:
        out["groups"] = []
        districts = scope.districts if with_districts else scope.districts.iloc[0:0]
        out["note"] = (f"A similar group is defined for a force area or a district, not for {scope.name} ({scope.level}); "
                       "the groups of its districts are shown.")
    out["districts"] = [_compare_one(con, "district", str(r.district_code), str(r.district), period, config, profiles,
                                     held_forces, pfa, themes)
                        for r in districts.itertuples(index=False)]
    return out


def _compare_one(con: Any, level: str, code: str, name: str, period: Sequence[dt.date], config: SimilarConfig,
                 profiles: pd.DataFrame, held_forces: list[str], pfa: dict[str, str], themes: Sequence[str]) -> dict[str, Any]:
    group = group_of(code, level, config, profiles)
    rows = profiles[profiles["level"] == level].set_index("code")
    if level == "force":
        held_codes = {c: f for f, c in pfa.items() if f in held_forces}
    else:
        held_pfa = {c for f, c in pfa.items() if f in held_forces}
        held_codes = {str(c): "" for c, p in zip(rows.index, rows["pfa_code"], strict=True) if p in held_pfa}
    members = [m["code"] for m in group["members"]]
    held = [m for m in members if m in held_codes]
    group["held"] = held
    group["not_held"] = [m for m in members if m not in held_codes]
    years = len(period) / 12.0
    if not held:
        group["comparison"] = []
        group["note"] = (f"The store holds none of {name}'s {len(members)} similar {level}s, so its rates cannot be compared "
                         "with them; load their data.police.uk files (thrv ingest) to compare.")
        return group
    forces = sorted({f for f in held_forces if pfa.get(f) in ({code, *held} if level == "force" else set(rows.loc[[code, *held], "pfa_code"]))})
    counts = _counts(con, level, forces, period, pfa)
    # a unit compares only when its force published every month of the period
    months_by_force = counts.groupby("force")["month"].nunique()
    complete = {f for f, n in months_by_force.items() if n >= len(period)}
    units = [code, *held]
    unit_force = counts.drop_duplicates("unit").set_index("unit")["force"]
    usable = [u for u in units if unit_force.get(u) in complete]
    partial = [u for u in units if u not in usable]
    many = []
    names = [str(rows.loc[u, "name"]) for u in usable]
    population = np.array([float(rows.loc[u, "population"]) for u in usable], dtype=float)
    for theme in themes:
        sel = counts[counts["crime_type"] != ASB] if theme == ALL_CRIME else counts[counts["crime_type"] == theme]
        per = sel.groupby("unit")["n"].sum()
        many.append(_Units(theme, list(usable), names, population,
                           np.array([float(per.get(u, 0)) for u in usable], dtype=float), [u == code for u in usable]))
    group["comparison"] = _funnels(many, years)
    notes = []
    if partial:
        notes.append("Left out for missing months: " + ", ".join(str(rows.loc[u, "name"]) for u in partial) + ".")
    if group["not_held"]:
        notes.append(f"{len(group['not_held'])} of the {len(members)} similar {level}s are not in the store, so the "
                     "comparison is with the " + (f"{len(usable) - 1} held" if len(usable) > 1 else "none held") + ".")
    group["note"] = " ".join(notes)
    return group


def pack_section(table: pd.DataFrame, titles: dict[str, str], config: SimilarConfig | None = None,
                 levels: Sequence[str] = LEVELS) -> dict[str, Any]:
    """For a performance pack: each force's (and district's) rolling-12-month rates per 1,000
    residents against the members of its similar group that the pack also holds.

    ``table``: the pack's rows (indicator, level, force, area, area_code, rolling_12m,
    population, rate_per_1000); ``titles``: indicator id → title. Pure: no store access.
    """
    from thrv.reference import force_by_name

    config = config or load_config()
    profiles = load_profiles()
    cols = {"indicator", "level", "force", "area", "area_code", "rolling_12m", "population", "rate_per_1000"}
    if not cols <= set(table.columns):
        return {"groups": [], "note": "The pack has no rates per 1,000 residents."}
    t = table[table["rate_per_1000"].notna() & table["rolling_12m"].notna() & (table["population"] > 0)].copy()
    code_of = {}
    for name in t.loc[t["level"] == "force", "force"].unique():
        f = force_by_name(str(name))
        if f is not None and f.pfa_code:
            code_of[str(name)] = f.pfa_code
    t["unit_code"] = np.where(t["level"] == "force", t["force"].map(code_of), t["area_code"])
    # the pack's "Unlocated" district row (records without an LSOA in the force) is no area:
    # it has no profile and no residents, so it neither has a group nor joins one
    t = t[t["level"].isin(list(levels)) & t["unit_code"].notna() & (t["unit_code"] != "")
          & ~((t["level"] == "district") & (t["area"] == UNLOCATED))]
    groups = []
    name_of: dict[tuple[str, str], str] = {}
    for lvl, c, n in zip(profiles["level"], profiles["code"], profiles["name"], strict=True):
        name_of.setdefault((str(lvl), str(c)), str(n))
    for level in levels:
        lv = t[t["level"] == level]
        names = lv.drop_duplicates("unit_code").set_index("unit_code")["force" if level == "force" else "area"]
        # each unit's (population, rolling 12 months) per indicator, looked up rather than filtered
        # per group: a national pack has thousands of groups
        order = list(dict.fromkeys(lv["indicator"].astype(str)))
        values: dict[tuple[str, str], tuple[float, float]] = {}
        for u, ind, pop, crimes in zip(lv["unit_code"].astype(str), lv["indicator"].astype(str),
                                       lv["population"].to_numpy(float), lv["rolling_12m"].to_numpy(float), strict=True):
            values.setdefault((u, ind), (pop, crimes))
        codes = sorted(str(c) for c in names.index)
        held_units = set(names.index)
        wanted: list[tuple[dict[str, Any], str]] = []
        units: list[_Units] = []
        for code, g in zip(codes, groups_of(codes, level, config, profiles), strict=True):
            members = [m["code"] for m in g["members"]]
            held = [m for m in members if m in held_units]
            g.update({"held": held, "not_held": [m for m in members if m not in held_units], "comparison": []})
            group_units = [code, *held]
            for ind in order:
                present = [u for u in group_units if (u, ind) in values]
                if len(present) < 2:
                    continue
                wanted.append((g, ind))
                units.append(_Units(titles.get(ind, ind), present, [name_of.get((level, u), u) for u in present],
                                    np.array([values[(u, ind)][0] for u in present], dtype=float),
                                    np.array([values[(u, ind)][1] for u in present], dtype=float),
                                    [u == code for u in present]))
            g["note"] = ("" if held else f"The store holds none of {g['name']}'s {len(members)} similar "
                         f"{'force areas' if level == 'force' else 'districts'}: its rates cannot be compared with them.")
            groups.append(g)
        for (g, ind), entry in zip(wanted, _funnels(units, 1.0), strict=True):
            entry["indicator"] = ind
            g["comparison"].append(entry)
    return {"groups": groups, "method": "rolling 12 months per 1,000 residents against the group's members held; "
            "funnel limits from the area and those members (Spiegelhalter 2005, over-dispersion allowed)"}


def section(con: Any, scope: Scope, period: Sequence[dt.date], path: Path | None = None) -> dict[str, Any]:
    """The assessment's similar-area section: all crime and each crime type (excluding ASB)."""
    from thrv.reference import crime_type_slugs

    themes = (ALL_CRIME, *sorted(t for t in crime_type_slugs() if t != ASB))
    out = compare(con, scope, period, load_config(path), themes)
    for d in out["districts"]:  # districts: all crime only, to keep the report short
        d["comparison"] = [c for c in d.get("comparison", []) if c["theme"] == ALL_CRIME]
    return out


__all__ = ["SimilarConfig", "SimilarError", "Variable", "compare", "computed_groups", "distance_matrix", "group_of", "groups_of",
           "load_config", "load_profiles", "official_groups", "pack_section", "section", "standardised"]
