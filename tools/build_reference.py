#!/usr/bin/env python3
"""Regenerate thrv's shipped reference and harm tables from the shared source data.

Usage::

    .venv/bin/python tools/build_reference.py [--data PATH]

``--data`` defaults to ``$THRV_SHARED_DATA`` or, failing that, ``../shared/data`` next to
the repository (the layout CI uses).  Every output is rebuilt from scratch; running the
script twice gives byte-identical files (rows are sorted, floats rounded, gzip written
with ``gzip -9 -n``).  Checks that must hold (unique keys, complete mappings) raise an
error; softer findings (match rates, population differences) are printed as a report.

Outputs (paths relative to the repository root):

* ``src/thrv/data/reference/forces.csv``
* ``src/thrv/data/reference/lsoa.csv.gz``
* ``src/thrv/data/reference/population.csv.gz``
* ``src/thrv/data/reference/outcome_categories.csv``
* ``src/thrv/data/reference/crime_types.csv``
* ``src/thrv/data/harm/cchi_policeuk.csv``
* ``src/thrv/data/harm/css_offence_weights.csv``
* ``src/thrv/data/harm/css_policeuk.csv``

See ``docs/reference-data.md`` and ``docs/harm.md`` for what each column means and how it
is derived.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
REF_OUT = REPO / "src" / "thrv" / "data" / "reference"
HARM_OUT = REPO / "src" / "thrv" / "data" / "harm"
CSS_SOURCE = HARM_OUT / "source" / "mopd_severity_codes.csv"

# ---------------------------------------------------------------------------------------
# Fixed editorial tables (documented in docs/reference-data.md and docs/harm.md)
# ---------------------------------------------------------------------------------------

# Forces whose monthly files are not in the shared data: names as data.police.uk
# publishes them in "Falls within".
ABSENT_FORCE_NAMES = {
    "avon-and-somerset": "Avon and Somerset Constabulary",
    "metropolitan": "Metropolitan Police Service",
    "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police",
    "greater-manchester": "Greater Manchester Police",
    "btp": "British Transport Police",
}
# data.police.uk force slugs whose PFA name does not slugify to the slug.
PFA_NAME_OVERRIDES = {"metropolitan": "Metropolitan Police", "city-of-london": "London, City of"}
NON_PFA_FORCES = {"btp": "Great Britain", "northern-ireland": "Northern Ireland"}

REGION_NAMES = {
    "NORTH EAST": "North East",
    "NORTH WEST": "North West",
    "YORKSHIRE AND THE HUMBER": "Yorkshire and The Humber",
    "EAST MIDLANDS": "East Midlands",
    "WEST MIDLANDS": "West Midlands",
    "EAST": "East of England",
    "LONDON": "London",
    "SOUTH EAST": "South East",
    "SOUTH WEST": "South West",
}
WALES = ("W92000004", "Wales")

# Where a district (LAD24) holds several CSPs, an LSOA's CSP is taken from the 2011
# district its 2011 LSOA name carries; these 2011 districts sit in a CSP of another name.
CSP_ALIASES = {
    "Christchurch": "Dorset",
    "Daventry": "Daventry and South Northamptonshire",
    "South Northamptonshire": "Daventry and South Northamptonshire",
}

# Corrections to the LSOA 2021 -> LAD 2024 best-fit lookup (see docs/reference-data.md).
# E01027305 "West Northamptonshire 048E" is best-fitted there to a Cherwell ward although
# LSOAs nest in districts: its 2021 name, the ONS LSOA11->LSOA21->LAD22 lookup (West
# Northamptonshire), the 2019 lookup (South Northamptonshire) and data.police.uk (its crimes
# are published by Northamptonshire Police) all place it in West Northamptonshire.
LSOA21_LAD24_FIXES = {"E01027305": "E06000062"}

CENSUS21_TOTAL_EW = 59_597_542

# Bulk CSV headers as data.police.uk publishes them (read with this explicit schema).
STREET_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
OUTCOMES_COLUMNS = [
    *STREET_COLUMNS[:9],
    "Outcome type",
]  # ONS published Census 2021 usual residents, E&W

CRIME_TYPES = [
    # name, api slug, is_crime, description (paraphrasing data.police.uk's category notes)
    (
        "Anti-social behaviour",
        "anti-social-behaviour",
        False,
        "Personal, environmental and nuisance anti-social behaviour incidents; not notifiable "
        "crimes.",
    ),
    ("Bicycle theft", "bicycle-theft", True, "Theft, or taking without consent, of a pedal cycle."),
    (
        "Burglary",
        "burglary",
        True,
        "Entering a home or other building with intent to steal (residential and business and "
        "community burglary).",
    ),
    (
        "Criminal damage and arson",
        "criminal-damage-arson",
        True,
        "Damage to buildings, vehicles and other property, including deliberate damage by fire.",
    ),
    ("Drugs", "drugs", True, "Offences of possession, supply and production of controlled drugs."),
    (
        "Other crime",
        "other-crime",
        True,
        "Miscellaneous crimes against society, such as forgery, perjury, handling stolen goods "
        "and dangerous driving.",
    ),
    (
        "Other theft",
        "other-theft",
        True,
        "Thefts not counted elsewhere, such as theft by an employee, blackmail and making off "
        "without payment.",
    ),
    (
        "Possession of weapons",
        "possession-of-weapons",
        True,
        "Possessing a weapon such as a firearm or a knife.",
    ),
    (
        "Public order",
        "public-order",
        True,
        "Offences causing fear, alarm or distress, and other public order offences.",
    ),
    (
        "Robbery",
        "robbery",
        True,
        "Stealing by force or the threat of force, of personal or business property.",
    ),
    ("Shoplifting", "shoplifting", True, "Theft from shops or stalls."),
    (
        "Theft from the person",
        "theft-from-the-person",
        True,
        "Theft directly from the victim (bag, wallet, phone, cash) without force or the threat "
        "of it.",
    ),
    (
        "Vehicle crime",
        "vehicle-crime",
        True,
        "Theft of or from a vehicle, and interfering with a vehicle.",
    ),
    (
        "Violence and sexual offences",
        "violent-crime",
        True,
        "Offences against the person, from common assault to homicide, including stalking, "
        "harassment and sexual offences.",
    ),
]

# Outcome texts: (outcome, group, prosecution_possible, Home Office outcome types, api code,
# notes).  Home Office outcome numbers follow the Home Office crime outcomes framework
# (Home Office Counting Rules, outcome types 1-22); the correspondence is thrv's reading,
# data.police.uk does not publish one.
OUTCOMES = [
    (
        "Suspect charged",
        "charged_summonsed",
        True,
        "1;1A",
        "charged",
        "Outcomes files only: the charge/summons itself. Later court results for the same crime "
        "appear as further outcome rows.",
    ),
    (
        "Suspect charged as part of another case",
        "charged_summonsed",
        True,
        "4",
        "sentenced-in-another-case",
        "Offence taken into consideration (TIC) when the offender was dealt with for another "
        "charged offence.",
    ),
    (
        "Awaiting court outcome",
        "awaiting",
        True,
        "1",
        "awaiting-court-result",
        "Street files only: charged or summonsed, court result not yet known. Disappears as "
        "files are regenerated.",
    ),
    (
        "Defendant sent to Crown Court",
        "awaiting",
        True,
        "1",
        "sent-to-crown-court",
        "Case sent from the magistrates' court to the Crown Court; result pending.",
    ),
    ("Offender sent to prison", "court_result", True, "1", "imprisoned", ""),
    (
        "Offender given suspended prison sentence",
        "court_result",
        True,
        "1",
        "suspended-sentence",
        "",
    ),
    ("Offender given community sentence", "court_result", True, "1", "community-penalty", ""),
    ("Offender fined", "court_result", True, "1", "fined", ""),
    (
        "Offender given conditional discharge",
        "court_result",
        True,
        "1",
        "conditional-discharge",
        "",
    ),
    (
        "Offender given absolute discharge",
        "court_result",
        True,
        "1",
        "absolute-discharge",
        "Not seen in the shared files; documented by data.police.uk.",
    ),
    ("Offender ordered to pay compensation", "court_result", True, "1", "compensation", ""),
    ("Offender deprived of property", "court_result", True, "1", "deprived-of-property", ""),
    ("Offender otherwise dealt with", "court_result", True, "1", "other-court-disposal", ""),
    ("Defendant found not guilty", "court_result", True, "1", "not-guilty", ""),
    (
        "Court case unable to proceed",
        "court_result",
        True,
        "1",
        "unable-to-proceed",
        "Charged, but the court case was discontinued or could not go ahead.",
    ),
    (
        "Offender given a caution",
        "out_of_court_formal",
        False,
        "2;3",
        "cautioned",
        "Youth (2) or adult (3) caution; since 2023 may include diversionary/community cautions.",
    ),
    (
        "Offender given penalty notice",
        "out_of_court_formal",
        False,
        "6",
        "penalty-notice-issued",
        "Penalty Notice for Disorder. Bulk CSV spelling.",
    ),
    (
        "Offender given a penalty notice",
        "out_of_court_formal",
        False,
        "6",
        "penalty-notice-issued",
        "JSON API spelling of 'Offender given penalty notice'; not used in the bulk CSV files.",
    ),
    (
        "Offender given a drugs possession warning",
        "out_of_court_formal",
        False,
        "7",
        "drugs-possession-warning",
        "Cannabis/khat warning.",
    ),
    (
        "Local resolution",
        "out_of_court_informal",
        False,
        "8",
        "local-resolution",
        "Community resolution. Outcome 22 (diversionary activity) may also be published here or "
        "under 'Further action is not in the public interest'; unconfirmed.",
    ),
    (
        "Investigation complete; no suspect identified",
        "no_suspect",
        False,
        "18",
        "no-further-action",
        "",
    ),
    (
        "Unable to prosecute suspect",
        "evidential_difficulties",
        False,
        "14;15;16",
        "unable-to-prosecute",
        "Suspect identified, evidential difficulties or victim does not support. Outcomes 11-13 "
        "(prosecution prevented) and 17 (time limit expired) probably also land here; "
        "unconfirmed.",
    ),
    (
        "Formal action is not in the public interest",
        "not_in_public_interest",
        False,
        "10",
        "formal-action-not-in-public-interest",
        "Police decision; outcome 9 (CPS decision) may also be published here; unconfirmed.",
    ),
    (
        "Further investigation is not in the public interest",
        "not_in_public_interest",
        False,
        "21",
        "further-investigation-not-in-public-interest",
        "",
    ),
    (
        "Further action is not in the public interest",
        "not_in_public_interest",
        False,
        "22",
        "further-action-not-in-public-interest",
        "Inferred: wording of outcome 22 and first seen in 2020 data, after outcome 22 began; "
        "unconfirmed.",
    ),
    (
        "Action to be taken by another organisation",
        "other_agency",
        False,
        "20",
        "action-taken-by-another-organisation",
        "",
    ),
    (
        "Under investigation",
        "under_investigation",
        False,
        "",
        "under-investigation",
        "No outcome yet. Street files only; share falls as files are regenerated.",
    ),
    (
        "Court result unavailable",
        "unavailable",
        True,
        "1",
        "court-result-unavailable",
        "A charge was recorded but no court result was matched.",
    ),
    (
        "Status update unavailable",
        "unavailable",
        False,
        "",
        "status-update-unavailable",
        "No outcome could be published for the crime.",
    ),
]
OUTCOME_GROUP_ORDER = [
    "charged_summonsed",
    "awaiting",
    "court_result",
    "out_of_court_formal",
    "out_of_court_informal",
    "evidential_difficulties",
    "not_in_public_interest",
    "other_agency",
    "no_suspect",
    "under_investigation",
    "unavailable",
]

# CCHI subgroups (Home Office PRC 2024/25 classification) -> 2017/18 subgroups, or an
# explicit list of 2017/18 offence codes, used to find the police.uk categories each
# subgroup's offences fall in.
UNLAWFUL_DRIVING_CODES = ["4.4", "4.6", "4.8", "4.9", "37.1"]
CCHI_SUBGROUP_TO_1718 = {
    "Homicide": ["Homicide"],
    "Violence with injury": ["Violence with injury"],  # less the unlawful-driving codes
    "Violence without injury": ["Violence without injury"],
    "Stalking and harassment": ["Stalking and harassment"],
    "Death or serious injury - unlawful driving": [],  # codes listed above
    "Rape offences": ["Rape offences"],
    "Other sexual offences": ["Other sexual offences"],
    "Public order offences": ["Public order offences"],
    "Criminal damage": ["Criminal damage"],
    "Arson": ["Arson"],
    "Shoplifting": ["Shoplifting"],
    "Other theft offences": ["Other theft offences"],
    "Vehicle offences": [
        "Theft from a vehicle",
        "Theft of a motor vehicle",
        "Vehicle interference",
    ],
    "Residential burglary": ["Domestic burglary"],
    "Non-residential burglary": ["Non-domestic burglary"],
    "Possession of drugs": ["Possession of drugs"],
    "Trafficking of drugs": ["Trafficking of drugs"],
    "Theft from the person": ["Theft from the person"],
    "Robbery of business property": ["Robbery of business property"],
    "Robbery of personal property": ["Robbery of personal property"],
    "Possession of weapons offences": ["Possession of weapons offences"],
    "Bicycle theft": ["Bicycle theft"],
    "Miscellaneous crimes against society": ["Miscellaneous crimes"],
}
FRAUD_SOURCES = {"Action Fraud", "CIFAS", "Financial Fraud Action UK", "UK Finance"}

CCHI_SOURCE = (
    "Median CCHI 2026 days per Home Office PRC offence subgroup with Home Office E&W 2024/25 "
    "counts (third-party derivation: isthisben/cbl-realcrime@5591939 data/cchi_weights.csv); "
    "subgroup-to-category mapping: crime-sim-toolkit 1.5.0 CrimeCatMappings.csv (third party); "
    "split shares: Home Office PRC PFA 2017/18 by offence code"
)
CCHI_VERSION = "CCHI 2026 subgroup medians; counts PRC 2024/25; built by tools/build_reference.py"
CSS_SOURCE_TEXT = (
    "ONS Crime Severity Score offence weights (cssdatatool.xls 'List of weights', as extracted "
    "in M-O-P-D/Police-Supply-Demand@dbeb9bad3d7b959f8493df7215643101405f6c09 "
    "data/DEPRECATED-severity_codes.csv); offence-to-category mapping: crime-sim-toolkit 1.5.0 "
    "CrimeCatMappings.csv (third party); volumes: Home Office PRC PFA 2017/18 by offence code"
)
CSS_VERSION = (
    "ONS CSS weights, data-tool edition current c. 2020 (exact edition not recorded by the "
    "source); volumes PRC 2017/18; built by tools/build_reference.py"
)
ASB_NOTE = (
    "Placeholder. Anti-social behaviour is not a notifiable offence and has no {scheme} "
    "weight; 0 keeps it out of harm totals. Some forces use a nominal weight: edit this value "
    "to apply one."
)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _csv_bytes(df: pd.DataFrame) -> bytes:
    df = df.copy()
    for col in df.select_dtypes(include="bool").columns:
        df[col] = df[col].map({True: "true", False: "false"})
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as UTF-8 CSV; ``.gz`` paths are compressed with ``gzip -9 -n``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _csv_bytes(df)
    if path.suffix == ".gz":
        gzip_bin = shutil.which("gzip")
        if gzip_bin is None:  # pragma: no cover - gzip is part of every CI image we use
            import gzip

            with (
                open(path, "wb") as fh,
                gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz,
            ):
                gz.write(data)
        else:
            out = subprocess.run(
                [gzip_bin, "-9", "-n", "-c"], input=data, capture_output=True, check=True
            )
            path.write_bytes(out.stdout)
    else:
        path.write_bytes(data)
    print(f"  wrote {path.relative_to(REPO)} ({len(df):,} rows)")


def slugify(name: str) -> str:
    s = name.lower().replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def snake(name: str) -> str:
    return slugify(name).replace("-", "_")


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


class Sources:
    def __init__(self, data: Path) -> None:
        self.data = data
        ref = data / "reference"
        self.lsoa11_21 = pd.read_csv(ref / "geography" / "lsoa11_lsoa21_lad22_lookup.csv.gz")
        self.lsoa21 = pd.read_csv(ref / "geography" / "lsoa21_ward24_lad24_lookup.csv.gz")
        self.lad = pd.read_csv(ref / "geography" / "lad24_csp24_pfa24_lookup.csv")
        self._fix_lsoa21_lads()
        self.census21 = pd.read_csv(
            ref / "population" / "census2021_lsoa21_usual_residents_age6.csv.gz"
        )
        self.mye20 = pd.read_csv(
            ref / "population" / "ons_mye2020_lsoa11_single_year_of_age.csv.gz",
            usecols=["lsoa11_code", "lsoa11_name", "total_population"],
        )
        self.lad21_census = pd.read_csv(ref / "population" / "census2021_lad21_age_sex.csv")
        self.census11 = pd.read_csv(
            ref / "population" / "census2011_lsoa11_population_households.csv.gz",
            dtype=str,
            usecols=["Region code", "Region name", "LSOA Code"],
        )
        self.cchi = pd.read_csv(
            ref / "harm" / "cchi2026_median_by_prc_subgroup_with_ew_counts_2024-25.csv"
        )
        self.mapping = pd.read_csv(
            ref / "recorded_crime" / "ho_offence_code_to_policeuk_category_mapping.csv",
            index_col=0,
            dtype={"Offence_Code": str},
        )
        self.prc1718 = pd.read_csv(
            ref / "recorded_crime" / "home_office_prc_pfa_2017-18_by_offence_code.csv.gz",
            index_col=0,
            dtype={"Offence_Code": str},
        )
        self._police_uk()

    def _fix_lsoa21_lads(self) -> None:
        """Apply LSOA21_LAD24_FIXES; report LSOA21s whose LAD changed 2022->2024 otherwise
        than by a district reorganisation (the LAD22 code still exists in 2024)."""
        lad22 = self.lsoa11_21.drop_duplicates("lsoa21_code").set_index("lsoa21_code")
        m = self.lsoa21.join(lad22[["ltla22_code"]], on="lsoa21_code")
        odd = m[(m.ltla22_code != m.ltla24_code) & m.ltla22_code.isin(self.lad.ltla24_code)]
        unexpected = set(odd.lsoa21_code) - set(LSOA21_LAD24_FIXES)
        if unexpected:
            raise ValueError(f"LSOA21 moved between surviving districts: {sorted(unexpected)}")
        names = self.lad.drop_duplicates("ltla24_code").set_index("ltla24_code")["ltla24_name"]
        for code, lad in LSOA21_LAD24_FIXES.items():
            row = self.lsoa21.lsoa21_code == code
            print(
                f"  fix: LSOA21 {code} LAD24 {self.lsoa21.loc[row, 'ltla24_code'].item()} "
                f"-> {lad} ({names[lad]})"
            )
            self.lsoa21.loc[row, ["ltla24_code", "ltla24_name"]] = [lad, names[lad]]

    def _police_uk(self) -> None:
        base = self.data / "police_uk"
        con = duckdb.connect()
        frames = {}
        for kind, cols in (("street", STREET_COLUMNS), ("outcomes", OUTCOMES_COLUMNS)):
            files = sorted(str(p) for p in base.rglob(f"*-{kind}.csv*"))
            if not files:
                raise SystemExit(f"no police.uk {kind} files under {base}")
            spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
            last = cols[-2] if kind == "street" else cols[-1]
            frames[kind] = con.execute(
                f"""select filename, "Falls within" as falls_within, "LSOA code" as lsoa,
                           {'"Crime type"' if kind == "street" else "null"} as crime_type,
                           "{last}" as outcome
                    from read_csv({files!r}, header=true, auto_detect=false, columns={spec},
                                  filename=true, delim=',', quote='"')"""
            ).df()
            print(f"police.uk: {len(files)} {kind} files ({len(frames[kind]):,} rows)")
        self.street, self.outcomes = frames["street"], frames["outcomes"]
        self.street["slug"] = self.street["filename"].map(
            lambda f: re.sub(r"^\d{4}-\d{2}-(.+)-street\.csv(\.gz)?$", r"\1", Path(f).name)
        )


# ---------------------------------------------------------------------------------------
# geography
# ---------------------------------------------------------------------------------------


def _lad_region(src: Sources) -> pd.DataFrame:
    """Region of every LAD24, from the Census 2011 LSOA table via LSOA11 -> LSOA21 -> LAD24."""
    c11 = src.census11.rename(columns={"LSOA Code": "lsoa11_code"})
    m = src.lsoa11_21[["lsoa11_code", "lsoa21_code"]].merge(c11, on="lsoa11_code")
    m = m.merge(src.lsoa21[["lsoa21_code", "ltla24_code"]], on="lsoa21_code")
    m["region_code"] = m["Region code"].fillna(WALES[0])
    m["region"] = m["Region name"].map(REGION_NAMES).fillna(WALES[1])
    welsh = m["lsoa11_code"].str.startswith("W")
    if (
        not (m.loc[welsh, "region_code"] == WALES[0]).all()
        or m.loc[~welsh, "Region name"].isna().any()
    ):
        raise ValueError("region missing for an English LSOA, or set for a Welsh one")
    # a district's region is the region most of its LSOAs lay in (2011 regions); a few
    # best-fit LSOAs sit in a 2024 district across a regional boundary and are reported
    mode = (
        m.groupby(["ltla24_code", "region_code", "region"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["ltla24_code", "n", "region_code"], ascending=[True, False, True])
        .drop_duplicates("ltla24_code")
    )
    odd = m.merge(mode, on="ltla24_code", suffixes=("", "_lad"))
    odd = odd[odd.region_code != odd.region_code_lad]
    for r in odd.itertuples():
        print(
            f"  region: LSOA11 {r.lsoa11_code} ({r.region}) lies in LAD24 {r.ltla24_code} "
            f"({r.region_lad}) via LSOA21 {r.lsoa21_code}"
        )
    return mode[["ltla24_code", "region_code", "region"]]


def build_forces(src: Sources) -> pd.DataFrame:
    seen = src.street.groupby("slug")["falls_within"].unique()
    names: dict[str, str] = {}
    for slug, vals in seen.items():
        if len(vals) != 1:
            raise ValueError(f"{slug}: several 'Falls within' names {list(vals)}")
        names[slug] = vals[0]
    clash = set(names) & set(ABSENT_FORCE_NAMES)
    if clash:
        raise ValueError(f"forces both seen and listed as absent: {clash}")
    names.update(ABSENT_FORCE_NAMES)

    pfa = src.lad.drop_duplicates("pfa24_code")[["pfa24_code", "pfa24_name"]]
    pfa_by_slug = {slugify(n): (c, n) for c, n in pfa.itertuples(index=False)}
    for slug, pfa_name in PFA_NAME_OVERRIDES.items():
        code = pfa.loc[pfa.pfa24_name == pfa_name, "pfa24_code"].item()
        pfa_by_slug[slug] = (code, pfa_name)
    lad_region = _lad_region(src)
    pfa_region = (
        src.lad.drop_duplicates("ltla24_code")
        .merge(lad_region, on="ltla24_code")
        .groupby("pfa24_code")[["region_code", "region"]]
        .agg(lambda s: sorted(set(s)))
    )
    rows = []
    for slug in sorted(names):
        if slug in NON_PFA_FORCES:
            rows.append((slug, names[slug], "", "", "", "", NON_PFA_FORCES[slug]))
            continue
        code, pfa_name = pfa_by_slug[slug]
        rc, rn = pfa_region.loc[code, "region_code"], pfa_region.loc[code, "region"]
        if len(rc) != 1:
            raise ValueError(f"PFA {pfa_name} spans regions {rn}")
        country = "Wales" if code.startswith("W") else "England"
        rows.append((slug, names[slug], code, pfa_name, rc[0], rn[0], country))
    out = pd.DataFrame(
        rows,
        columns=["slug", "name", "pfa_code", "pfa_name", "region_code", "region", "country"],
    )
    used = set(out.pfa_code) - {""}
    if len(out) != 45 or used != set(pfa.pfa24_code):
        raise ValueError(f"expected 45 forces covering all 43 PFAs; got {len(out)}, {len(used)}")
    return out


def _csp_for_lsoa21(src: Sources) -> pd.DataFrame:
    """One CSP per LSOA21, resolving districts that hold several CSPs via 2011 LSOA names."""
    lad = src.lad
    n_csp = lad.groupby("ltla24_code")["csp24_code"].nunique()
    multi = set(n_csp[n_csp > 1].index)
    base = src.lsoa21[["lsoa21_code", "ltla24_code"]]
    single = base[~base.ltla24_code.isin(multi)].merge(
        lad[["ltla24_code", "csp24_code", "csp24_name"]], on="ltla24_code"
    )
    amb = base[base.ltla24_code.isin(multi)]
    parents = src.lsoa11_21[["lsoa11_name", "lsoa21_code"]].merge(amb, on="lsoa21_code")
    parents["district11"] = parents["lsoa11_name"].str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    parents["csp_name"] = parents["district11"].replace(CSP_ALIASES)
    cand = lad[lad.ltla24_code.isin(multi)][["ltla24_code", "csp24_code", "csp24_name"]]
    res = parents.merge(
        cand,
        left_on=["ltla24_code", "csp_name"],
        right_on=["ltla24_code", "csp24_name"],
        how="left",
    )
    unresolved = res[res.csp24_code.isna()]
    if len(unresolved):
        raise ValueError(f"CSP unresolved for {unresolved.lsoa21_code.nunique()} LSOAs")
    picked = (
        res.groupby(["lsoa21_code", "ltla24_code"])[["csp24_code", "csp24_name"]]
        .agg(lambda s: Counter(s).most_common(1)[0][0])
        .reset_index()
    )
    mixed = res.groupby("lsoa21_code").csp24_code.nunique()
    print(
        f"  CSP: {len(amb):,} LSOA21s lie in the {len(multi)} districts that hold several CSPs; "
        f"resolved from 2011 district names ({int((mixed > 1).sum())} with mixed parents)"
    )
    return pd.concat([single, picked], ignore_index=True)


def build_lsoa(src: Sources) -> tuple[pd.DataFrame, dict]:
    report: dict = {}
    pop21 = src.census21.groupby("lsoa21_code")["usual_residents"].sum()
    csp = _csp_for_lsoa21(src)
    l21 = (
        src.lsoa21[["lsoa21_code", "lsoa21_name", "ltla24_code", "ltla24_name"]]
        .merge(csp[["lsoa21_code", "csp24_code", "csp24_name"]], on="lsoa21_code")
        .merge(
            src.lad.drop_duplicates("ltla24_code")[["ltla24_code", "pfa24_code", "pfa24_name"]],
            on="ltla24_code",
        )
    )
    if len(l21) != len(src.lsoa21) or l21.lsoa21_code.duplicated().any():
        raise ValueError("LSOA21 chain to LAD24/CSP24/PFA24 is not one-to-one")
    geo_cols = [
        "ltla24_code",
        "ltla24_name",
        "csp24_code",
        "csp24_name",
        "pfa24_code",
        "pfa24_name",
    ]

    # 2011 -> 2021: the candidate with the largest Census 2021 population, ties to lowest code
    lk = src.lsoa11_21.copy()
    lk["pop21"] = lk["lsoa21_code"].map(pop21)
    lk = lk.merge(l21[["lsoa21_code", "ltla24_code"]], on="lsoa21_code")
    n_cand = lk.groupby("lsoa11_code")["lsoa21_code"].nunique()
    n_lad = lk.groupby("lsoa11_code")["ltla24_code"].nunique()
    report["lsoa11_multi_candidates"] = int((n_cand > 1).sum())
    report["lsoa11_candidates_cross_lad24"] = int((n_lad > 1).sum())
    report["lsoa11_cross_lad24_codes"] = sorted(n_lad[n_lad > 1].index)
    best = lk.sort_values(
        ["lsoa11_code", "pop21", "lsoa21_code"], ascending=[True, False, True]
    ).drop_duplicates("lsoa11_code")
    codes21 = set(l21.lsoa21_code)
    only11 = best[~best.lsoa11_code.isin(codes21)]
    report["lsoa11_unchanged"] = int(best.lsoa11_code.isin(codes21).sum())
    report["lsoa11_only"] = len(only11)
    report["lsoa11_only_change_codes"] = only11.change_code.value_counts().to_dict()

    rows21 = l21.rename(columns={"lsoa21_code": "lsoa_code", "lsoa21_name": "lsoa_name"})
    rows21["vintage"] = 2021
    rows21["lsoa21_code"] = rows21["lsoa_code"]
    unchanged = set(best.loc[best.lsoa11_code.isin(codes21), "lsoa11_code"])
    rows21["change_code"] = np.where(rows21.lsoa_code.isin(unchanged), "U", "")
    rows11 = only11[["lsoa11_code", "lsoa11_name", "lsoa21_code", "change_code"]].merge(
        l21[["lsoa21_code", *geo_cols]], on="lsoa21_code"
    )
    rows11 = rows11.rename(columns={"lsoa11_code": "lsoa_code", "lsoa11_name": "lsoa_name"})
    rows11["vintage"] = 2011
    out = pd.concat([rows21, rows11], ignore_index=True).rename(
        columns={
            "ltla24_code": "lad_code",
            "ltla24_name": "lad_name",
            "csp24_code": "csp_code",
            "csp24_name": "csp_name",
            "pfa24_code": "pfa_code",
            "pfa24_name": "pfa_name",
        }
    )
    cols = [
        "lsoa_code",
        "lsoa_name",
        "vintage",
        "lsoa21_code",
        "lad_code",
        "lad_name",
        "csp_code",
        "csp_name",
        "pfa_code",
        "pfa_name",
        "change_code",
    ]
    out = out[cols].sort_values("lsoa_code").reset_index(drop=True)
    every = set(src.lsoa11_21.lsoa11_code) | codes21
    if set(out.lsoa_code) != every or out.lsoa_code.duplicated().any():
        raise ValueError("lsoa table does not hold every 2011 and 2021 code exactly once")
    return out, report


# ---------------------------------------------------------------------------------------
# population
# ---------------------------------------------------------------------------------------


def build_population(src: Sources, lsoa: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    report: dict = {}
    c21 = src.census21.groupby(["lsoa21_code", "lsoa21_name"], as_index=False)[
        "usual_residents"
    ].sum()
    src21 = (
        "ONS Census 2021 usual residents: sum of the 6 age groups of the LSOA 2021 age table "
        "(TS007A-based, via cwthom/hack25usefuldata census21_pop)"
    )
    lsoa21 = pd.DataFrame(
        {
            "level": "lsoa",
            "code": c21.lsoa21_code,
            "name": c21.lsoa21_name,
            "population": c21.usual_residents,
            "year": 2021,
            "source": src21,
        }
    )
    only11 = lsoa.loc[lsoa.vintage == 2011, "lsoa_code"]
    mye = src.mye20[src.mye20.lsoa11_code.isin(only11)]
    lsoa11 = pd.DataFrame(
        {
            "level": "lsoa",
            "code": mye.lsoa11_code,
            "name": mye.lsoa11_name,
            "population": mye.total_population,
            "year": 2020,
            "source": "ONS mid-2020 population estimates, LSOA 2011 (total_population, via "
            "humaniverse/demographr population20_lsoa11); 2011 codes not current in 2021",
        }
    )
    if len(lsoa11) != len(only11):
        raise ValueError("mid-2020 estimate missing for some 2011-only LSOAs")

    geo = lsoa[lsoa.vintage == 2021][["lsoa_code", "lad_code", "lad_name", "pfa_code", "pfa_name"]]
    g = c21.merge(geo, left_on="lsoa21_code", right_on="lsoa_code")
    dist = g.groupby(["lad_code", "lad_name"], as_index=False)["usual_residents"].sum()
    src_d = (
        "Sum of ONS Census 2021 usual residents of the district's LSOA 2021s (2024 "
        "district boundaries)"
    )
    district = pd.DataFrame(
        {
            "level": "district",
            "code": dist.lad_code,
            "name": dist.lad_name,
            "population": dist.usual_residents,
            "year": 2021,
            "source": src_d,
        }
    )
    frc = g.groupby(["pfa_code", "pfa_name"], as_index=False)["usual_residents"].sum()
    force = pd.DataFrame(
        {
            "level": "force",
            "code": frc.pfa_code,
            "name": frc.pfa_name,
            "population": frc.usual_residents,
            "year": 2021,
            "source": "Sum of the police force area's districts (Census 2021 usual residents, "
            "2024 PFA boundaries)",
        }
    )
    eng = int(c21.loc[c21.lsoa21_code.str.startswith("E"), "usual_residents"].sum())
    wal = int(c21.loc[c21.lsoa21_code.str.startswith("W"), "usual_residents"].sum())
    src_c = "Sum of ONS Census 2021 usual residents of the country's LSOA 2021s"
    country = pd.DataFrame(
        {
            "level": "country",
            "code": ["E92000001", "W92000004", "K04000001"],
            "name": ["England", "Wales", "England and Wales"],
            "population": [eng, wal, eng + wal],
            "year": 2021,
            "source": src_c,
        }
    )
    out = pd.concat([lsoa21, lsoa11, district, force, country], ignore_index=True)
    order = {"country": 0, "force": 1, "district": 2, "lsoa": 3}
    out = (
        out.assign(_o=out.level.map(order))
        .sort_values(["_o", "code"])
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    out["population"] = out["population"].astype("int64")

    report["ew_total"] = eng + wal
    report["ew_published"] = CENSUS21_TOTAL_EW
    cmp_ = dist.merge(
        src.lad21_census[["ltla21_code", "total_population"]],
        left_on="lad_code",
        right_on="ltla21_code",
        how="left",
    )
    matched = cmp_.dropna(subset=["total_population"])
    diff = matched.usual_residents - matched.total_population
    report["lad_compared"] = len(matched)
    report["lad_not_comparable"] = sorted(cmp_.loc[cmp_.total_population.isna(), "lad_code"])
    report["lad_diff_abs_max"] = int(diff.abs().max())
    report["lad_diff_abs_mean"] = float(diff.abs().mean())
    report["lad_exact"] = int((diff == 0).sum())
    report["lad21_table_total"] = int(src.lad21_census.total_population.sum())
    return out, report


# ---------------------------------------------------------------------------------------
# categories
# ---------------------------------------------------------------------------------------


def build_outcomes(src: Sources) -> pd.DataFrame:
    in_street = set(src.street.outcome.dropna())
    in_outcomes = set(src.outcomes.outcome.dropna())
    known = {o[0] for o in OUTCOMES}
    unknown = (in_street | in_outcomes) - known
    if unknown:
        raise ValueError(f"outcome texts in the data with no mapping: {sorted(unknown)}")
    rows = []
    for outcome, group, pp, ho, api, notes in OUTCOMES:
        seen = [n for n, s in (("street", in_street), ("outcomes", in_outcomes)) if outcome in s]
        rows.append(
            {
                "outcome": outcome,
                "group": group,
                "prosecution_possible": pp,
                # charged or summonsed: Home Office outcome type 1 (1A: for an alternative
                # offence); 4 (taken into consideration) is not a charge of this crime
                "charged": bool(set(ho.split(";")) & {"1", "1A"}),
                "home_office_outcome_types": ho,
                "api_code": api,
                "seen_in": ";".join(seen) if seen else "documentation",
                "notes": notes,
            }
        )
    out = pd.DataFrame(rows)
    out["_g"] = out.group.map(OUTCOME_GROUP_ORDER.index)
    return out.sort_values(["_g", "outcome"]).drop(columns="_g").reset_index(drop=True)


def build_crime_types(src: Sources) -> pd.DataFrame:
    seen = set(src.street.crime_type.dropna())
    names = {c[0] for c in CRIME_TYPES}
    if seen - names:
        raise ValueError(f"crime types in the data not in the table: {sorted(seen - names)}")
    out = pd.DataFrame(CRIME_TYPES, columns=["crime_type", "api_slug", "is_crime", "description"])
    out.insert(1, "slug", out.crime_type.map(snake))
    out["seen_in_files"] = out.crime_type.isin(seen)
    return out[["crime_type", "slug", "api_slug", "is_crime", "description", "seen_in_files"]]


# ---------------------------------------------------------------------------------------
# harm
# ---------------------------------------------------------------------------------------


def _offence_codes(src: Sources) -> pd.DataFrame:
    """Offence codes with police.uk category (mapping) and 2017/18 E&W volume (PRC)."""
    m = src.mapping.rename(columns={"Police.uk_Cat": "cat"})
    canon = {c.lower(): c for c, *_ in CRIME_TYPES}
    m["crime_type"] = m["cat"].str.lower().map(canon)
    if m.crime_type.isna().any():
        raise ValueError(f"unmapped categories {m.loc[m.crime_type.isna(), 'cat'].unique()}")
    prc = src.prc1718[~src.prc1718.Force_Name.isin(FRAUD_SOURCES)]
    vol = prc.groupby("Offence_Code")["Number_of_Offences"].sum().rename("count_1718")
    out = m.merge(vol, left_on="Offence_Code", right_index=True, how="left")
    out["count_1718"] = out["count_1718"].fillna(0).astype("int64")
    return out


def build_cchi(src: Sources) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes = _offence_codes(src)
    alloc_rows = []
    for sub in src.cchi.itertuples(index=False):
        spec = CCHI_SUBGROUP_TO_1718[sub.prc_subgroup]
        if spec:
            sel = codes[codes.Offence_Subgroup.isin(spec)]
            if sub.prc_subgroup == "Violence with injury":
                sel = sel[~sel.Offence_Code.isin(UNLAWFUL_DRIVING_CODES)]
        else:
            sel = codes[codes.Offence_Code.isin(UNLAWFUL_DRIVING_CODES)]
        if sel.empty:
            raise ValueError(f"no offence codes for subgroup {sub.prc_subgroup}")
        share = sel.groupby("crime_type")["count_1718"].sum()
        share = share / share.sum() if share.sum() else share.clip(upper=1) / len(share)
        for ct, s in share.items():
            alloc_rows.append(
                {
                    "crime_type": ct,
                    "prc_subgroup": sub.prc_subgroup,
                    "cchi_days": sub.cchi_days,
                    "count_2024_25": sub.national_count_2024_25,
                    "share": s,
                    "allocated": sub.national_count_2024_25 * s,
                    "cbl_category": sub.category,
                }
            )
    alloc = pd.DataFrame(alloc_rows)
    disagree = alloc[alloc.crime_type.str.lower() != alloc.cbl_category.str.lower()]
    if len(disagree):
        raise ValueError(f"category disagreement with the CCHI file:\n{disagree}")
    rows = []
    for ct, _slug, is_crime, _d in CRIME_TYPES:
        if not is_crime:
            rows.append(
                {
                    "crime_type": ct,
                    "weight": 0.0,
                    "unit": "days",
                    "method": "placeholder",
                    "source": "none",
                    "version": CCHI_VERSION,
                    "subgroups_used": "",
                    "national_count": "",
                    "notes": ASB_NOTE.format(scheme="CCHI"),
                }
            )
            continue
        a = alloc[alloc.crime_type == ct].sort_values("prc_subgroup")
        w = float((a.cchi_days * a.allocated).sum() / a.allocated.sum())
        parts = [
            f"{r.prc_subgroup} ({r.cchi_days:g} d, n={r.allocated:.0f}"
            + (f", {r.share:.1%} of subgroup" if r.share < 1 else "")
            + ")"
            for r in a.itertuples()
        ]
        split = (a.share < 1).any()
        rows.append(
            {
                "crime_type": ct,
                "weight": round(w, 4),
                "unit": "days",
                "method": "volume-weighted mean of subgroup median CCHI days (weights: E&W "
                "2024/25 counts"
                + ("; split subgroups shared by 2017/18 offence-code volumes" if split else "")
                + ")",
                "source": CCHI_SOURCE,
                "version": CCHI_VERSION,
                "subgroups_used": "; ".join(parts),
                "national_count": round(float(a.allocated.sum())),
                "notes": "",
            }
        )
    return pd.DataFrame(rows), alloc


def load_css_weights(path: Path | None) -> tuple[pd.DataFrame, str, str]:
    """Offence weights indexed by Home Office offence code, with source and version text.

    ``path=None`` reads the vendored ONS table (M-O-P-D layout).  Otherwise ``path`` is a
    user-supplied CSV with columns ``offence_code`` and ``weight`` (an ``offence`` column is
    optional), e.g. the official ONS "List of weights" sheet saved as CSV.
    """
    if path is None:
        raw = pd.read_csv(CSS_SOURCE, dtype=str)
        raw = raw.rename(columns={"code_original": "offence_code"})
        source, version = CSS_SOURCE_TEXT, CSS_VERSION
    else:
        raw = pd.read_csv(path, dtype=str)
        if not {"offence_code", "weight"} <= set(raw.columns):
            raise SystemExit(f"{path}: needs columns offence_code and weight")
        if "offence" not in raw.columns:
            raw["offence"] = ""
        source = (
            f"User-supplied ONS CSS offence weights ({path.name}); offence-to-category mapping: "
            "crime-sim-toolkit 1.5.0 CrimeCatMappings.csv (third party); volumes: Home Office "
            "PRC PFA 2017/18 by offence code"
        )
        version = f"{path.name}; volumes PRC 2017/18; built by tools/build_reference.py"
    raw["offence_code"] = raw["offence_code"].str.strip()
    raw["weight"] = raw["weight"].astype(float)
    return raw.drop_duplicates("offence_code").set_index("offence_code"), source, version


def build_css(src: Sources, css_weights: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    w, css_source, css_version = load_css_weights(css_weights)
    codes = _offence_codes(src)
    fraud = codes.Offence_Subgroup.str.startswith("Fraud")
    off = codes[~fraud].copy()
    off["weight"] = off.Offence_Code.map(w["weight"])
    off["css_offence"] = off.Offence_Code.map(w["offence"]).str.strip()
    missing = off[off.weight.isna()]
    if len(missing):
        raise ValueError(f"offence codes with no CSS weight: {list(missing.Offence_Code)}")
    offence_table = (
        off.rename(
            columns={
                "Offence_Code": "offence_code",
                "Offence_Description": "offence",
                "Offence_Subgroup": "prc_subgroup_2017_18",
                "count_1718": "prc_count_2017_18",
            }
        )[
            [
                "offence_code",
                "offence",
                "css_offence",
                "weight",
                "crime_type",
                "prc_subgroup_2017_18",
                "prc_count_2017_18",
            ]
        ]
        .sort_values(["crime_type", "offence_code"])
        .reset_index(drop=True)
    )
    offence_table["weight"] = offence_table["weight"].round(6)
    rows = []
    for ct, _slug, is_crime, _d in CRIME_TYPES:
        if not is_crime:
            rows.append(
                {
                    "crime_type": ct,
                    "weight": 0.0,
                    "unit": "css_weight",
                    "method": "placeholder",
                    "source": "none",
                    "version": css_version,
                    "offences_used": 0,
                    "national_count": "",
                    "notes": ASB_NOTE.format(scheme="ONS CSS"),
                }
            )
            continue
        o = off[off.crime_type == ct]
        n = o.count_1718.sum()
        rows.append(
            {
                "crime_type": ct,
                "weight": round(float((o.weight * o.count_1718).sum() / n), 4),
                "unit": "css_weight",
                "method": "volume-weighted mean of ONS CSS offence weights (weights: E&W 2017/18 "
                "recorded offences by Home Office offence code, fraud excluded)",
                "source": css_source,
                "version": css_version,
                "offences_used": int((o.count_1718 > 0).sum()),
                "national_count": int(n),
                "notes": "",
            }
        )
    return pd.DataFrame(rows), offence_table


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------


def lsoa_match_report(src: Sources, lsoa: pd.DataFrame) -> pd.DataFrame:
    known = set(lsoa.lsoa_code)
    s = src.street.dropna(subset=["lsoa"])
    tab = s.groupby("slug").agg(
        rows_with_lsoa=("lsoa", "size"),
        distinct_codes=("lsoa", "nunique"),
        unmatched_codes=("lsoa", lambda x: len(set(x) - known)),
    )
    return tab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("THRV_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    ap.add_argument("--data", type=Path, default=Path(default))
    ap.add_argument(
        "--css-weights",
        type=Path,
        default=None,
        help="CSV of ONS CSS offence weights (columns offence_code, weight) to use instead of "
        "the vendored table",
    )
    args = ap.parse_args()
    print(f"source data: {args.data}")
    src = Sources(args.data)

    print("forces")
    forces = build_forces(src)
    write_csv(forces, REF_OUT / "forces.csv")

    print("lsoa")
    lsoa, lrep = build_lsoa(src)
    write_csv(lsoa, REF_OUT / "lsoa.csv.gz")
    for k, v in lrep.items():
        print(f"  {k}: {v}")
    tab = lsoa_match_report(src, lsoa)
    print("  street-file LSOA codes resolved, by force file:")
    print("    " + tab.to_string().replace("\n", "\n    "))

    print("population")
    pop, prep = build_population(src, lsoa)
    write_csv(pop, REF_OUT / "population.csv.gz")
    for k, v in prep.items():
        print(f"  {k}: {v}")

    print("categories")
    write_csv(build_outcomes(src), REF_OUT / "outcome_categories.csv")
    write_csv(build_crime_types(src), REF_OUT / "crime_types.csv")

    print("harm")
    cchi, _alloc = build_cchi(src)
    write_csv(cchi, HARM_OUT / "cchi_policeuk.csv")
    css, css_off = build_css(src, args.css_weights)
    write_csv(css_off, HARM_OUT / "css_offence_weights.csv")
    write_csv(css, HARM_OUT / "css_policeuk.csv")
    print(
        cchi[["crime_type", "weight", "national_count"]]
        .merge(
            css[["crime_type", "weight", "national_count"]],
            on="crime_type",
            suffixes=("_cchi", "_css"),
        )
        .to_string(index=False)
    )


if __name__ == "__main__":
    main()
