"""The area hierarchy: force → area → district → LSOA, with populations.

Districts are local authority districts (2024 boundaries; each is, or lies within, one
Community Safety Partnership) found from each record's LSOA through the shipped ONS
lookups. Areas are groupings of districts that a force configures (e.g. Cambridgeshire's
North and South); they are data in ``areas.toml``. A force's district and LSOA rows cover
only the districts inside its Police Force Area: the handful of records a force publishes
for places outside its area count in the force total only (docs/indicators.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from thrv.reference import DATA, forces, read_rows, reference_path

DEFAULT_AREAS = DATA / "config" / "areas.toml"
LEVELS = ("force", "area", "district", "lsoa")


class AreaError(ValueError):
    """An area configuration or an --area name that cannot be used."""


@dataclass(frozen=True)
class Hierarchy:
    """Lookups for rolling LSOA counts up to every level, for the forces in a pack."""

    #: lsoa_code, lsoa_name, district_code, district, force (only LSOAs in a pack force's PFA)
    lsoas: pd.DataFrame
    #: force, area, district_code, district
    districts: pd.DataFrame
    #: level, force, area, area_code, population
    populations: pd.DataFrame
    #: force -> region (for regional averages)
    regions: dict[str, str]


def load_area_config(path: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """{force name: {area name: [district names]}} from an areas TOML file."""
    path = path or DEFAULT_AREAS
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AreaError(f"{path}: cannot read the area configuration ({exc})") from exc
    out: dict[str, dict[str, list[str]]] = {}
    for force, body in doc.get("forces", {}).items():
        areas = body.get("areas", {})
        if not isinstance(areas, dict):
            raise AreaError(f"{path}: forces.{force!r}.areas must map area names to lists of districts")
        out[force] = {str(a): [str(d) for d in ds] for a, ds in areas.items()}
    return out


def build_hierarchy(force_names: list[str], areas_path: Path | None = None) -> Hierarchy:
    """The hierarchy for these forces (names as published in "Falls within")."""
    by_name = {f.name: f for f in forces()}
    area_config = load_area_config(areas_path)
    lsoa = pd.DataFrame(read_rows(reference_path("lsoa.csv.gz")))
    pop = pd.DataFrame(read_rows(reference_path("population.csv.gz")))
    pop["population"] = pd.to_numeric(pop["population"])
    pop_by = {(r.level, r.code): r.population for r in pop.itertuples(index=False)}

    lsoa_parts, district_parts, pop_rows = [], [], []
    regions: dict[str, str] = {}
    for name in force_names:
        force = by_name.get(name)
        if force is None or not force.pfa_code:
            # a force thrv has no geography for (e.g. BTP): force level only
            pop_rows.append(("force", name, name, "", float("nan")))
            continue
        regions[name] = force.region
        pop_rows.append(("force", name, name, force.pfa_code, pop_by.get(("force", force.pfa_code), float("nan"))))
        mine = lsoa[lsoa["pfa_code"] == force.pfa_code]
        lsoa_parts.append(
            pd.DataFrame(
                {
                    "lsoa_code": mine["lsoa_code"],
                    "lsoa_name": mine["lsoa_name"],
                    "district_code": mine["lad_code"],
                    "district": mine["lad_name"],
                    "force": name,
                }
            )
        )
        dists = mine[["lad_code", "lad_name"]].drop_duplicates().sort_values("lad_name")
        configured = area_config.get(name, {})
        district_to_area = {d: a for a, ds in configured.items() for d in ds}
        unknown = sorted(set(district_to_area) - set(dists["lad_name"]))
        if unknown:
            raise AreaError(
                f"areas for {name}: district(s) {unknown} are not districts of this force; "
                f"its districts are {sorted(dists['lad_name'])}"
            )
        district_parts.append(
            pd.DataFrame(
                {
                    "force": name,
                    "area": [district_to_area.get(d) for d in dists["lad_name"]],
                    "district_code": dists["lad_code"].to_numpy(),
                    "district": dists["lad_name"].to_numpy(),
                }
            )
        )
        for d in dists.itertuples(index=False):
            pop_rows.append(("district", name, d.lad_name, d.lad_code, pop_by.get(("district", d.lad_code), float("nan"))))
        for area, ds in configured.items():
            codes = dists[dists["lad_name"].isin(ds)]["lad_code"]
            total = sum(pop_by.get(("district", c), float("nan")) for c in codes)
            pop_rows.append(("area", name, area, "", total))
        for r in mine.itertuples(index=False):
            pop_rows.append(("lsoa", name, r.lsoa_code, r.lsoa_code, pop_by.get(("lsoa", r.lsoa_code), float("nan"))))
    lsoas = pd.concat(lsoa_parts, ignore_index=True) if lsoa_parts else pd.DataFrame(
        columns=["lsoa_code", "lsoa_name", "district_code", "district", "force"]
    )
    districts = pd.concat(district_parts, ignore_index=True) if district_parts else pd.DataFrame(
        columns=["force", "area", "district_code", "district"]
    )
    populations = pd.DataFrame(pop_rows, columns=["level", "force", "area", "area_code", "population"])
    return Hierarchy(lsoas, districts, populations, regions)


def force_population(force_name: str) -> float:
    """Residents of a force's Police Force Area (NaN when thrv has no geography for it)."""
    force = next((f for f in forces() if f.name == force_name), None)
    if force is None or not force.pfa_code:
        return float("nan")
    for row in read_rows(reference_path("population.csv.gz")):
        if row["level"] == "force" and row["code"] == force.pfa_code:
            return float(row["population"])
    return float("nan")
