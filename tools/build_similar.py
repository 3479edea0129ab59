#!/usr/bin/env python3
"""Build the area profiles behind similar-area groups: ``src/thrv/data/reference/area_profiles.csv``.

Usage::

    .venv/bin/python tools/build_similar.py [--data PATH]

One row per police force area (PFA, December 2024) and per local authority district
(LAD, 2024) of England and Wales, with the public figures thrv compares areas on:

* residents — ONS Census 2021 usual residents (the sum of the six age groups of the
  Census 2021 LSOA age table, as ``population.csv.gz``);
* area and density — land area in hectares from the ONS Census 2011 LSOA table (each 2011
  LSOA placed in its 2024 district through the shipped ``lsoa.csv.gz``), residents per hectare;
* deprivation — the share of households deprived in two or more of the four Census 2021
  dimensions (employment, education, health and disability, housing; table TS011), the one
  deprivation measure published alike for England and Wales (the English IMD and the Welsh
  WIMD are ranked separately and cannot be compared);
* age structure — the shares of residents aged 16–24 and 65 and over (Census 2021).

``--data`` defaults to ``$THRV_SHARED_DATA`` or ``../shared/data`` beside the repository.
The output is deterministic (sorted rows, rounded figures). See docs/reference-data.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "thrv" / "data" / "reference" / "area_profiles.csv"
LSOA = REPO / "src" / "thrv" / "data" / "reference" / "lsoa.csv.gz"
POPULATION = REPO / "src" / "thrv" / "data" / "reference" / "population.csv.gz"

AGE = "reference/population/census2021_lsoa21_usual_residents_age6.csv.gz"
DEPRIVATION = "reference/deprivation/census2021_household_deprivation_dimensions_lsoa21.csv.gz"
AREA = "reference/population/census2011_lsoa11_population_households.csv.gz"
TWO_PLUS = {"Household is deprived in two dimensions", "Household is deprived in three dimensions",
            "Household is deprived in four dimensions"}
COLUMNS = ["level", "code", "name", "pfa_code", "pfa_name", "population", "area_ha", "density_per_ha",
           "households", "deprived_2plus_pct", "aged_16_24_pct", "aged_65_plus_pct"]


def lsoa21_table(data: Path) -> pd.DataFrame:
    """Residents, 16–24, 65+, households and households deprived in 2+ dimensions per 2021 LSOA."""
    age = pd.read_csv(data / AGE)
    wide = age.pivot_table(index="lsoa21_code", columns="age_group", values="usual_residents", aggfunc="sum")
    out = pd.DataFrame({"population": wide.sum(axis=1), "aged_16_24": wide["Aged 16 to 24 years"],
                        "aged_65_plus": wide["Aged 65 years and over"]})
    dep = pd.read_csv(data / DEPRIVATION)
    households = dep.groupby("lsoa21_code")["total_households"].first()
    deprived = dep[dep["deprivation_dimensions"].isin(TWO_PLUS)].groupby("lsoa21_code")["n"].sum()
    out["households"] = households
    out["deprived_2plus"] = deprived
    if out.isna().any().any():
        raise SystemExit(f"LSOAs missing from an input: {out[out.isna().any(axis=1)].index[:5].tolist()}")
    return out.reset_index()


def lsoa11_area(data: Path) -> pd.DataFrame:
    raw = pd.read_csv(data / AREA, thousands=",", dtype=str)
    frame = pd.DataFrame({"lsoa_code": raw["LSOA Code"], "area_ha": pd.to_numeric(raw["Hectares"].str.replace(",", ""))})
    if frame["area_ha"].isna().any() or len(frame) != 34753:
        raise SystemExit("the Census 2011 LSOA table is not the one expected (34,753 LSOAs with an area)")
    return frame


def build(data: Path) -> pd.DataFrame:
    lookup = pd.read_csv(LSOA, dtype=str)
    lsoa21 = lsoa21_table(data).merge(lookup[lookup["vintage"] == "2021"][["lsoa_code", "lad_code", "lad_name", "pfa_code", "pfa_name"]],
                                      left_on="lsoa21_code", right_on="lsoa_code", how="left")
    if lsoa21["lad_code"].isna().any():
        raise SystemExit("2021 LSOAs with no 2024 district in lsoa.csv.gz")
    area = lsoa11_area(data).merge(lookup[["lsoa_code", "lad_code", "pfa_code"]], on="lsoa_code", how="left")
    if area["lad_code"].isna().any():
        raise SystemExit("2011 LSOAs with no 2024 district in lsoa.csv.gz")
    frames = []
    for level, key, name in (("district", "lad_code", "lad_name"), ("force", "pfa_code", "pfa_name")):
        g = lsoa21.groupby(key).agg(name=(name, "first"), pfa=("pfa_code", "first"), pfa_label=("pfa_name", "first"),
                                    population=("population", "sum"), aged_16_24=("aged_16_24", "sum"),
                                    aged_65_plus=("aged_65_plus", "sum"), households=("households", "sum"),
                                    deprived_2plus=("deprived_2plus", "sum"))
        g["area_ha"] = area.groupby(key)["area_ha"].sum()
        g = g.reset_index().rename(columns={key: "code", "pfa": "pfa_code", "pfa_label": "pfa_name"})
        g["level"] = level
        if level == "force":
            g["pfa_code"], g["pfa_name"] = "", ""
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    if out["area_ha"].isna().any():
        raise SystemExit(f"areas with no 2011 LSOA: {out[out['area_ha'].isna()]['name'].tolist()}")
    out["density_per_ha"] = (out["population"] / out["area_ha"]).round(3)
    out["deprived_2plus_pct"] = (out["deprived_2plus"] / out["households"] * 100).round(3)
    out["aged_16_24_pct"] = (out["aged_16_24"] / out["population"] * 100).round(3)
    out["aged_65_plus_pct"] = (out["aged_65_plus"] / out["population"] * 100).round(3)
    out["population"] = out["population"].astype("int64")
    out["households"] = out["households"].astype("int64")
    out["area_ha"] = out["area_ha"].round(0).astype("int64")
    out = out.sort_values(["level", "code"], ascending=[False, True]).reset_index(drop=True)
    return out[COLUMNS]


def check(out: pd.DataFrame) -> None:
    """The residents must equal the shipped population table's, area by area."""
    pop = pd.read_csv(POPULATION, dtype={"code": str})
    pop = pop[pop["level"].isin(["district", "force"])].set_index(["level", "code"])["population"]
    mine = out.set_index(["level", "code"])["population"]
    diff = (mine - pop.reindex(mine.index)).abs()
    if diff.isna().any() or diff.max() > 0:
        raise SystemExit(f"residents differ from population.csv.gz: {diff[diff != 0].head().to_dict()}")
    counts = out["level"].value_counts().to_dict()
    print(f"area_profiles.csv: {counts.get('force', 0)} force areas, {counts.get('district', 0)} districts; residents "
          "match population.csv.gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = Path(os.environ.get("THRV_SHARED_DATA", REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=default, help="the shared source data folder")
    args = parser.parse_args()
    out = build(args.data)
    check(out)
    OUT.write_text(out.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({len(out)} rows)")


if __name__ == "__main__":
    main()
