#!/usr/bin/env python3
"""Build the area lookups partner data needs: MSOAs, wards, old districts and counties.

Usage::

    .venv/bin/python tools/build_partner_reference.py --geo-lookups PATH [--data PATH]

``--geo-lookups`` is a checkout of drkane/geo-lookups at commit
e20a072d5fc0918437abaa3622be63f40b71d9dd (ONS Open Geography lookups compiled by David
Kane); ``--data`` is the shared data folder (ONS lookups, as for tools/build_reference.py).
Outputs (sorted, gzip -n, byte-identical on a re-run):

* ``src/thrv/data/reference/partner/areas.csv.gz`` — every MSOA (2011, 2021), ward (2015
  onwards), district (every code since 2011) and county code, with the 2024 district it lies
  in (or, for a county, none) and the upper-tier authority (county or unitary);
* ``src/thrv/data/reference/partner/lsoa_centres.csv.gz`` — the centre of every England and
  Wales LSOA (2011 and 2021 codes), for distance-based spatial weights.

docs/reference-data.md ("Partner area lookups") describes both.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "thrv" / "data" / "reference" / "partner"
#: district codes drkane/geo-lookups gives as "active" that were recoded after the 2024
#: ONS lookups thrv's LSOA table uses (Barnsley and Sheffield, 2025 recodes)
TO_2024 = {"E08000038": "E08000016", "E08000039": "E08000019"}


def _write(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(buffer.getvalue().encode("utf-8"))


def build(geo: Path, data: Path) -> None:
    lsoa = pd.read_csv(ROOT / "src/thrv/data/reference/lsoa.csv.gz", dtype=str)
    districts_2024 = set(lsoa["lad_code"])
    la = pd.read_csv(geo / "la_all_codes.csv", dtype=str)
    la["district"] = la["LADCD_ACTIVE"].replace(TO_2024)
    la["county"] = la["UTLACD"].replace(TO_2024)
    rows = [pd.DataFrame({"code": la["LADCD"], "name": la["LADNM"], "level": "district",
                          "vintage": la["Current"].map({"TRUE": "current", "FALSE": "former"}),
                          "district_code": la["district"], "county_code": la["county"]})]
    utla = la.drop_duplicates("UTLACD")
    counties = utla[utla["UTLACD"].str.startswith("E10")]
    rows.append(pd.DataFrame({"code": counties["UTLACD"], "name": counties["UTLANM"], "level": "county",
                              "vintage": "current", "district_code": None, "county_code": counties["UTLACD"]}))
    msoa = pd.read_csv(geo / "msoa_la.csv", dtype=str)
    msoa = msoa[msoa["MSOACD"].str[:3].isin(["E02", "W02"])]
    rows.append(pd.DataFrame({"code": msoa["MSOACD"], "name": msoa["MSOANM"], "level": "msoa",
                              "vintage": msoa["MSOA21CD"].notna().map({True: "2021", False: "2011"}),
                              "district_code": msoa["LADCD_ACTIVE"].replace(TO_2024),
                              "county_code": msoa["UTLACD"].replace(TO_2024)}))
    # wards: the ONS 2024 and 2019 lookups first, then every other ward since 2015
    w24 = pd.read_csv(data / "reference/geography/lsoa21_ward24_lad24_lookup.csv.gz", dtype=str)
    w24 = w24.drop_duplicates("ward24_code")
    active = dict(zip(la["LADCD"], la["district"], strict=True))
    upper = dict(zip(la["LADCD"], la["county"], strict=True))
    wards = [pd.DataFrame({"code": w24["ward24_code"], "name": w24["ward24_name"], "vintage": "2024",
                           "district_code": w24["ltla24_code"]})]
    w19 = pd.read_csv(data / "reference/geography/ons_lsoa11_wd19_lad19_lookup_dec2019.csv.gz", dtype=str)
    w19 = w19.drop_duplicates("WD19CD")
    wards.append(pd.DataFrame({"code": w19["WD19CD"], "name": w19["WD19NM"], "vintage": "2019",
                               "district_code": w19["LAD19CD"].map(active)}))
    other = pd.read_csv(geo / "ward_all_codes.csv", dtype=str)
    wards.append(pd.DataFrame({"code": other["WDCD"], "name": other["WDNM"], "vintage": other["SOURCEFILE"],
                               "district_code": other["LADCD_ACTIVE"].replace(TO_2024)}))
    ward = pd.concat(wards).drop_duplicates("code", keep="first")
    ward = ward[ward["code"].str[:3].isin(["E05", "W05"])]
    ward["level"] = "ward"
    ward["county_code"] = ward["district_code"].map(upper)
    rows.append(ward[["code", "name", "level", "vintage", "district_code", "county_code"]])
    areas = pd.concat(rows).drop_duplicates(["code", "level"]).sort_values(["level", "code"])
    areas = areas[areas["code"].str[0].isin(["E", "W"])]
    missing = areas[(areas["level"] != "county") & ~areas["district_code"].isin(districts_2024)]
    if len(missing):
        raise SystemExit(f"{len(missing)} area(s) with no 2024 district, e.g. {missing.head(3).to_dict('records')}")
    _write(areas, OUT / "areas.csv.gz")
    centres = pd.read_csv(geo / "lsoa_latlong.csv", dtype={"LSOACD": str})
    centres = centres[centres["LSOACD"].str[:3].isin(["E01", "W01"])]
    centres = pd.DataFrame({"lsoa_code": centres["LSOACD"], "lat": centres["latitude"].round(5),
                            "lon": centres["longitude"].round(5)}).drop_duplicates("lsoa_code").sort_values("lsoa_code")
    _write(centres, OUT / "lsoa_centres.csv.gz")
    print(f"areas: {areas['level'].value_counts().to_dict()}; LSOA centres: {len(centres)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geo-lookups", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("THRV_SHARED_DATA", ROOT.parent / "shared" / "data")))
    args = parser.parse_args()
    build(args.geo_lookups, args.data)


if __name__ == "__main__":
    main()
