"""The area hierarchy: force → area → district → LSOA, with populations.

Districts are local authority districts (2024 boundaries; each is, or lies within, one
Community Safety Partnership) found from each record's LSOA through the shipped ONS
lookups. Areas are groupings of districts that a force configures (e.g. Cambridgeshire's
North and South); they are data in ``areas.toml``. A force's district and LSOA rows cover
only the districts inside its Police Force Area: the handful of records a force publishes
for places outside its area count in the force total only (docs/indicators.md).
"""

from __future__ import annotations

import threading
import tomllib
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.reference import DATA, forces, reference_path

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


def _read_text_columns(path: Path, columns: list[str]) -> pd.DataFrame:
    """Some columns of a shipped CSV as text ("" where empty), with Arrow's CSV reader.

    The same frame as ``pd.read_csv(path, dtype=str, keep_default_na=False, usecols=...)``
    in half the time (the lookup is read on every pack).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        include_columns=columns, column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False))
    return table.to_pandas()


_LookupTables = tuple[pd.DataFrame, dict[tuple[Any, Any], Any]]
_lookups: Future[_LookupTables] | None = None
_lookups_lock = threading.Lock()


def prefetch_lookups() -> None:
    """Start reading the shipped lookups in the background, once per process.

    A pack asks the engine a few questions (which tables hold rows, which forces) before it
    needs the hierarchy; the lookups do not depend on the answers, so they are read while
    the engine works instead of after it (about a third of a second on a national pack).
    """
    global _lookups
    with _lookups_lock:
        if _lookups is not None:
            return
        future: Future[_LookupTables] = Future()
        _lookups = future

    def read() -> None:
        try:
            future.set_result(_read_lookup_tables())
        except BaseException as exc:  # handed to whoever asks for the tables
            future.set_exception(exc)

    threading.Thread(target=read, name="thrv-lookups", daemon=True).start()


def _lookup_tables() -> _LookupTables:
    """The shipped LSOA lookup and populations ((level, code) -> population), read once per process."""
    global _lookups
    prefetch_lookups()
    future = _lookups
    assert future is not None
    try:
        return future.result()
    except BaseException:
        with _lookups_lock:  # a failed read is tried again on the next call, not remembered
            if _lookups is future:
                _lookups = None
        raise


def _read_lookup_tables() -> _LookupTables:
    lsoa = _read_text_columns(reference_path("lsoa.csv.gz"), ["lsoa_code", "lsoa_name", "lad_code", "lad_name", "pfa_code"])
    pop = _read_text_columns(reference_path("population.csv.gz"), ["level", "code", "population"])
    population = pd.to_numeric(pop["population"], errors="coerce")
    return lsoa, dict(zip(zip(pop["level"], pop["code"], strict=True), population, strict=True))


def build_hierarchy(force_names: list[str], areas_path: Path | None = None) -> Hierarchy:
    """The hierarchy for these forces (names as published in "Falls within")."""
    by_name = {f.name: f for f in forces()}
    area_config = load_area_config(areas_path)
    lsoa, pop_by = _lookup_tables()
    known = {n: by_name[n] for n in force_names if n in by_name and by_name[n].pfa_code}
    regions = {n: f.region for n, f in known.items()}
    pfa_to_force = {f.pfa_code: n for n, f in known.items()}

    mine = lsoa[lsoa["pfa_code"].isin(pfa_to_force)]
    lsoas = pd.DataFrame(
        {
            "lsoa_code": mine["lsoa_code"].to_numpy(),
            "lsoa_name": mine["lsoa_name"].to_numpy(),
            "district_code": mine["lad_code"].to_numpy(),
            "district": mine["lad_name"].to_numpy(),
            "force": mine["pfa_code"].map(pfa_to_force).to_numpy(),
        }
    )
    dists = lsoas[["force", "district_code", "district"]].drop_duplicates().sort_values(["force", "district"])
    area_of: dict[tuple[str, str], str] = {}
    for name in known:
        configured = area_config.get(name, {})
        names = set(dists[dists["force"] == name]["district"])
        unknown = sorted({d for ds in configured.values() for d in ds} - names)
        if unknown:
            raise AreaError(
                f"areas for {name}: district(s) {unknown} are not districts of this force; "
                f"its districts are {sorted(names)}"
            )
        area_of.update({(name, d): a for a, ds in configured.items() for d in ds})
    areas: list[Any] = [area_of.get((f, d)) for f, d in zip(dists["force"], dists["district"], strict=True)]
    districts = dists.assign(area=areas)
    districts = districts[["force", "area", "district_code", "district"]].reset_index(drop=True)

    pop_rows: list[tuple[Any, ...]] = []
    for name in force_names:
        force = known.get(name)
        pop_rows.append(("force", name, name, force.pfa_code if force else "",
                         pop_by.get(("force", force.pfa_code), float("nan")) if force else float("nan")))
    for r in districts.itertuples(index=False):
        pop_rows.append(("district", r.force, r.district, r.district_code, pop_by.get(("district", r.district_code), float("nan"))))
    for (force_name, area), group in districts.dropna(subset=["area"]).groupby(["force", "area"]):
        total = sum(pop_by.get(("district", c), float("nan")) for c in group["district_code"])
        pop_rows.append(("area", str(force_name), str(area), "", total))
    populations = pd.DataFrame(pop_rows, columns=["level", "force", "area", "area_code", "population"])
    lsoa_pop = pd.DataFrame(
        {
            "level": "lsoa",
            "force": lsoas["force"],
            "area": lsoas["lsoa_code"],
            "area_code": lsoas["lsoa_code"],
            "population": [pop_by.get(("lsoa", c), float("nan")) for c in lsoas["lsoa_code"]],
        }
    )
    populations = pd.concat([populations, lsoa_pop], ignore_index=True)
    return Hierarchy(lsoas, districts, populations, regions)
