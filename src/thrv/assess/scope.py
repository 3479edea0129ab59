"""What an assessment covers: a force, a configured area, a district, or everything held.

The place tables (LSOAs, districts) are the 2021 LSOAs and 2024 districts of the scope's
Police Force Area(s), from the shipped ONS lookups, with their Census 2021 residents. Places
with no crime are part of the universe: leaving them out would understate concentration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.indicators.hierarchy import AreaError, load_area_config
from thrv.reference import force_by_name

LEVELS = ("all", "force", "area", "district")


@dataclass(frozen=True, eq=False)
class Scope:
    """The area assessed and its places.

    ``districts``: district_code, district, force, population.
    ``lsoas``: lsoa21_code, lsoa_name, district_code, district, population — every 2021
    LSOA of those districts, with or without crime.
    """

    level: str
    name: str
    forces: tuple[str, ...]
    districts: pd.DataFrame
    lsoas: pd.DataFrame
    population: float

    @property
    def district_codes(self) -> list[str]:
        return [str(c) for c in self.districts["district_code"]]

    @property
    def title(self) -> str:
        return self.name if self.level != "district" else f"{self.name} ({', '.join(self.forces)})"


def crime_forces(con: Any) -> list[str]:
    """Forces holding street-level records (or force extracts) in the store."""
    tables = set(con.list_tables())
    found: set[str] = set()
    for table in ("crimes", "force_crimes"):
        if table in tables and "force" in con.table(table).columns:
            col = con.table(table).select("force").distinct().to_pandas()["force"]
            found.update(str(v) for v in col.dropna())
    return sorted(found)


def _match_force(name: str, forces: list[str]) -> str | None:
    wanted = name.strip().lower()
    for f in forces:
        if f.lower() == wanted:
            return f
    force = force_by_name(name)
    if force is not None and force.name in forces:
        return force.name
    return None


def _districts(con: Any, forces: list[str]) -> pd.DataFrame:
    """force, district_code, district, population for every 2024 district in the forces' PFAs."""
    ref_f = con.table("ref_forces")
    ref_f = ref_f.filter(ref_f.name.isin(forces) & ref_f.pfa_code.notnull()).select(
        force=ref_f.name, _pfa=ref_f.pfa_code
    )
    lsoa = con.table("ref_lsoa")
    d = lsoa.select(_pfa=lsoa.pfa_code, district_code=lsoa.lad_code, district=lsoa.lad_name).distinct()
    d = d.join(ref_f, "_pfa").drop("_pfa")
    pop = con.table("ref_population")
    pop = pop.filter(pop.level == "district").select(_code=pop.code, population=pop.population.cast("float64"))
    d = d.left_join(pop, d.district_code == pop._code).drop("_code")
    frame = d.to_pandas()
    return frame[["force", "district_code", "district", "population"]].sort_values(["force", "district"]).reset_index(drop=True)


def _force_population(con: Any, forces: tuple[str, ...]) -> float:
    ref_f = con.table("ref_forces")
    ref_f = ref_f.filter(ref_f.name.isin(list(forces))).select(_pfa=ref_f.pfa_code)
    pop = con.table("ref_population")
    pop = pop.filter(pop.level == "force")
    joined = pop.join(ref_f, pop.code == ref_f._pfa)
    values = joined.select(p=joined.population.cast("float64")).to_pandas()["p"]
    return float(values.sum()) if len(values) == len(forces) else math.nan


def _lsoa_universe(con: Any, district_codes: list[str]) -> pd.DataFrame:
    """2021 LSOAs of these districts with their residents (Census 2021)."""
    ref = con.table("ref_lsoa")
    ref = ref.filter((ref.vintage == 2021) & ref.lad_code.isin(district_codes))
    pop = con.table("ref_population")
    pop = pop.filter(pop.level == "lsoa").select(_code=pop.code, population=pop.population)
    joined = ref.left_join(pop, ref.lsoa_code == pop._code)
    frame = joined.select(
        lsoa21_code=joined.lsoa_code,
        lsoa_name=joined.lsoa_name,
        district_code=joined.lad_code,
        district=joined.lad_name,
        population=joined.population.cast("float64"),
    ).to_pandas()
    return frame.sort_values("lsoa21_code").reset_index(drop=True)


def _resolve_name(name: str, forces: list[str], districts: pd.DataFrame, areas: dict[str, dict[str, list[str]]]) -> tuple[str, str, str]:
    """(level, force, name) for an --area: a force as published, a district or a configured area."""
    from thrv.areas import match_area  # the one rule every command uses

    pairs = zip(districts["force"], districts["district"], strict=True)
    configured = [(f, a) for f, c in areas.items() if f in forces for a in c]
    return match_area(name, forces, pairs, configured)


def resolve_scope(con: Any, area: str | None, areas_file: Path | None = None) -> Scope:
    """The scope for ``--area`` (None: the single force held, or every force held)."""
    forces = crime_forces(con)
    if not forces:
        raise ValueError("the store holds no crime records: run `thrv ingest` first")
    all_districts = _districts(con, forces)
    areas = load_area_config(areas_file)
    if area is None:
        level, force, name = ("force", forces[0], forces[0]) if len(forces) == 1 else ("all", "", "All forces held")
    else:
        level, force, name = _resolve_name(area, forces, all_districts, areas)
    chosen = tuple(forces) if level == "all" else (force,)
    districts = all_districts[all_districts["force"].isin(chosen)]
    if level == "area":
        districts = districts[districts["district"].isin(areas[force][name])]
    elif level == "district":
        districts = districts[districts["district"] == name]
    districts = districts.reset_index(drop=True)
    if level in {"force", "all"}:
        population = _force_population(con, chosen)
    else:
        population = float(districts["population"].sum()) if len(districts) else math.nan
    lsoas = _lsoa_universe(con, districts["district_code"].tolist())
    return Scope(level, name, chosen, districts, lsoas, population)


__all__ = ["LEVELS", "AreaError", "Scope", "crime_forces", "resolve_scope"]
