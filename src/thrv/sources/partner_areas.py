"""Where a partner's area code is, on thrv's geography: LSOA 2021, district 2024, county.

Partners publish on many geographies and vintages: 2011 or 2021 LSOAs, MSOAs, wards of
several years, districts before and after the 2019–2023 mergers, counties. Each code is
looked up in the shipped lookups (``thrv/data/reference/lsoa.csv.gz`` and
``thrv/data/reference/partner/areas.csv.gz``, see docs/reference-data.md) and placed
without down-scaling: a code gets an LSOA 2021 only when it *is* one LSOA 2021 (a 2021
code, or a 2011 code unchanged or merged into one); every code inside a district gets that
2024 district (a former district gets the district it merged into). A code the lookups do
not hold is not guessed: the row is quarantined with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from thrv.reference import REFERENCE, read_rows

LEVELS = ("lsoa", "msoa", "ward", "district", "county", "region", "country")

_PREFIX = {
    "E01": "lsoa", "W01": "lsoa", "E02": "msoa", "W02": "msoa", "E05": "ward", "W05": "ward",
    "E06": "district", "E07": "district", "E08": "district", "E09": "district", "W06": "district",
    "E10": "county", "E12": "region", "E92": "country", "W92": "country", "K04": "country",
    "E47": "region",
}
_CODE = re.compile(r"^[EWSNK]\d{8}$")


@dataclass(frozen=True)
class Place:
    level: str
    vintage: str
    lsoa21_code: str | None
    district_code: str | None
    county_code: str | None
    name: str = ""


@cache
def _lsoas() -> dict[str, dict[str, str]]:
    return {r["lsoa_code"]: r for r in read_rows(REFERENCE / "lsoa.csv.gz")}


@cache
def _areas() -> dict[tuple[str, str], dict[str, str]]:
    return {(r["level"], r["code"]): r for r in read_rows(REFERENCE / "partner" / "areas.csv.gz")}


@cache
def district_counties() -> dict[str, str]:
    """2024 district -> upper-tier authority (a county for two-tier districts, else itself)."""
    return {r["code"]: r["county_code"] for (level, _), r in _areas().items()
            if level == "district" and r["vintage"] == "current" and r["county_code"]}


def resolve(code: str, level: str = "auto") -> Place | str:
    """The place of an area code, or the reason it cannot be placed (for the quarantine)."""
    text = code.strip().upper()
    if not text:
        return "the area code is empty"
    if not _CODE.match(text):
        return f"{code.strip()!r} is not an ONS area code (a letter and 8 digits)"
    found = _PREFIX.get(text[:3])
    if level != "auto" and found is not None and found != level and not (level == "county" and found == "district"):
        return f"{text} is a {found} code, not a {level} code as the mapping says"
    if found is None:
        if text[0] in "SN":
            return f"{text} is outside England and Wales (no shipped lookup)"
        return f"{text}: this kind of ONS code is not a place thrv can use"
    if found == "lsoa":
        row = _lsoas().get(text)
        if row is None:
            return f"{text} is not a 2011 or 2021 LSOA in the shipped lookup"
        single = row["vintage"] == "2021" or row["change_code"] == "M"
        return Place("lsoa", row["vintage"], row["lsoa21_code"] if single else None, row["lad_code"],
                     district_counties().get(row["lad_code"]), row["lsoa_name"])
    if found in {"region", "country"}:
        return Place(found, "", None, None, None)
    row2 = _areas().get((found, text))
    if row2 is None:
        return f"{text} is not a {found} code in the shipped lookups"
    county = text if found == "county" else (row2["county_code"] or None)
    return Place(found, row2["vintage"], None, row2["district_code"] or None, county, row2["name"])
